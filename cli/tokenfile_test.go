package cli

import (
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestTokenFileReplacesWholeAndPrivately(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "alice.jwt")
	if err := os.WriteFile(path, []byte("an older, longer token that must not survive"), 0o644); err != nil {
		t.Fatal(err)
	}
	tf, err := testApp(t).prepareTokenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer tf.discard()
	if err := tf.commit("a.b.c"); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil || string(got) != "a.b.c" {
		t.Errorf("file holds %q (%v), want exactly the token", got, err)
	}
	if info, _ := os.Stat(path); info.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", info.Mode().Perm())
	}
	tf.discard()
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
}

func TestTokenFileRefusesBeforeAnythingHappens(t *testing.T) {
	dir := t.TempDir()
	if _, err := testApp(t).prepareTokenFile(dir); err == nil {
		t.Error("a folder was accepted as the token file")
	}
	if _, err := testApp(t).prepareTokenFile(filepath.Join(dir, "missing", "t.jwt")); err == nil {
		t.Error("a file in a missing folder was accepted")
	}
	tf, err := testApp(t).prepareTokenFile(filepath.Join(dir, "t.jwt"))
	if err != nil {
		t.Fatal(err)
	}
	tf.discard() // no token came
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("discard left %v", entries)
	}
}

func testApp(t *testing.T) *app {
	t.Helper()
	return &app{environment: environment{stdout: io.Discard, stderr: io.Discard}}
}
