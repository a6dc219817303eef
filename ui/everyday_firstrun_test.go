package ui

import (
	"context"
	"strings"
	"testing"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// boundedNetworks fails Networks after limit calls, so that a console
// asking again and again without end shows an error instead of hanging
// the test.
type boundedNetworks struct {
	*fakeBackend
	calls, limit int
}

func (b *boundedNetworks) Networks(ctx context.Context) ([]model.Network, error) {
	b.calls++
	if b.calls > b.limit {
		return nil, backend.Unavailable("asked for the networks %d times", b.calls)
	}
	return b.fakeBackend.Networks(ctx)
}

// TestFirstRunWithoutNetworks: on an empty database the console says what
// to do, instead of "Loading networks…" for ever, and opens the network
// created meanwhile (by the CLI in another terminal).
func TestFirstRunWithoutNetworks(t *testing.T) {
	fb := newFakeBackend(testNow)
	bn := &boundedNetworks{fakeBackend: fb, limit: 20}
	opts := testOptions(fb)
	opts.Backend = bn
	opts.CreateNetwork = "idcon --db /tmp/x.db network create NAME"
	hs := newHarness(t, opts, 100, 30)
	s := flat(hs.screen())
	for _, want := range []string{"No networks yet", "idcon --db /tmp/x.db network create NAME", "idcon --demo"} {
		if !strings.Contains(s, want) {
			t.Fatalf("the first run doesn't say %q:\n%s", want, hs.screen())
		}
	}
	if strings.Contains(s, "Loading networks") {
		t.Fatalf("the first run still says it is loading:\n%s", hs.screen())
	}
	calls := bn.calls
	fb.addNetwork(model.Network{ID: "net-office", Name: "office"}, model.Identity{ID: "id-a", Name: "laptop-a"})
	hs.fireTimers()
	if bn.calls == calls {
		t.Fatal("the console never asked for the networks again")
	}
	l := hs.list()
	if l.network.ID != "net-office" || !strings.Contains(hs.screen(), "laptop-a") {
		t.Fatalf("the network created meanwhile was not opened:\n%s", hs.screen())
	}
}
