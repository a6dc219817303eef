package e2e

import (
	"bytes"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idcon/idcon/delivery/qrtest"
	"github.com/idcon/idcon/delivery/smtptest"
)

// deliveryDB is a database with the network "office" and the pending
// identity laptop-alice, and that identity's token.
func deliveryDB(t *testing.T) (Env, string) {
	t.Helper()
	e := NewDB(t)
	MustRun(t, e, "network", "create", "office")
	MustRun(t, e, "identity", "create", "laptop-alice", "--email", "alice@example.org", "--expires", "+7d")
	tok := strings.TrimSuffix(MustRun(t, e, "enrollment", "jwt", "laptop-alice").Stdout, "\n")
	if tok == "" {
		t.Fatal("no token")
	}
	return e, tok
}

// noTokenIn fails if any output shows the token.
func noTokenIn(t *testing.T, tok string, rs ...Result) {
	t.Helper()
	for _, r := range rs {
		if strings.Contains(r.Stdout+r.Stderr, tok) {
			t.Fatalf("the token shows in the output:\nidcon %s", strings.Join(r.Args, " "))
		}
	}
}

// TestQRDecodesToTheToken: what 'enrollment qr' prints decodes, with an
// independent decoder, to exactly the token 'enrollment jwt' gives.
func TestQRDecodesToTheToken(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)

	// To a pipe: no escape sequences at all, dark glyphs for a light page.
	r := MustRun(t, e, "enrollment", "qr", "laptop-alice")
	if strings.ContainsRune(r.Stdout, 0x1b) || r.Stderr != "" {
		t.Fatalf("piped output holds escape sequences or stderr says something:\n%s", r.Stderr)
	}
	if got, err := qrtest.Decode(r.Stdout, qrtest.LightTheme); err != nil || got != tok {
		t.Fatalf("piped: decodes to the token %v (err %v)", got == tok, err)
	}
	lines := strings.Split(strings.TrimSuffix(r.Stdout, "\n"), "\n")
	if n := len(lines); n < 3 || lines[n-2] != "laptop-alice" || !strings.HasPrefix(lines[n-1], "token expires ") || !strings.Contains(lines[n-1], "(in 7 days)") {
		t.Fatalf("the lines under the code: %q", lines[max(0, len(lines)-2):])
	}

	// NO_COLOR: the same plain code.
	nc := e
	nc.Vars = []string{"NO_COLOR=1", "CLICOLOR_FORCE=1", "TERM=xterm-256color"}
	r2 := MustRun(t, nc, "enrollment", "qr", "laptop-alice")
	if r2.Stdout != r.Stdout {
		t.Fatal("NO_COLOR output differs from the plain one")
	}

	// Colours forced through the pipe: reduced to 256 colours, and dark on
	// light on both themes.
	col := e
	col.Vars = []string{"CLICOLOR_FORCE=1", "TERM=xterm-256color"}
	r3 := MustRun(t, col, "enrollment", "qr", "laptop-alice")
	if !strings.Contains(r3.Stdout, "\x1b[") || strings.Contains(r3.Stdout, "38;2;") {
		t.Fatal("forced colours: want 256-colour sequences, not 24-bit ones")
	}
	for _, th := range []qrtest.Theme{qrtest.DarkTheme, qrtest.LightTheme} {
		if got, err := qrtest.Decode(r3.Stdout, th); err != nil || got != tok {
			t.Fatalf("256 colours on a %s: decodes to the token %v (err %v)", th.Name, got == tok, err)
		}
	}

	// Not pending: refused in one line.
	MustRun(t, e, "identity", "create", "printer", "--expires", "+1d")
	MustRun(t, e, "enrollment", "delete", "printer", "--yes")
	wantError(t, Run(t, e, "enrollment", "qr", "printer"), 1, "printer", "shown as a QR code")
}

// smtpConfigFile writes a config file pointing at the server.
func smtpConfigFile(t *testing.T, port int, extra string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config.yaml")
	body := fmt.Sprintf("smtp:\n  host: 127.0.0.1\n  port: %d\n  tls: none\n  from: idcon <idcon@example.org>\n%s", port, extra)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func checkEmail(t *testing.T, m smtptest.Message, to, tok string) {
	t.Helper()
	if !slices.Equal(m.RcptTos, []string{to}) {
		t.Errorf("sent to %v, want %s", m.RcptTos, to)
	}
	mail, err := smtptest.Parse(m.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if mail.Subject != "Enroll laptop-alice on network office" {
		t.Errorf("subject %q", mail.Subject)
	}
	if a := mail.Attachments["laptop-alice.jwt"]; string(a.Data) != tok {
		t.Errorf("laptop-alice.jwt is not exactly the token (%d bytes)", len(a.Data))
	}
	img, err := png.Decode(bytes.NewReader(mail.Attachments["laptop-alice-qr.png"].Data))
	if err != nil {
		t.Fatalf("laptop-alice-qr.png: %v", err)
	}
	if got, err := qrtest.DecodeImage(img); err != nil || got != tok {
		t.Errorf("laptop-alice-qr.png decodes to the token %v (err %v)", got == tok, err)
	}
}

func TestEmailFromTheCommandLine(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)
	srv := smtptest.Start(t, smtptest.Options{})
	cfg := smtpConfigFile(t, srv.Port, "")

	r := MustRun(t, e, "--config", cfg, "enrollment", "email", "laptop-alice")
	if r.Stdout != "sent the registration email of laptop-alice to alice@example.org\n" || r.Stderr != "" {
		t.Fatalf("output:\n%s", r)
	}
	r2 := MustRun(t, e, "--config", cfg, "enrollment", "email", "laptop-alice", "--to", "bob@example.org")
	msgs := srv.Messages(t)
	if len(msgs) != 2 {
		t.Fatalf("%d messages received, want 2", len(msgs))
	}
	checkEmail(t, msgs[0], "alice@example.org", tok)
	checkEmail(t, msgs[1], "bob@example.org", tok)

	// The environment alone sets the server up, and overrides the file.
	env := e
	env.Vars = []string{"IDCON_SMTP_HOST=127.0.0.1", fmt.Sprintf("IDCON_SMTP_PORT=%d", srv.Port), "IDCON_SMTP_TLS=none", "IDCON_SMTP_FROM=idcon@example.org"}
	r3 := MustRun(t, env, "enrollment", "email", "laptop-alice")
	broken := smtpConfigFile(t, smtptest.ClosedPort(t), "")
	r4 := MustRun(t, env, "--config", broken, "enrollment", "email", "laptop-alice")
	if n := len(srv.Messages(t)); n != 4 {
		t.Fatalf("%d messages received, want 4", n)
	}

	// A bad address, and an identity without one.
	r5 := Run(t, e, "--config", cfg, "enrollment", "email", "laptop-alice", "--to", "alice")
	wantError(t, r5, 2, `--to: "alice" is not an email address`) // a usage error
	MustRun(t, e, "identity", "create", "printer", "--expires", "+1d")
	r6 := Run(t, e, "--config", cfg, "enrollment", "email", "printer")
	wantError(t, r6, 1, "printer has no email address; give one with --to ADDR")
	noTokenIn(t, tok, r, r2, r3, r4, r5, r6)
}

func TestEmailFailuresFromTheCommandLine(t *testing.T) {
	t.Parallel()
	e, tok := deliveryDB(t)

	srv := smtptest.Start(t, smtptest.Options{Auth: "mailer:correct-horse-battery"})
	cfg := smtpConfigFile(t, srv.Port, "  username: mailer\n")
	wrong := e
	wrong.Vars = []string{"IDCON_SMTP_PASSWORD=wrong-password-here"}
	r1 := Run(t, wrong, "--config", cfg, "enrollment", "email", "laptop-alice")
	wantError(t, r1, 1)
	if r1.Stderr != "idcon: the SMTP server refused the username or password\n" {
		t.Errorf("wrong password: %q", r1.Stderr)
	}

	port := smtptest.ClosedPort(t)
	r2 := Run(t, e, "--config", smtpConfigFile(t, port, ""), "enrollment", "email", "laptop-alice")
	wantError(t, r2, 1)
	if want := fmt.Sprintf("idcon: could not reach the SMTP server 127.0.0.1:%d: connection refused\n", port); r2.Stderr != want {
		t.Errorf("refused: %q, want %q", r2.Stderr, want)
	}

	r3 := Run(t, e, "enrollment", "email", "laptop-alice")
	wantError(t, r3, 1)
	if want := "idcon: no SMTP server configured: set IDCON_SMTP_HOST and IDCON_SMTP_FROM (or smtp: in the config file)\n"; r3.Stderr != want {
		t.Errorf("not configured: %q", r3.Stderr)
	}

	r4 := Run(t, e, "--config", filepath.Join(t.TempDir(), "missing.yaml"), "enrollment", "email", "laptop-alice")
	wantError(t, r4, 1, "cannot read the config file", "--config")

	if n := len(srv.Messages(t)); n != 0 {
		t.Fatalf("%d messages accepted", n)
	}
	noTokenIn(t, tok, r1, r2, r3, r4)
	wantState(t, e, "laptop-alice", "pending")
}
