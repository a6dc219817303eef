package sshserver

import (
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	gossh "golang.org/x/crypto/ssh"

	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/safetext"
)

// pubLine is an authorized_keys key field ("ssh-ed25519 AAAA…") for a
// fresh key.
func pubLine(t testing.TB) (string, gossh.PublicKey) {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := gossh.NewPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(gossh.MarshalAuthorizedKey(k))), k
}

func TestParseAuthorizedKeysGoodLines(t *testing.T) {
	a, ka := pubLine(t)
	b, kb := pubLine(t)
	c, kc := pubLine(t)
	d, _ := pubLine(t)
	file := strings.Join([]string{
		"# admins",
		`role="admin",name="alice" ` + a + " alice@laptop",
		"",
		b + " carol@desk\r", // no role: viewer named by the comment; CRLF tolerated
		`restrict,role="viewer" ` + c,
		`name="dave \"the\" admin",role="admin",no-port-forwarding ` + d + " ignored comment",
	}, "\n")
	keys, err := ParseAuthorizedKeys([]byte(file))
	if err != nil {
		t.Fatalf("ParseAuthorizedKeys: %v", err)
	}
	want := []struct {
		role access.Role
		name string
		line int
	}{
		{access.RoleAdmin, "alice", 2},
		{access.RoleViewer, "carol@desk", 4},
		{access.RoleViewer, gossh.FingerprintSHA256(kc), 5},
		{access.RoleAdmin, `dave "the" admin`, 6},
	}
	if len(keys) != len(want) {
		t.Fatalf("%d keys, want %d", len(keys), len(want))
	}
	for i, w := range want {
		k := keys[i]
		if k.Role != w.role || k.Name != w.name || k.Line != w.line {
			t.Errorf("key %d = role %s name %q line %d; want %s %q %d", i, k.Role, k.Name, k.Line, w.role, w.name, w.line)
		}
		if !strings.HasPrefix(k.Fingerprint, "SHA256:") {
			t.Errorf("key %d fingerprint %q", i, k.Fingerprint)
		}
	}
	if string(keys[0].Key.Marshal()) != string(ka.Marshal()) || string(keys[1].Key.Marshal()) != string(kb.Marshal()) {
		t.Error("keys out of order")
	}
}

func TestParseAuthorizedKeysBadLinesNameTheLine(t *testing.T) {
	good, _ := pubLine(t)
	k2, _ := pubLine(t)
	k3, _ := pubLine(t)
	k4, _ := pubLine(t)
	k5, _ := pubLine(t)
	k6, _ := pubLine(t)
	k7, _ := pubLine(t)
	lines := []string{
		good + " ok",                                   // 1: fine
		`role="root" ` + k2,                            // 2: unknown role
		`role=admin ` + k3,                             // 3: unquoted
		`from="10.0.0.0/8",role="admin" ` + k4,         // 4: option idcon won't enforce
		"ssh-ed25519 not-base64",                       // 5: not a key
		`role="admin" ` + good + " again",              // 6: duplicate of line 1
		"name=\"evil\x1b[2J\" " + k5,                   // 7: control characters
		`name="` + strings.Repeat("x", 65) + `" ` + k6, // 8: too long
		`role="admin",role="viewer" ` + k7,             // 9: role twice
	}
	keys, err := ParseAuthorizedKeys([]byte(strings.Join(lines, "\n")))
	if len(keys) != 1 || keys[0].Line != 1 {
		t.Fatalf("kept %d keys (%+v), want only line 1; errors:\n%v", len(keys), keys, err)
	}
	if err == nil {
		t.Fatal("no error for bad lines")
	}
	var lines2 []int
	for _, e := range unjoin(err) {
		var le *LineError
		if !errors.As(e, &le) {
			t.Fatalf("error %v is not a *LineError", e)
		}
		lines2 = append(lines2, le.Line)
		if !strings.HasPrefix(le.Error(), "line ") {
			t.Errorf("error %q doesn't start with its line", le)
		}
	}
	if want := []int{2, 3, 4, 5, 6, 7, 8, 9}; !equalInts(lines2, want) {
		t.Errorf("errors for lines %v, want %v\n%v", lines2, want, err)
	}
	for _, want := range []string{`unknown role "root"`, "double quotes", `option "from"`, "not a public key line", "already listed on line 1", "control", "longer than 64", "role is given twice"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("errors don't say %q:\n%v", want, err)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSplitTokenPath(t *testing.T) {
	good := map[string][2]string{
		"demo/alice.jwt":         {"demo", "alice"},
		"/demo/alice.jwt":        {"demo", "alice"},
		"demo/alice.smith.jwt":   {"demo", "alice.smith"},
		"./demo/../demo/bob.jwt": {"demo", "bob"},
	}
	for p, w := range good {
		n, i, err := splitTokenPath(p)
		if err != nil || n != w[0] || i != w[1] {
			t.Errorf("splitTokenPath(%q) = %q, %q, %v", p, n, i, err)
		}
	}
	for _, p := range []string{"", "/", "demo", "demo/alice", "demo/.jwt", "a/b/c.jwt", "../etc/passwd", "alice.jwt"} {
		if _, _, err := splitTokenPath(p); err == nil {
			t.Errorf("splitTokenPath(%q) accepted", p)
		}
	}
}

// FuzzAuthorizedKeys checks that no file makes the parser panic, and that
// whatever it accepts has a known role, a printable name and a line number.
func FuzzAuthorizedKeys(f *testing.F) {
	key, _ := pubLine(f)
	for _, s := range []string{
		`role="admin",name="alice" ` + key + " alice@laptop",
		key,
		key + " comment with spaces",
		`role="viewer" ` + key + "\n" + key,
		`role="admin` + key,
		`role="" ` + key,
		`name="a\"b",restrict ` + key,
		`command="rm -rf /" ` + key,
		"# comment\n\n\r\n",
		`role="admin",name="x" ssh-ed25519 AAAA`,
		"ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ== x",
		"\x00\xff\xfe",
		"name=\"\u202eevil\" " + key,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		keys, err := ParseAuthorizedKeys(data)
		lines := strings.Count(string(data), "\n") + 1
		for _, k := range keys {
			if k.Role != access.RoleAdmin && k.Role != access.RoleViewer {
				t.Fatalf("accepted role %q", k.Role)
			}
			if k.Name == "" || safetext.Clean(k.Name) != k.Name {
				t.Fatalf("accepted name %q", k.Name)
			}
			if k.Line < 1 || k.Line > lines || k.Key == nil {
				t.Fatalf("bad key %+v", k)
			}
		}
		if err != nil {
			for _, e := range unjoin(err) {
				var le *LineError
				if !errors.As(e, &le) || le.Line < 1 || le.Line > lines {
					t.Fatalf("error %v doesn't name a line of the file", e)
				}
			}
		}
	})
}
