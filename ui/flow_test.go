package ui

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"
	"github.com/charmbracelet/x/exp/teatest/v2"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// probeMsg makes the program pass through its filter, where the test reads
// the screen; the console ignores it.
type probeMsg struct{}

// TestFlowResetWithTypedDate drives the whole program against the embedded
// SQLite backend: pick the network, filter the list, open the identity,
// reset it with a typed date, confirm, see the notification.
func TestFlowResetWithTypedDate(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	policy := model.ExpiryPolicy{Max: 365 * 24 * time.Hour}
	store, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{Now: clock, Policy: policy})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	acme, err := store.CreateNetwork(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.SeedDemo(ctx, "demo", 40); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"phone-bob", "laptop-alice", "printer-dave"} {
		tok, err := store.CreateIdentity(ctx, acme.ID, model.NewIdentity{Name: name, Email: name + "@example.org", ExpiresAt: now.Add(72 * time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if name == "laptop-alice" {
			if _, err := embedded.EnrollToDir(ctx, store, tok.JWT, filepath.Join(t.TempDir(), name)); err != nil {
				t.Fatal(err)
			}
			if err := store.AddSessions(ctx, acme.ID, tok.Identity.ID, 2); err != nil {
				t.Fatal(err)
			}
		}
	}

	var mu sync.Mutex
	var screen string
	filter := func(m tea.Model, msg tea.Msg) tea.Msg {
		if a, ok := m.(*App); ok {
			s := ansi.Strip(a.render())
			mu.Lock()
			screen = s
			mu.Unlock()
		}
		return msg
	}
	opts := Options{Backend: store, Now: clock, Location: time.UTC, Policy: policy, NoColor: true}
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithFilter(filter)))
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			tm.Send(probeMsg{})
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			s := screen
			mu.Unlock()
			if strings.Contains(flat(s), what) {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("never saw %q; screen:\n%s", what, screen)
	}
	press := func(k string) { tm.Send(keyMsg(k)) }

	waitFor("Choose the network to manage.")
	tm.Type("/acme")
	press("enter")
	press("enter")
	waitFor("1–3 of 3")
	tm.Type("/alice")
	waitFor("1–1 of 1 · state: all")
	press("enter") // done filtering
	press("enter") // open
	waitFor("Reset enrollment (r)")
	waitFor("2 active sessions")
	tm.Type("r")
	waitFor("Date enrollment expires")
	tm.Type("+30d")
	press("enter")
	waitFor("laptop-alice has 2 active sessions right now.")
	tm.Type("y")
	exp := now.Add(30 * 24 * time.Hour).Format("2 Jan 2006")
	waitFor("Enrollment reset for laptop-alice: 2 sessions dropped, token expires " + exp)
	waitFor("Download JWT (j)")
	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))

	got, err := store.IdentityByName(ctx, acme.ID, "laptop-alice")
	if err != nil {
		t.Fatal(err)
	}
	if got.State(now) != model.StatePending || got.ActiveSessions != 0 {
		t.Fatalf("after the flow: state %s, %d sessions", got.State(now), got.ActiveSessions)
	}
}

// TestFlowDownloadWritesOSC52 runs the whole program: Download JWT writes
// the file and the terminal receives the OSC 52 sequence that puts the
// token on the admin's clipboard, through SSH and tmux alike.
func TestFlowDownloadWritesOSC52(t *testing.T) {
	w := newStoreWorld(t)
	dir := t.TempDir()
	opts := w.options(nil)
	opts.Downloads = dir
	opts.NoColor = true

	var mu sync.Mutex
	var screen string
	filter := func(m tea.Model, msg tea.Msg) tea.Msg {
		if a, ok := m.(*App); ok {
			s := ansi.Strip(a.render())
			mu.Lock()
			screen = s
			mu.Unlock()
		}
		return msg
	}
	tm := teatest.NewTestModel(t, New(opts), teatest.WithInitialTermSize(100, 30),
		teatest.WithProgramOptions(tea.WithFilter(filter)))
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			tm.Send(probeMsg{})
			time.Sleep(20 * time.Millisecond)
			mu.Lock()
			s := screen
			mu.Unlock()
			if strings.Contains(flat(s), what) {
				return
			}
		}
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("never saw %q; screen:\n%s", what, screen)
	}
	waitFor("1–1 of 1")
	tm.Send(keyMsg("enter"))
	waitFor("Download JWT (j)")
	tm.Type("j")
	waitFor("Saved as laptop-alice.jwt")
	tm.Send(keyMsg("enter"))
	waitFor("and sent to your terminal's clipboard") // teatest answers no XTVERSION
	tm.Type("q")
	tm.WaitFinished(t, teatest.WithFinalTimeout(10*time.Second))
	out, err := io.ReadAll(tm.FinalOutput(t))
	if err != nil {
		t.Fatal(err)
	}
	osc := "\x1b]52;c;" + base64.StdEncoding.EncodeToString([]byte(w.token))
	if !bytes.Contains(out, []byte(osc)) {
		t.Fatalf("the terminal never got the OSC 52 sequence (%d bytes of output)", len(out))
	}
	// The token reaches the terminal only inside that sequence.
	if bytes.Count(out, []byte(w.token)) != 0 {
		t.Fatal("the token was written to the terminal in clear")
	}
	checkTokenFile(t, filepath.Join(dir, "laptop-alice.jwt"), w.token)
}
