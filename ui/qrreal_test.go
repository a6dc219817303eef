package ui

import (
	"context"
	"testing"

	"github.com/idcon/idcon/delivery/qrtest"
	"github.com/idcon/idcon/model"
)

func realToken(t testing.TB) string { return qrtest.RealToken(t) }

// realTokenBackend hands out the recorded controller token for every
// identity, as a controller network would.
type realTokenBackend struct {
	*auditedBackend
	token string
}

func (b *realTokenBackend) Token(ctx context.Context, network, id string, purpose model.Action) (string, error) {
	if _, err := b.auditedBackend.Token(ctx, network, id, purpose); err != nil {
		return "", err
	}
	return b.token, nil
}

// At 120×40 a terminal that draws no pixels still shows the real 1 kB token
// as text a scanner reads.
func TestQRViewRealTokenAt120x40(t *testing.T) {
	w := newStoreWorld(t)
	tok := realToken(t)
	b := &realTokenBackend{auditedBackend: &auditedBackend{Backend: w.store}, token: tok}
	hs := newHarness(t, w.options(b), 120, 40)
	hs.openByName("laptop-alice")
	hs.press("c")
	got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme)
	if err != nil || got != tok {
		t.Fatalf("the real token's code at 120×40 does not decode (%v); screen:\n%s", err, hs.screen())
	}
}
