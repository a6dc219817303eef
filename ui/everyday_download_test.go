package ui

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
)

// TestDownloadCreatesTheDefaultFolder: the downloads folder Download JWT
// proposes is made (0700) the first time it is used; a folder the admin
// typed that doesn't exist is still refused, not made.
func TestDownloadCreatesTheDefaultFolder(t *testing.T) {
	w := newStoreWorld(t)
	folder := filepath.Join(t.TempDir(), "Downloads", "idcon")
	opts := w.options(nil)
	opts.Downloads = folder
	hs := newHarness(t, opts, 100, 30)
	hs.openByName("laptop-alice")
	hs.press("j", "enter")
	if hs.app.dialog != nil {
		t.Fatalf("the dialog is still open: %s", flat(stripBox(hs.app.dialog.View())))
	}
	checkTokenFile(t, filepath.Join(folder, "laptop-alice.jwt"), w.token)
	if st, err := os.Stat(folder); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("the default folder: %v %v, want a 0700 folder", st, err)
	}

	typed := filepath.Join(t.TempDir(), "typo", "folder")
	hs.press("j", "ctrl+u")
	hs.typeText(typed)
	hs.press("enter")
	if _, err := os.Stat(typed); err == nil {
		t.Fatal("a folder the admin typed was made")
	}
	if d, ok := hs.app.dialog.(*downloadDialog); !ok || d.errMsg == "" {
		t.Fatalf("a missing typed folder: dialog %T", hs.app.dialog)
	}
}

// TestDownloadOverSSHOffersSCP: under the SSH server, Download JWT offers
// the scp command that fetches this identity's token to the admin's own
// machine, and the token on the clipboard, instead of a folder of the
// server's; nothing is written on the server.
func TestDownloadOverSSHOffersSCP(t *testing.T) {
	w := newStoreWorld(t)
	server := t.TempDir()
	opts := w.options(nil)
	opts.Downloads = filepath.Join(server, "downloads")
	opts.RemoteDownload = func(n model.Network, id model.Identity) string {
		return "scp -P 2222 alice@idcon.example.org:" + n.Name + "/" + id.Name + ".jwt ."
	}
	hs := newHarness(t, opts, 100, 30)
	hs.openByName("laptop-alice")
	hs.press("j")
	if hs.app.dialog == nil {
		t.Fatal("j opened nothing")
	}
	s := flat(stripBox(hs.app.dialog.View()))
	if !strings.Contains(s, "scp -P 2222 alice@idcon.example.org:acme/laptop-alice.jwt .") {
		t.Fatalf("the dialog doesn't offer the scp command: %s", s)
	}
	if hs.app.typing() {
		t.Fatal("the dialog asks for a folder of the server's")
	}
	hs.press("c") // the scp command to the clipboard
	if len(hs.clipboard) != 1 || hs.clipboard[0] != tea.SetClipboard("scp -P 2222 alice@idcon.example.org:acme/laptop-alice.jwt .")() {
		t.Fatalf("c: clipboard messages %v", hs.clipboard)
	}
	hs.press("enter") // the token to the clipboard
	if len(hs.clipboard) != 2 || hs.clipboard[1] != tea.SetClipboard(w.token)() {
		t.Fatalf("enter: %d clipboard messages", len(hs.clipboard))
	}
	if hs.app.dialog != nil {
		t.Fatalf("the dialog is still open after the token went out")
	}
	if entries, _ := os.ReadDir(server); len(entries) != 0 {
		t.Fatalf("something was written on the server: %v", entries)
	}
}
