package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"html"
	"image/png"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/delivery/qrtest"
	"github.com/idcon/idcon/delivery/smtptest"
)

// parseMail takes a received message apart (smtptest.Parse).
func parseMail(t *testing.T, raw []byte) smtptest.Mail {
	t.Helper()
	m, err := smtptest.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func testRegistration(t *testing.T, to string) Registration {
	return Registration{
		To:           to,
		IdentityName: "laptop-alice",
		NetworkName:  "demo",
		JWT:          makeJWT(t, maxTokenLen),
		ExpiresAt:    time.Date(2030, 3, 2, 13, 5, 0, 0, time.UTC),
		Location:     time.FixedZone("CET", 3600),
	}
}

// checkSendError checks err is a *SendError of kind whose text is want (or
// starts with want when prefix), and that it holds no secret.
func checkSendError(t *testing.T, err error, kind SendErrorKind, want string, prefix bool, secrets ...string) *SendError {
	t.Helper()
	var se *SendError
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T); want a *SendError", err, err)
	}
	if se.Kind != kind {
		t.Errorf("kind %v (%q); want %v", se.Kind, se.Error(), kind)
	}
	if got := se.Error(); (prefix && !strings.HasPrefix(got, want)) || (!prefix && got != want) {
		t.Errorf("error %q; want %q", got, want)
	}
	if strings.ContainsAny(se.Error(), "\n\x1b") {
		t.Errorf("error %q is not one clean line", se.Error())
	}
	for _, s := range secrets {
		if strings.Contains(se.Error(), s) {
			t.Errorf("error %q holds a secret", se.Error())
		}
	}
	return se
}

func TestSendDeliversRegistration(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	srv := startSMTPServer(t, "")
	reg := testRegistration(t, "alice@example.org")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := Send(ctx, srv.Config(), reg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	msgs := srv.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("the server received %d messages; want 1", len(msgs))
	}
	got := msgs[0]
	if len(got.RcptTos) != 1 || got.RcptTos[0] != "alice@example.org" || got.MailFrom != "idcon@example.org" {
		t.Errorf("envelope from %q to %q", got.MailFrom, got.RcptTos)
	}
	m := parseMail(t, got.Raw)
	if to := m.Header.Get("To"); !strings.Contains(to, "alice@example.org") {
		t.Errorf("To: %q", to)
	}
	if m.Subject != "Enroll laptop-alice on network demo" {
		t.Errorf("Subject: %q", m.Subject)
	}
	const expiry = "Saturday 2 March 2030 at 14:05 CET (UTC+01:00)"
	// html/template writes "+" as "&#43;": compare the text a reader sees.
	for name, body := range map[string]string{"text": m.Plain, "HTML": html.UnescapeString(m.HTML)} {
		for _, want := range []string{"laptop-alice", "demo", expiry, "laptop-alice.jwt", "laptop-alice-qr.png", "edge client"} {
			if !strings.Contains(body, want) {
				t.Errorf("the %s part lacks %q", name, want)
			}
		}
		if strings.Contains(body, reg.JWT) {
			t.Errorf("the %s part shows the token itself", name)
		}
	}
	if len(m.Attachments) != 2 {
		t.Errorf("%d attachments; want 2", len(m.Attachments))
	}
	jwtFile, ok := m.Attachments["laptop-alice.jwt"]
	if !ok || !bytes.Equal(jwtFile.Data, []byte(reg.JWT)) {
		t.Errorf("laptop-alice.jwt: present %v, %d bytes; want exactly the %d-byte token", ok, len(jwtFile.Data), len(reg.JWT))
	}
	qrFile, ok := m.Attachments["laptop-alice-qr.png"]
	if !ok || qrFile.ContentType != "image/png" {
		t.Fatalf("laptop-alice-qr.png: present %v, type %q", ok, qrFile.ContentType)
	}
	img, err := png.Decode(bytes.NewReader(qrFile.Data))
	if err != nil {
		t.Fatalf("laptop-alice-qr.png is not a PNG: %v", err)
	}
	decoded, err := qrtest.DecodeImage(img)
	if err != nil || decoded != reg.JWT {
		t.Errorf("laptop-alice-qr.png decodes to the token: %v (err %v)", decoded == reg.JWT, err)
	}
	t.Logf("message: %d bytes, PNG %d bytes (%dx%d)", len(got.Raw), len(qrFile.Data), img.Bounds().Dx(), img.Bounds().Dy())
}

func TestSendAuth(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	const user, password = "mailer", "correct-horse-battery"
	srv := startSMTPServer(t, user+":"+password)
	reg := testRegistration(t, "alice@example.org")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	wrong := srv.Config()
	wrong.Username, wrong.Password = user, "wrong-password-here"
	err := Send(ctx, wrong, reg)
	checkSendError(t, err, KindAuth, "the SMTP server refused the username or password", false, reg.JWT, wrong.Password)

	none := srv.Config()
	err = Send(ctx, none, reg)
	checkSendError(t, err, KindAuth, fmt.Sprintf("the SMTP server 127.0.0.1:%d requires a login: set IDCON_SMTP_USER and IDCON_SMTP_PASSWORD", srv.Port), false, reg.JWT)

	if n := len(srv.Messages(t)); n != 0 {
		t.Fatalf("the server accepted %d messages without a valid login", n)
	}
	right := srv.Config()
	right.Username, right.Password = user, password
	if err := Send(ctx, right, reg); err != nil {
		t.Fatalf("Send with the right password: %v", err)
	}
	if n := len(srv.Messages(t)); n != 1 {
		t.Fatalf("the server received %d messages; want 1", n)
	}
}

func TestSendRecipientRejected(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	srv := startSMTPServer(t, "")
	reg := testRegistration(t, "rejected@example.org")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := Send(ctx, srv.Config(), reg)
	want := fmt.Sprintf("the SMTP server 127.0.0.1:%d refused the recipient rejected@example.org: 550 5.1.1 <rejected@example.org>: mailbox unavailable", srv.Port)
	se := checkSendError(t, err, KindRecipient, want, false, reg.JWT)
	if se.MaybeSent {
		t.Error("MaybeSent after a refused recipient")
	}
	if n := len(srv.Messages(t)); n != 0 {
		t.Errorf("the server stored %d messages", n)
	}
}

func TestSendConnectionRefused(t *testing.T) {
	port := closedPort(t)
	c := SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "idcon@example.org"}
	reg := testRegistration(t, "alice@example.org")
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := Send(ctx, c, reg)
	checkSendError(t, err, KindUnreachable, "could not reach the SMTP server 127.0.0.1:"+strconv.Itoa(port)+": connection refused", false, reg.JWT)
}

// A server that accepts the connection and never answers: the context's
// deadline ends the attempt, and nothing was sent.
func TestSendTimeoutBeforeGreeting(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	port := silentServer(t)
	c := SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "idcon@example.org"}
	reg := testRegistration(t, "alice@example.org")
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := Send(ctx, c, reg)
	se := checkSendError(t, err, KindTimeout, "the SMTP server 127.0.0.1:"+strconv.Itoa(port)+" did not answer in time", false, reg.JWT)
	if se.MaybeSent {
		t.Error("MaybeSent before the greeting")
	}
}

// The server takes the whole message and then does not answer: the
// message may have arrived, and the error says so. (The deadline leaves
// ample time for the exchange before the message: it takes milliseconds.)
func TestSendTimeoutAfterData(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	srv := startSMTPServer(t, "")
	reg := testRegistration(t, "slow@example.org")
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Second)
	defer cancel()
	err := Send(ctx, srv.Config(), reg)
	se := checkSendError(t, err, KindTimeout, fmt.Sprintf("the SMTP server 127.0.0.1:%d did not answer in time; the message may have been delivered", srv.Port), true, reg.JWT)
	if !se.MaybeSent {
		t.Error("MaybeSent is false after the message was written")
	}
}

// TLS is verified against the system's roots: a self-signed certificate is
// refused, with STARTTLS and with TLS from the start alike, before anything
// (the password included) is sent.
func TestSendVerifiesTLSCertificate(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	for _, mode := range []string{"implicit", "starttls"} {
		srv := startTLSSMTPServer(t, mode)
		c := srv.Config()
		c.TLS = map[string]string{"implicit": TLSImplicit, "starttls": TLSStartTLS}[mode]
		c.Username, c.Password = "mailer", "correct-horse-battery"
		reg := testRegistration(t, "alice@example.org")
		ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
		err := Send(ctx, c, reg)
		cancel()
		want := fmt.Sprintf("could not set up TLS with the SMTP server 127.0.0.1:%d: ", srv.Port)
		se := checkSendError(t, err, KindTLS, want, true, reg.JWT, c.Password)
		if !strings.Contains(se.Error(), "certificate") {
			t.Errorf("%s: %q does not say the certificate is the problem", mode, se.Error())
		}
		if n := len(srv.Messages(t)); n != 0 {
			t.Errorf("%s: the server stored %d messages", mode, n)
		}
	}
}

// A server without STARTTLS is not used in clear when STARTTLS was asked
// for.
func TestSendRequiresSTARTTLS(t *testing.T) {
	t.Parallel() // a server or decoder process each: they overlap (make mutate runs the package per mutant)
	srv := startSMTPServer(t, "")
	c := srv.Config()
	c.TLS = TLSStartTLS
	err := Send(t.Context(), c, testRegistration(t, "alice@example.org"))
	checkSendError(t, err, KindTLS, fmt.Sprintf("the SMTP server 127.0.0.1:%d does not offer STARTTLS: ", srv.Port), true)
	if n := len(srv.Messages(t)); n != 0 {
		t.Errorf("the server stored %d messages", n)
	}
}

func TestSendCanceled(t *testing.T) {
	c := SMTPConfig{Host: "127.0.0.1", Port: closedPort(t), TLS: TLSNone, From: "idcon@example.org"}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := Send(ctx, c, testRegistration(t, "alice@example.org"))
	checkSendError(t, err, KindCanceled, "sending the email was cancelled", false)
}

// Bad settings and a bad registration are reported before any connection:
// the port is closed, so a connection attempt would say "could not reach".
func TestSendChecksBeforeConnecting(t *testing.T) {
	port := closedPort(t)
	good := SMTPConfig{Host: "127.0.0.1", Port: port, TLS: TLSNone, From: "idcon@example.org"}
	ctx := t.Context()

	err := Send(ctx, SMTPConfig{}, testRegistration(t, "alice@example.org"))
	if !errors.Is(err, ErrSMTPConfig) || err.Error() != "no SMTP server configured: set IDCON_SMTP_HOST and IDCON_SMTP_FROM (or smtp: in the config file)" {
		t.Errorf("no host: %v", err)
	}
	for _, to := range []string{"", "not an address", "Alice <alice@example.org>", "a@b.org, c@d.org", "x@y.org\r\nBcc: z@w.org"} {
		err := Send(ctx, good, testRegistration(t, to))
		var se *SendError
		if err == nil || errors.As(err, &se) {
			t.Errorf("recipient %q: %v; want a refusal before connecting", to, err)
		}
	}
	reg := testRegistration(t, "alice@example.org")
	reg.JWT = ""
	if err := Send(ctx, good, reg); err == nil || !strings.Contains(err.Error(), "no token") {
		t.Errorf("no token: %v", err)
	}
	reg = testRegistration(t, "alice@example.org")
	reg.ExpiresAt = time.Time{}
	if err := Send(ctx, good, reg); err == nil || !strings.Contains(err.Error(), "expiry") {
		t.Errorf("no expiry: %v", err)
	}
}

func TestSMTPFromEnv(t *testing.T) {
	base := SMTPConfig{Host: "file.example.org", Port: 2525, TLS: TLSStartTLS, Username: "fileuser", Password: "filepass", From: "file@example.org"}
	env := func(m map[string]string) func(string) string {
		return func(k string) string { return m[k] }
	}
	got, err := SMTPFromEnv(base, env(nil))
	if err != nil || got != base {
		t.Errorf("no variables: %+v, %v; want the base unchanged", got, err)
	}
	got, err = SMTPFromEnv(base, env(map[string]string{
		EnvSMTPHost: " smtp.example.org ", EnvSMTPPort: "465", EnvSMTPTLS: "TLS",
		EnvSMTPUser: "u", EnvSMTPPassword: " p w ", EnvSMTPFrom: "idcon@example.org",
	}))
	want := SMTPConfig{Host: "smtp.example.org", Port: 465, TLS: TLSImplicit, Username: "u", Password: " p w ", From: "idcon@example.org"}
	if err != nil || got != want {
		t.Errorf("all variables: %+v, %v; want %+v", got, err, want)
	}
	got, err = SMTPFromEnv(base, env(map[string]string{EnvSMTPHost: "other.example.org"}))
	if err != nil || got.Host != "other.example.org" || got.Port != 2525 || got.Username != "fileuser" {
		t.Errorf("host only: %+v, %v", got, err)
	}
	for k, v := range map[string]string{EnvSMTPPort: "smtp", EnvSMTPTLS: "ssl"} {
		_, err := SMTPFromEnv(base, env(map[string]string{k: v}))
		if !errors.Is(err, ErrSMTPConfig) || !strings.HasPrefix(err.Error(), k+" is ") {
			t.Errorf("%s=%s: %v", k, v, err)
		}
	}
	if _, err := SMTPFromEnv(base, env(map[string]string{EnvSMTPPort: "70000"})); err == nil {
		t.Error("port 70000 accepted")
	}
}

func TestSMTPConfigValidate(t *testing.T) {
	ok := SMTPConfig{Host: "smtp.example.org", From: "idcon@example.org"}
	if err := ok.Validate(); err != nil {
		t.Errorf("minimal config: %v", err)
	}
	cases := []struct {
		name   string
		change func(*SMTPConfig)
		wantIn string
	}{
		{"no host", func(c *SMTPConfig) { c.Host = "" }, "no SMTP server configured: set IDCON_SMTP_HOST and IDCON_SMTP_FROM (or smtp: in the config file)"},
		{"host with port", func(c *SMTPConfig) { c.Host = "smtp.example.org:587" }, "the port goes in IDCON_SMTP_PORT"},
		{"no from", func(c *SMTPConfig) { c.From = "" }, "set IDCON_SMTP_FROM"},
		{"bad from", func(c *SMTPConfig) { c.From = "idcon" }, "not an email address"},
		{"bad tls", func(c *SMTPConfig) { c.TLS = "ssl" }, "use none, starttls or tls"},
		{"bad port", func(c *SMTPConfig) { c.Port = 70000 }, "not a port"},
		{"user without password", func(c *SMTPConfig) { c.Username = "u" }, "set IDCON_SMTP_PASSWORD"},
		{"password without user", func(c *SMTPConfig) { c.Password = "p" }, "set IDCON_SMTP_USER"},
		{"password in clear", func(c *SMTPConfig) { c.Username, c.Password, c.TLS = "u", "p", TLSNone }, "without encryption"},
	}
	for _, tc := range cases {
		c := ok
		tc.change(&c)
		err := c.Validate()
		if !errors.Is(err, ErrSMTPConfig) || !strings.Contains(err.Error(), tc.wantIn) {
			t.Errorf("%s: %v; want %q", tc.name, err, tc.wantIn)
		}
	}
	// Allowed: a display-name sender, IPv6 literal, plain login to loopback.
	for _, c := range []SMTPConfig{
		{Host: "smtp.example.org", From: "Network admin <idcon@example.org>"},
		{Host: "::1", From: "idcon@example.org"},
		{Host: "localhost", TLS: TLSNone, Username: "u", Password: "p", From: "idcon@example.org"},
	} {
		if err := c.Validate(); err != nil {
			t.Errorf("%v: %v", c, err)
		}
	}
}

func TestSMTPConfigDefaultsAndSecrecy(t *testing.T) {
	cases := []struct {
		c    SMTPConfig
		addr string
		mode string
	}{
		{SMTPConfig{Host: "h"}, "h:587", TLSStartTLS},
		{SMTPConfig{Host: "h", TLS: TLSNone}, "h:25", TLSNone},
		{SMTPConfig{Host: "h", TLS: TLSImplicit}, "h:465", TLSImplicit},
		{SMTPConfig{Host: "h", Port: 465}, "h:465", TLSImplicit},
		{SMTPConfig{Host: "::1", Port: 2525}, "[::1]:2525", TLSStartTLS},
	}
	for _, tc := range cases {
		if tc.c.Addr() != tc.addr || tc.c.tlsMode() != tc.mode {
			t.Errorf("%+v: %s %s; want %s %s", tc.c, tc.c.Addr(), tc.c.tlsMode(), tc.addr, tc.mode)
		}
	}
	c := SMTPConfig{Host: "h", Username: "u", Password: "s3cret-pass", From: "f@example.org"}
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c)} {
		if strings.Contains(s, "s3cret-pass") {
			t.Errorf("the password shows in %q", s)
		}
	}
}

func TestBuildMessageEscapesNames(t *testing.T) {
	reg := testRegistration(t, "alice@example.org")
	reg.IdentityName = "<img src=x onerror=alert(1)>\r\nBcc: evil@example.org"
	reg.NetworkName = "net&<b>"
	msg, err := BuildMessage(reg, "idcon@example.org")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, err := msg.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	m := parseMail(t, buf.Bytes())
	if bcc := m.Header.Get("Bcc"); bcc != "" {
		t.Errorf("a name injected the header Bcc: %q", bcc)
	}
	if strings.ContainsAny(m.Subject, "\r\n") || !strings.HasPrefix(m.Subject, "Enroll <img") {
		t.Errorf("Subject %q", m.Subject)
	}
	if strings.Contains(m.HTML, "<img") || strings.Contains(m.HTML, "<b>") {
		t.Error("the HTML part holds the names unescaped")
	}
	if !strings.Contains(m.HTML, "&lt;img src=x onerror=alert(1)&gt;") || !strings.Contains(m.HTML, "net&amp;&lt;b&gt;") {
		t.Error("the HTML part lacks the escaped names")
	}
	if !strings.Contains(m.Plain, "<img src=x onerror=alert(1)>") {
		t.Error("the text part lacks the name as typed")
	}
	if _, ok := m.Attachments[SafeFileName(reg.IdentityName)]; !ok {
		t.Errorf("no attachment named %q: %v", SafeFileName(reg.IdentityName), m.Attachments)
	}
	if _, err := BuildMessage(reg, "not a sender"); !errors.Is(err, ErrSMTPConfig) {
		t.Errorf("bad sender: %v", err)
	}
}

func TestFormatExpiry(t *testing.T) {
	at := time.Date(2030, 7, 1, 22, 30, 0, 0, time.UTC)
	cases := []struct {
		loc  *time.Location
		want string
	}{
		{nil, "Monday 1 July 2030 at 22:30 UTC"},
		{time.UTC, "Monday 1 July 2030 at 22:30 UTC"},
		{time.FixedZone("PDT", -7*3600), "Monday 1 July 2030 at 15:30 PDT (UTC-07:00)"},
		{time.FixedZone("NZST", 12*3600), "Tuesday 2 July 2030 at 10:30 NZST (UTC+12:00)"},
	}
	for _, c := range cases {
		if got := formatExpiry(at, c.loc); got != c.want {
			t.Errorf("formatExpiry in %v = %q, want %q", c.loc, got, c.want)
		}
	}
}

func TestSendErrorKindString(t *testing.T) {
	if KindRecipient.String() != "recipient" || SendErrorKind(99).String() != "kind(99)" {
		t.Errorf("kind names: %s %s", KindRecipient, SendErrorKind(99))
	}
}
