package ui

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

func TestDownloadJWT(t *testing.T) {
	w := newStoreWorld(t)
	dir := t.TempDir()
	audited := &auditedBackend{Backend: w.store}
	opts := w.options(audited)
	opts.Downloads = dir
	hs := newHarness(t, opts, 100, 30)
	hs.openByName("laptop-alice")
	hs.press("j")
	d, ok := hs.app.dialog.(*downloadDialog)
	if !ok || d.input.Value() != dir || !hs.app.typing() {
		t.Fatalf("j opened %T with folder %q", hs.app.dialog, d.input.Value())
	}
	hs.press("enter")
	path := filepath.Join(dir, "laptop-alice.jwt")
	checkTokenFile(t, path, w.token)
	if hs.app.dialog != nil {
		t.Fatalf("dialog %T still open", hs.app.dialog)
	}
	want := "Token of laptop-alice saved to " + path + " and sent to your terminal's clipboard" // no TERM, no XTVERSION answer: clipboard.go
	if got := lastToast(t, hs); got.text != want || got.kind != toastDone {
		t.Fatalf("toast %q, want %q", got.text, want)
	}
	// The clipboard: the message tea.SetClipboard makes, which Bubble Tea
	// writes to the terminal as OSC 52.
	if len(hs.clipboard) != 1 || hs.clipboard[0] != tea.SetClipboard(w.token)() {
		t.Fatalf("clipboard messages: %d", len(hs.clipboard))
	}
	if !slices.Equal(audited.purposes, []model.Action{model.ActionJWT}) {
		t.Fatalf("token fetched for %v", audited.purposes)
	}

	// The file is there now: the admin is asked, and n keeps it.
	if err := os.WriteFile(path, []byte("the old file"), 0o600); err != nil {
		t.Fatal(err)
	}
	hs.press("j", "enter")
	d = hs.app.dialog.(*downloadDialog)
	question := "laptop-alice.jwt exists in " + dir + ": overwrite? y/n"
	if d.state != stateAsk || !strings.Contains(flat(ansi.Strip(d.View())), question) {
		t.Fatalf("no overwrite question %q:\n%s", question, hs.screen())
	}
	if len(audited.purposes) != 1 {
		t.Fatal("the token was fetched although the file is in the way")
	}
	hs.press("n")
	if d.state != stateEdit || !strings.Contains(d.errMsg, "Kept the existing laptop-alice.jwt") {
		t.Fatalf("after n: state %v, %q", d.state, d.errMsg)
	}
	if got, _ := os.ReadFile(path); string(got) != "the old file" {
		t.Fatal("n overwrote the file")
	}
	// y overwrites, with the token and mode 0600.
	hs.press("enter", "y")
	checkTokenFile(t, path, w.token)
	if hs.app.dialog != nil || len(hs.clipboard) != 2 {
		t.Fatalf("after y: dialog %T, %d clipboard messages", hs.app.dialog, len(hs.clipboard))
	}

	// Another folder, typed: "~/" is the home folder.
	home := t.TempDir()
	if err := os.Mkdir(filepath.Join(home, "tokens"), 0o700); err != nil {
		t.Fatal(err)
	}
	hs.app.s.opts.Getenv = func(k string) string { return map[string]string{"HOME": home}[k] }
	hs.press("j", "ctrl+u")
	hs.typeText("~/tokens")
	hs.press("enter")
	checkTokenFile(t, filepath.Join(home, "tokens", "laptop-alice.jwt"), w.token)

	// A folder that isn't there: said in the dialog, no token fetched.
	fetched := len(audited.purposes)
	hs.press("j", "ctrl+u")
	hs.typeText(filepath.Join(dir, "missing"))
	hs.press("enter")
	d = hs.app.dialog.(*downloadDialog)
	wantErr := "Not saved: the folder " + filepath.Join(dir, "missing") + " does not exist: create it or choose another."
	if d.errMsg != wantErr || len(audited.purposes) != fetched {
		t.Fatalf("missing folder: %q (want %q), %d fetches", d.errMsg, wantErr, len(audited.purposes)-fetched)
	}
	hs.press("esc")
	if hs.app.dialog != nil {
		t.Fatal("esc did not close the dialog")
	}
	noToken(t, w.token, append(toastTexts(hs), hs.screen())...)
}

func checkTokenFile(t *testing.T, path, token string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("no token file: %v", err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, info.Mode().Perm())
	}
	if got, _ := os.ReadFile(path); string(got) != token {
		t.Errorf("%s holds %d bytes that are not exactly the token", path, len(got))
	}
}

// Names that try to leave the folder or carry terminal controls are
// written as a safe file name inside the chosen folder, and shown cleaned.
func TestDownloadUnsafeNames(t *testing.T) {
	names := []string{"../../etc/x", "evil\x1b]52;c;aGk=\x07\tname\u202e.jwt\r"}
	pending := &model.Enrollment{ID: "enr", CreatedAt: testNow, ExpiresAt: testNow.Add(days(3))}
	fb := newFakeBackend(testNow)
	fb.addNetwork(model.Network{ID: "net-x", Name: "x"},
		model.Identity{ID: "id-dots", Name: names[0], Enrollment: pending},
		model.Identity{ID: "id-ctrl", Name: names[1], Enrollment: pending})
	for _, name := range names {
		root := t.TempDir()
		dir := filepath.Join(root, "a", "b")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		opts := testOptions(fb)
		opts.Downloads = dir
		hs := newHarness(t, opts, 100, 30)
		hs.openByName(name)
		hs.press("j", "enter")
		entries, _ := os.ReadDir(dir)
		if len(entries) != 1 {
			t.Fatalf("%q: %d files in the folder; screen:\n%s", name, len(entries), hs.screen())
		}
		file := entries[0].Name()
		if file != delivery.SafeFileName(name) || strings.ContainsAny(file, "/\x1b\x07\t\r\u202e") {
			t.Fatalf("%q: written as %q", name, file)
		}
		id := map[string]string{names[0]: "id-dots", names[1]: "id-ctrl"}[name]
		checkTokenFile(t, filepath.Join(dir, file), fakeToken(id))
		if _, err := os.Stat(filepath.Join(root, "etc")); err == nil {
			t.Fatalf("%q: something was written outside the folder", name)
		}
		for _, s := range append(toastTexts(hs), hs.screen()) {
			if strings.ContainsAny(s, "\x1b\x07\r\u202e") {
				t.Fatalf("%q: control characters on screen: %q", name, s)
			}
		}
	}
}

// A second enter while the file is written writes nothing more.
func TestDownloadIgnoresKeysWhileWriting(t *testing.T) {
	fb := demoBackend()
	opts := testOptions(fb)
	opts.Downloads = t.TempDir()
	hs := newHarness(t, opts, 100, 30)
	hs.openByName("phone-bob")
	hs.press("j")
	_, cmd := hs.app.Update(keyMsg("enter"))
	_, write := hs.app.Update(cmd()) // downloadRequestedMsg: the write starts
	if !hs.app.busy() || !strings.Contains(hs.screen(), "Saving…") {
		t.Fatalf("no progress shown:\n%s", hs.screen())
	}
	if _, again := hs.app.Update(keyMsg("enter")); again != nil {
		if _, ok := again().(downloadRequestedMsg); ok {
			t.Fatal("a second enter asked for a second write")
		}
	}
	hs.run(write)
	if n := len(fb.callsWith("TokenJWT")); n != 1 {
		t.Fatalf("%d token fetches", n)
	}
}

// --- Send registration email ---
