package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// pendingDB makes a database with one pending identity, "laptop-alice", in
// network "office", and returns the database's path.
func pendingDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "idcon.db")
	s, err := embedded.Open(db, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	n, err := s.CreateNetwork(ctx, "office")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "laptop-alice", ExpiresAt: time.Now().Add(48 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return db
}

// looksLikeJWT is the test's own oracle: three base64url parts.
func looksLikeJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}

// A character device named by -o is written to, never replaced: the node
// made here with mknod has /dev/null's numbers, as /dev/null itself.
func TestOutputToACharacterDeviceWritesIntoIt(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mknod needs root")
	}
	db := pendingDB(t)
	dev := filepath.Join(t.TempDir(), "null")
	if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
		t.Skipf("mknod: %v", err)
	}
	r := runCLI(t, t.TempDir(), nil, nil, "--db", db, "enrollment", "jwt", "laptop-alice", "-o", dev)
	if r.code != 0 {
		t.Errorf("exit %d: %s", r.code, r.stderr)
	}
	info, err := os.Lstat(dev)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&os.ModeCharDevice == 0 || info.Mode()&os.ModeDevice == 0 {
		t.Errorf("-o %s left a %v, want the character device still there", dev, info.Mode())
	}
	if entries, _ := os.ReadDir(filepath.Dir(dev)); len(entries) != 1 {
		t.Errorf("files left beside the device: %v", entries)
	}
}

// "-o -" means standard output: the token alone on stdout, no file "-".
func TestOutputDashIsStandardOutput(t *testing.T) {
	db := pendingDB(t)
	cwd, _ := os.Getwd()
	dir := t.TempDir()
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(cwd)
	for _, args := range [][]string{
		{"enrollment", "jwt", "laptop-alice", "-o", "-"},
	} {
		r := runCLI(t, t.TempDir(), nil, nil, append([]string{"--db", db}, args...)...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		if args[1] == "jwt" {
			if got := strings.TrimSuffix(r.stdout, "\n"); !looksLikeJWT(got) {
				t.Errorf("%v: stdout %q, want the token alone", args, r.stdout)
			}
		}
		if _, err := os.Lstat(filepath.Join(dir, "-")); err == nil {
			t.Errorf("%v wrote a file named -", args)
		}
	}
}

// A symlink named by -o is refused, and neither it nor its target changes.
func TestOutputRefusesASymlink(t *testing.T) {
	db := pendingDB(t)
	dir := t.TempDir()
	target := filepath.Join(dir, "precious.txt")
	if err := os.WriteFile(target, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "token.jwt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, t.TempDir(), nil, nil, "--db", db, "enrollment", "jwt", "laptop-alice", "-o", link)
	if r.code == 0 {
		t.Errorf("a symlink was accepted: %s", r.stdout)
	}
	if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(r.stderr, "link") {
		t.Errorf("want one line naming the link, got %q", r.stderr)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v %v", info, err)
	}
	if got, _ := os.ReadFile(target); string(got) != "keep me" {
		t.Errorf("the link's target now holds %q", got)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 2 {
		t.Errorf("files left: %v", entries)
	}
}

// A FIFO is written to (a reader gets the token), never replaced.
func TestOutputToAFIFOWritesIntoIt(t *testing.T) {
	db := pendingDB(t)
	fifo := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	// Held open for reading and writing, the FIFO has a reader, so the
	// command's open doesn't block; what it wrote is then in the pipe.
	pipe, err := os.OpenFile(fifo, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer pipe.Close()
	r := runCLI(t, t.TempDir(), nil, nil, "--db", db, "enrollment", "jwt", "laptop-alice", "-o", fifo)
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	// Read what is in the pipe now, without waiting for more.
	buf := make([]byte, 64<<10)
	n := 0
	rc, err := pipe.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	rc.Read(func(fd uintptr) bool {
		n, _ = syscall.Read(int(fd), buf)
		return true
	})
	n = max(n, 0)
	if tok := strings.TrimSpace(string(buf[:n])); !looksLikeJWT(tok) {
		t.Errorf("the FIFO's reader got %q, want the token", tok)
	}
	if info, err := os.Lstat(fifo); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v %v", info, err)
	}
}
