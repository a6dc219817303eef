package delivery

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestSafeFileName(t *testing.T) {
	cases := []struct {
		name, want string
	}{
		{"laptop-alice", "laptop-alice.jwt"},
		{"../../etc/x", "etc-x.jwt"},
		{"a/b", "a-b.jwt"},
		{`a\b`, "a-b.jwt"},
		{"..", "identity.jwt"},
		{".", "identity.jwt"},
		{"", "identity.jwt"},
		{"   ", "identity.jwt"},
		{".bashrc", "bashrc.jwt"},
		{"-rf", "rf.jwt"},
		{"--help", "help.jwt"},
		{"a..b", "a.b.jwt"},
		{"evil\x1b[31mred", "evil-31mred.jwt"},
		{"two\nlines", "two-lines.jwt"},
		{"nul\x00byte", "nulbyte.jwt"},
		{"abc\u202egpj.exe", "abcgpj.exe.jwt"},           // RTL override dropped
		{"zero\u200bwidth", "zerowidth.jwt"},             // zero-width space dropped
		{"Zoë's laptop", "Zoë-s-laptop.jwt"},             // letters of any script kept
		{"東京-サーバー", "東京-サーバー.jwt"},                       // (ー is a letter)
		{"Ελένη", "Ελένη.jwt"},                           // Greek
		{"laptop alice (work)", "laptop-alice-work.jwt"}, // spaces and brackets
		{"con", "identity-con.jwt"},                      // Windows device name
		{"a:b*c?d|e<f>g\"h", "a-b-c-d-e-f-g-h.jwt"},
		{"bad\xffutf8", "bad-utf8.jwt"},
		{"trailing.", "trailing.jwt"},
	}
	for _, c := range cases {
		if got := SafeFileName(c.name); got != c.want {
			t.Errorf("SafeFileName(%q) = %q, want %q", c.name, got, c.want)
		}
	}
}

// Every name, whatever it holds, gives a file name that stays in its
// folder and is visible, printable and short.
func TestSafeFileNameInvariants(t *testing.T) {
	names := []string{
		"../../etc/x", "a/b", "..", "/", "//", "\\..\\..\\x", "\x1b]52;c;aGk=\x07",
		"\n", "\x00", "\u202e", "\u2066\u2069", "\ufeff", "-", "...", ".-.-",
		strings.Repeat("a", 300), strings.Repeat("é", 300), strings.Repeat("東", 300),
		strings.Repeat("../", 100), "x" + strings.Repeat("\u0301", 300),
	}
	for _, n := range names {
		got := SafeFileName(n)
		stem := strings.TrimSuffix(got, ".jwt")
		switch {
		case !strings.HasSuffix(got, ".jwt") || stem == "":
			t.Errorf("SafeFileName(%q) = %q: not <name>.jwt", n, got)
		case strings.ContainsAny(got, `/\`) || strings.Contains(got, ".."):
			t.Errorf("SafeFileName(%q) = %q: a separator or ..", n, got)
		case strings.HasPrefix(got, ".") || strings.HasPrefix(got, "-"):
			t.Errorf("SafeFileName(%q) = %q: leading dot or dash", n, got)
		case len(got) > maxFileStem+len(".jwt"):
			t.Errorf("SafeFileName(%q) is %d bytes long", n, len(got))
		case !utf8.ValidString(got):
			t.Errorf("SafeFileName(%q) = %q: invalid UTF-8", n, got)
		case filepath.Base(got) != got:
			t.Errorf("SafeFileName(%q) = %q: not a base name", n, got)
		}
		for _, r := range got {
			if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
				t.Errorf("SafeFileName(%q) = %q holds %U", n, got, r)
			}
		}
	}
}

func TestWriteJWT(t *testing.T) {
	dir := t.TempDir()
	tok := makeJWT(t, maxTokenLen)

	path, err := WriteJWT(dir, "laptop-alice", tok, false)
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "laptop-alice.jwt"); path != want {
		t.Errorf("path %q, want %q", path, want)
	}
	checkTokenFile(t, path, tok)

	// Exists, no overwrite: typed error, file untouched, path still given.
	other := makeJWT(t, 315)
	path2, err := WriteJWT(dir, "laptop-alice", other, false)
	var exists *ExistsError
	if !errors.Is(err, ErrExists) || !errors.As(err, &exists) {
		t.Fatalf("second write: %v; want ErrExists", err)
	}
	if exists.Name != "laptop-alice.jwt" || exists.Dir != dir || path2 != path {
		t.Errorf("ExistsError %+v, path %q", exists, path2)
	}
	if want := "laptop-alice.jwt exists in " + dir; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q; want it to start %q", err, want)
	}
	checkTokenFile(t, path, tok)

	// Overwrite replaces it, still 0600, and leaves no temporary file.
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteJWT(dir, "laptop-alice", other, true); err != nil {
		t.Fatal(err)
	}
	checkTokenFile(t, path, other)
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("folder holds %d entries after overwrite; want 1", len(entries))
	}
}

func checkTokenFile(t *testing.T, path, tok string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != tok {
		t.Errorf("%s holds %d bytes, not exactly the %d-byte token", path, len(data), len(tok))
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("%s has mode %o; want 600", path, mode)
	}
}

func TestWriteJWTStaysInDir(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "out")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	names := []string{"../../etc/x", "a/b", "..", ".", "/etc/passwd", "x\x1b[2J", "x\ny", "x\x00y",
		"abc\u202egpj.exe", strings.Repeat("n", 300), "../" + strings.Repeat("é", 200)}
	for _, n := range names {
		path, err := WriteJWT(dir, n, "tok", true)
		if err != nil {
			t.Errorf("WriteJWT(%q): %v", n, err)
			continue
		}
		if filepath.Dir(path) != dir {
			t.Errorf("WriteJWT(%q) wrote %s, outside %s", n, path, dir)
		}
	}
	// Nothing escaped into the parent.
	entries, _ := os.ReadDir(root)
	if len(entries) != 1 {
		t.Errorf("the parent folder holds %d entries; want only out/", len(entries))
	}
}

func TestWriteJWTRelativeDirGivesAbsolutePath(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	path, err := WriteJWT(".", "bob", "tok", false)
	if err != nil {
		t.Fatal(err)
	}
	if !filepath.IsAbs(path) || filepath.Base(path) != "bob.jwt" {
		t.Errorf("path %q; want an absolute path to bob.jwt", path)
	}
}

func TestWriteJWTDoesNotFollowSymlinks(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(t.TempDir(), "victim")
	if err := os.WriteFile(target, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "alice.jwt")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if _, err := WriteJWT(dir, "alice", "tok", false); !errors.Is(err, ErrExists) {
		t.Errorf("write over a symlink without overwrite: %v; want ErrExists", err)
	}
	// Overwrite replaces a regular file only: a link in the way is
	// refused, in one line, and neither it nor its target changes.
	_, err := WriteJWT(dir, "alice", "tok", true)
	if err == nil || !strings.Contains(err.Error(), "symbolic link") || strings.Contains(err.Error(), "\n") {
		t.Errorf("overwrite of a symlink: %v; want one line saying it is a symbolic link", err)
	}
	if data, _ := os.ReadFile(target); string(data) != "keep" {
		t.Errorf("the symlink's target was written through: %q", data)
	}
	if info, err := os.Lstat(link); err != nil || info.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced: %v", err)
	}
	if _, err := JWTTarget(dir, "alice"); err == nil || errors.Is(err, ErrExists) {
		t.Errorf("JWTTarget offers to overwrite a symlink: %v", err)
	}
}

// A device node or FIFO where the file would go is never replaced.
func TestWriteJWTLeavesSpecialFilesAlone(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "alice.jwt")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	if _, err := WriteJWT(dir, "alice", "tok", true); err == nil {
		t.Error("overwrite of a FIFO was accepted")
	}
	if info, err := os.Lstat(fifo); err != nil || info.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced: %v", err)
	}
	if os.Geteuid() == 0 {
		dev := filepath.Join(dir, "bob.jwt")
		if err := syscall.Mknod(dev, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
			t.Skipf("mknod: %v", err)
		}
		if _, err := WriteJWT(dir, "bob", "tok", true); err == nil {
			t.Error("overwrite of a character device was accepted")
		}
		if info, err := os.Lstat(dev); err != nil || info.Mode()&os.ModeCharDevice == 0 {
			t.Errorf("the device was replaced: %v", err)
		}
	}
}

func TestWriteJWTBadInput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "plain-file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		dir, tok, wantIn string
	}{
		{dir, "", "no token"},
		{filepath.Join(dir, "missing"), "tok", "does not exist"},
		{file, "tok", "is not a folder"},
	}
	for _, c := range cases {
		_, err := WriteJWT(c.dir, "alice", c.tok, false)
		if err == nil || !strings.Contains(err.Error(), c.wantIn) || strings.Contains(err.Error(), "\n") {
			t.Errorf("WriteJWT(%q, token %q): %v; want one line with %q", c.dir, c.tok, err, c.wantIn)
		}
	}
	if os.Geteuid() != 0 { // root writes anywhere
		ro := filepath.Join(dir, "ro")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		if _, err := WriteJWT(ro, "alice", "tok", false); err == nil || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("read-only folder: %v", err)
		}
	}
}

func TestOSC52(t *testing.T) {
	tok := makeJWT(t, maxTokenLen)
	seq := OSC52(tok)
	const prefix, suffix = "\x1b]52;c;", "\a"
	if !strings.HasPrefix(seq, prefix) || !strings.HasSuffix(seq, suffix) {
		t.Fatalf("OSC52 = %q", seq)
	}
	payload := strings.TrimSuffix(strings.TrimPrefix(seq, prefix), suffix)
	got, err := base64.StdEncoding.DecodeString(payload)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != tok {
		t.Error("the OSC 52 payload does not decode to the token")
	}
	// The payload cannot end the sequence early or start another.
	if strings.ContainsAny(payload, "\x1b\a\x9c") {
		t.Error("the payload holds a terminator")
	}
	if OSC52("") != prefix+suffix {
		t.Errorf("OSC52(\"\") = %q", OSC52(""))
	}
	if got := OSC52("é\n"); got != prefix+"w6kK"+suffix {
		t.Errorf("OSC52(\"é\\n\") = %q", got)
	}
}

// JWTTarget answers what WriteJWT would do, without writing: the path, the
// folder errors, and ErrExists for a file or a dangling symlink in the way.
func TestJWTTarget(t *testing.T) {
	dir := t.TempDir()
	path, err := JWTTarget(dir, "../../etc/x")
	if err != nil || path != filepath.Join(dir, "etc-x.jwt") {
		t.Fatalf("JWTTarget: %q, %v", path, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("JWTTarget wrote %d entries", len(entries))
	}
	if _, err := WriteJWT(dir, "../../etc/x", "tok", false); err != nil {
		t.Fatal(err)
	}
	var exists *ExistsError
	if _, err := JWTTarget(dir, "../../etc/x"); !errors.As(err, &exists) || exists.Name != "etc-x.jwt" || exists.Dir != dir {
		t.Errorf("existing file: %v", err)
	}
	if err := os.Symlink(filepath.Join(dir, "nowhere"), filepath.Join(dir, "dangling.jwt")); err != nil {
		t.Fatal(err)
	}
	// A link is not offered for overwriting: it is never replaced.
	if _, err := JWTTarget(dir, "dangling"); err == nil || errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "symbolic link") {
		t.Errorf("dangling symlink: %v; want a refusal naming the link", err)
	}
	if _, err := JWTTarget(filepath.Join(dir, "missing"), "alice"); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing folder: %v", err)
	}
}
