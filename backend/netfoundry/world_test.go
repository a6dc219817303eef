package netfoundry

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/netfoundry/nffake"
	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// testEpoch is the tests' starting time: fixed, and away from the real
// clock, so that nothing reads the real one.
var testEpoch = time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)

// clock is a test clock; the controller fake keeps its own when there is
// one, and then the world uses that instead.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// world is a fake NetFoundry organisation and a backend signed in to it.
type world struct {
	gw   *nffake.Gateway
	ctrl *zitifake.Controller // the controller of network "net-ready" (nil without)
	now  func() time.Time
	adv  func(time.Duration)
	b    *Backend
}

type worldOptions struct {
	controller bool          // start a controller fake for "net-ready"
	lifetime   time.Duration // token lifetime (default an hour)
	password   string        // the password in credentials.json ("" = right)
	extra      []nffake.Network
}

// newWorld starts a gateway listing two networks on two pages: "net-ready"
// (provisioned, with a controller when asked) and "net-new" (still
// provisioning), plus any extra.
func newWorld(t testing.TB, o worldOptions) *world {
	t.Helper()
	w := &world{}
	ready := nffake.Network{ID: "net-ready", Name: "Branch Offices", Status: "PROVISIONED"}
	if o.controller {
		w.ctrl = zitifake.Start(t, zitifake.At(testEpoch), zitifake.AdminUnlisted())
		ready.Controller = &nffake.Controller{URL: w.ctrl.URL, CA: w.ctrl.CAPEM, Username: w.ctrl.Username, Password: w.ctrl.Password}
		w.now, w.adv = w.ctrl.Now, w.ctrl.Advance
	} else {
		c := &clock{t: testEpoch}
		w.now, w.adv = c.Now, c.Advance
	}
	nets := append([]nffake.Network{ready, {ID: "net-new", Name: "Lab", Status: "PROVISIONING"}}, o.extra...)
	w.gw = nffake.Start(t, nffake.Options{Networks: nets, PageSize: 1, TokenLifetime: o.lifetime, Now: w.now})
	creds := w.gw.CredentialsFile(t, t.TempDir(), o.password)
	cfg := Config{CredentialsFile: creds, Gateway: w.gw.URL, Now: w.now, Timeout: 10 * time.Second}
	if w.ctrl != nil {
		cfg.ControllerCA = w.ctrl.CAPEM
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	w.b = b
	return w
}

// checkSentence fails unless err is one line, names no secret the gateway
// handed out, and contains each of want.
func (w *world) checkSentence(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one saying %q", want)
	}
	msg := err.Error()
	t.Logf("says: %s", msg)
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error spans lines: %q", msg)
	}
	for _, s := range w.gw.Secrets() {
		if strings.Contains(msg, s) {
			t.Errorf("error %q contains a secret", msg)
		}
	}
	for _, s := range want {
		if !strings.Contains(msg, s) {
			t.Errorf("error %q doesn't say %q", msg, s)
		}
	}
}
