package delivery

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// TLS modes of SMTPConfig.TLS.
const (
	TLSNone     = "none"     // plain SMTP; a password is only sent to a loopback server
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, which must succeed
	TLSImplicit = "tls"      // TLS from the first byte (SMTPS, usually port 465)
)

// DefaultSendTimeout bounds a Send whose context has no deadline.
const DefaultSendTimeout = 60 * time.Second

// qrAttachmentScale is the PNG's pixels a module: about 700 pixels square
// for a maximal token, sharp on a phone screen and on paper.
const qrAttachmentScale = 8

// Environment variables read by SMTPFromEnv.
const (
	EnvSMTPHost     = "IDCON_SMTP_HOST"
	EnvSMTPPort     = "IDCON_SMTP_PORT"
	EnvSMTPTLS      = "IDCON_SMTP_TLS"
	EnvSMTPUser     = "IDCON_SMTP_USER"
	EnvSMTPPassword = "IDCON_SMTP_PASSWORD"
	EnvSMTPFrom     = "IDCON_SMTP_FROM"
)

// ErrSMTPConfig is matched (errors.Is) by every error about the SMTP
// settings themselves, from SMTPFromEnv and Validate: the admin must change
// the configuration, a retry will not help.
var ErrSMTPConfig = errors.New("SMTP configuration")

// configError is a plain-words configuration error matching ErrSMTPConfig.
type configError struct{ msg string }

func (e *configError) Error() string        { return e.msg }
func (e *configError) Is(target error) bool { return target == ErrSMTPConfig }

func configErrorf(format string, args ...any) error {
	return &configError{msg: fmt.Sprintf(format, args...)}
}

// SMTPConfig says how to reach the SMTP server that sends registration
// emails. Its String and GoString never show the password.
type SMTPConfig struct {
	Host string
	// Port 0 means the usual port of the TLS mode: 25 (none), 587
	// (starttls), 465 (tls).
	Port int
	// TLS is none, starttls or tls; empty means starttls, or tls on port 465.
	TLS      string
	Username string
	Password string
	// From is the sender: "idcon@example.org" or "Network admin
	// <idcon@example.org>".
	From string
}

// SMTPFromEnv returns base (from the config file) with the IDCON_SMTP_*
// variables that getenv gives a non-empty value applied over it.
func SMTPFromEnv(base SMTPConfig, getenv func(string) string) (SMTPConfig, error) {
	c := base
	if v := strings.TrimSpace(getenv(EnvSMTPHost)); v != "" {
		c.Host = v
	}
	if v := strings.TrimSpace(getenv(EnvSMTPPort)); v != "" {
		p, err := strconv.Atoi(v)
		if err != nil || p < 1 || p > 65535 {
			return base, configErrorf("%s is %q: use a port number such as 587", EnvSMTPPort, safetext.Line(v, 40))
		}
		c.Port = p
	}
	if v := strings.ToLower(strings.TrimSpace(getenv(EnvSMTPTLS))); v != "" {
		if v != TLSNone && v != TLSStartTLS && v != TLSImplicit {
			return base, configErrorf("%s is %q: use none, starttls or tls", EnvSMTPTLS, safetext.Line(v, 40))
		}
		c.TLS = v
	}
	if v := strings.TrimSpace(getenv(EnvSMTPUser)); v != "" {
		c.Username = v
	}
	// A password may legitimately start or end with a space.
	if v := getenv(EnvSMTPPassword); v != "" {
		c.Password = v
	}
	if v := strings.TrimSpace(getenv(EnvSMTPFrom)); v != "" {
		c.From = v
	}
	return c, nil
}

// Validate says in plain words what is missing or wrong; every error
// matches ErrSMTPConfig.
func (c SMTPConfig) Validate() error {
	if strings.TrimSpace(c.Host) == "" {
		return configErrorf("no SMTP server configured: set %s and %s (or smtp: in the config file)", EnvSMTPHost, EnvSMTPFrom)
	}
	if strings.ContainsAny(c.Host, " /@") || (strings.Contains(c.Host, ":") && net.ParseIP(c.Host) == nil) {
		return configErrorf("the SMTP host %q is not a host name: give only the name (the port goes in %s)", safetext.Line(c.Host, 80), EnvSMTPPort)
	}
	if c.Port < 0 || c.Port > 65535 {
		return configErrorf("the SMTP port %d is not a port: use a number such as 587", c.Port)
	}
	switch strings.ToLower(c.TLS) {
	case "", TLSNone, TLSStartTLS, TLSImplicit:
	default:
		return configErrorf("the SMTP TLS mode %q is not known: use none, starttls or tls", safetext.Line(c.TLS, 40))
	}
	if strings.TrimSpace(c.From) == "" {
		return configErrorf("no sender address for emails: set %s (or smtp.from in the config file)", EnvSMTPFrom)
	}
	if _, err := netmail.ParseAddress(c.From); err != nil {
		return configErrorf("the sender address %q is not an email address: use the form idcon@example.org", safetext.Line(c.From, 80))
	}
	if c.Username == "" && c.Password != "" {
		return configErrorf("an SMTP password is set but no user name: set %s too", EnvSMTPUser)
	}
	if c.Username != "" && c.Password == "" {
		return configErrorf("an SMTP user name is set but no password: set %s too", EnvSMTPPassword)
	}
	if c.Username != "" && c.tlsMode() == TLSNone && !isLoopback(c.Host) {
		return configErrorf("refusing to send the SMTP password to %s without encryption: set %s=starttls or tls", safetext.Line(c.Host, 80), EnvSMTPTLS)
	}
	return nil
}

// tlsMode resolves an empty TLS setting.
func (c SMTPConfig) tlsMode() string {
	switch m := strings.ToLower(c.TLS); {
	case m != "":
		return m
	case c.Port == 465:
		return TLSImplicit
	default:
		return TLSStartTLS
	}
}

// port resolves Port 0 to the usual port of the TLS mode.
func (c SMTPConfig) port() int {
	if c.Port != 0 {
		return c.Port
	}
	switch c.tlsMode() {
	case TLSNone:
		return 25
	case TLSImplicit:
		return 465
	default:
		return 587
	}
}

// Addr is the server's host:port as it will be dialled.
func (c SMTPConfig) Addr() string {
	return net.JoinHostPort(c.Host, strconv.Itoa(c.port()))
}

// String describes the settings without the password.
func (c SMTPConfig) String() string {
	s := fmt.Sprintf("smtp %s tls=%s from=%s", c.Addr(), c.tlsMode(), c.From)
	if c.Username != "" {
		s += " user=" + c.Username + " password=[hidden]"
	}
	return s
}

// GoString keeps %#v from printing the password.
func (c SMTPConfig) GoString() string { return "delivery.SMTPConfig{" + c.String() + "}" }

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Registration is what a registration email carries.
type Registration struct {
	To           string // the user's address: a plain name@example.org
	IdentityName string
	NetworkName  string
	JWT          string // the enrollment token: a secret
	ExpiresAt    time.Time
	// Location is the zone the expiry is written in; nil means UTC.
	Location *time.Location
}

// emailContent is what the templates see; every string is already clean.
type emailContent struct {
	Identity, Network string
	JWTFile, PNGFile  string
	Expiry            string
}

var plainTemplate = texttemplate.Must(texttemplate.New("plain").Parse(`Hello,

An enrollment token was issued for the identity "{{.Identity}}"{{if .Network}} on the network "{{.Network}}"{{end}}.

To enroll your device:

1. Install the edge client: the desktop edge client on a computer
   (Windows, macOS, Linux), the mobile edge client on a phone or tablet
   (iOS, Android).
2. Add the identity: on a computer, add the attached file {{.JWTFile}}
   in the desktop client; on a phone, scan the attached code
   {{.PNGFile}} with the mobile client.

The token works once and expires on {{.Expiry}}.
After that, ask your administrator for a new one.

Keep the attachments private: until the token is used, whoever has them
can enroll as this identity.
`))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Enroll {{.Identity}}</title></head>
<body style="font-family: sans-serif; line-height: 1.4">
<p>Hello,</p>
<p>An enrollment token was issued for the identity <strong>{{.Identity}}</strong>{{if .Network}} on the network <strong>{{.Network}}</strong>{{end}}.</p>
<p>To enroll your device:</p>
<ol>
<li>Install the edge client: the desktop edge client on a computer (Windows, macOS, Linux), the mobile edge client on a phone or tablet (iOS, Android).</li>
<li>Add the identity: on a computer, add the attached file <code>{{.JWTFile}}</code> in the desktop client; on a phone, scan the attached code <code>{{.PNGFile}}</code> with the mobile client.</li>
</ol>
<p>The token works once and expires on <strong>{{.Expiry}}</strong>. After that, ask your administrator for a new one.</p>
<p>Keep the attachments private: until the token is used, whoever has them can enroll as this identity.</p>
</body>
</html>
`))

// BuildMessage builds the registration email from the sender from: a
// subject naming the identity and network, a plain-text and an HTML part
// with short instructions and the expiry (date, time and zone), and two
// attachments, "<name>.jwt" holding exactly the token and "<name>-qr.png"
// holding its QR code.
func BuildMessage(r Registration, from string) (*mail.Msg, error) {
	to := strings.TrimSpace(r.To)
	if to == "" {
		return nil, errors.New("no recipient address: give the user's email address")
	}
	if err := model.ValidateEmail(to); err != nil {
		return nil, err
	}
	identity := safetext.Clean(r.IdentityName)
	if strings.TrimSpace(identity) == "" {
		return nil, errors.New("the registration email needs the identity's name")
	}
	if r.JWT == "" {
		return nil, errors.New("there is no token to send")
	}
	if r.ExpiresAt.IsZero() {
		return nil, errors.New("the token's expiry time is missing")
	}
	sender, err := netmail.ParseAddress(from)
	if err != nil {
		return nil, configErrorf("the sender address %q is not an email address: use the form idcon@example.org", safetext.Line(from, 80))
	}
	network := safetext.Clean(r.NetworkName)
	stem := safeStem(r.IdentityName)
	content := emailContent{
		Identity: identity,
		Network:  network,
		JWTFile:  stem + ".jwt",
		PNGFile:  stem + "-qr.png",
		Expiry:   formatExpiry(r.ExpiresAt, r.Location),
	}
	var plain, html bytes.Buffer
	if err := plainTemplate.Execute(&plain, content); err != nil {
		return nil, fmt.Errorf("could not write the email text: %w", err)
	}
	if err := htmlTemplate.Execute(&html, content); err != nil {
		return nil, fmt.Errorf("could not write the email HTML: %w", err)
	}
	pngData, err := QRPNG(r.JWT, qrAttachmentScale)
	if err != nil {
		return nil, err
	}

	msg := mail.NewMsg()
	msg.FromMailAddress(sender)
	if err := msg.To(to); err != nil {
		return nil, fmt.Errorf("%q is not an email address: use the form name@example.org", safetext.Line(to, 80))
	}
	subject := "Enroll " + identity
	if network != "" {
		subject += " on network " + network
	}
	msg.Subject(subject)
	msg.SetMessageID()
	msg.SetDate()
	msg.SetBodyString(mail.TypeTextPlain, plain.String())
	msg.AddAlternativeString(mail.TypeTextHTML, html.String())
	// Octet-stream keeps mail clients from showing the token inline; the
	// edge clients go by the .jwt extension.
	msg.AttachReadSeeker(content.JWTFile, strings.NewReader(r.JWT), mail.WithFileContentType(mail.TypeAppOctetStream))
	msg.AttachReadSeeker(content.PNGFile, bytes.NewReader(pngData), mail.WithFileContentType(mail.ContentType("image/png")))
	return msg, nil
}

// formatExpiry writes t as "Monday 2 March 2026 at 14:05 CET (UTC+01:00)".
func formatExpiry(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	t = t.In(loc)
	s := t.Format("Monday 2 January 2006 at 15:04 MST")
	if zone, _ := t.Zone(); zone != "UTC" {
		s += t.Format(" (UTC-07:00)")
	}
	return s
}

// Send sends the registration email through the SMTP server: one attempt,
// bounded by ctx's deadline (DefaultSendTimeout when it has none). It never
// retries by itself, so nothing is sent twice by accident: callers retry
// only when the admin asks, after a *SendError (whose MaybeSent says whether
// the server may already have the message). Configuration and message
// problems are reported before any connection is made.
func Send(ctx context.Context, c SMTPConfig, r Registration) error {
	if err := c.Validate(); err != nil {
		return err
	}
	msg, err := BuildMessage(r, c.From)
	if err != nil {
		return err
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultSendTimeout)
		defer cancel()
	}
	deadline, _ := ctx.Deadline()
	remaining := time.Until(deadline)
	scrub := newScrubber(r.JWT, c.Password)
	if remaining <= 0 || ctx.Err() != nil {
		err := ctx.Err()
		if err == nil {
			err = context.DeadlineExceeded
		}
		return classifySendError(ctx, err, c, r, stageConnect, scrub)
	}

	mode := c.tlsMode()
	// go-mail applies its timeout to each step and the context only to the
	// dial; closing the connection when ctx ends makes ctx's deadline bound
	// the whole exchange.
	var stopClosers []func() bool
	defer func() {
		for _, stop := range stopClosers {
			stop()
		}
	}()
	dial := func(dctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		var err error
		d := &net.Dialer{}
		if mode == TLSImplicit {
			td := &tls.Dialer{NetDialer: d, Config: &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}}
			conn, err = td.DialContext(dctx, network, addr)
		} else {
			conn, err = d.DialContext(dctx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		stopClosers = append(stopClosers, context.AfterFunc(ctx, func() { conn.Close() }))
		return conn, nil
	}
	opts := []mail.Option{
		mail.WithPort(c.port()),
		mail.WithTimeout(remaining),
		mail.WithDialContextFunc(dial),
	}
	switch mode {
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	case TLSStartTLS:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	case TLSImplicit:
		// The dialer above does the TLS; WithSSL keeps go-mail from trying
		// STARTTLS on top of it.
		opts = append(opts, mail.WithSSL())
	}
	if c.Username != "" {
		opts = append(opts,
			mail.WithOpportunisticSMTPAuth(mail.SMTPAuthSCRAMSHA256, mail.SMTPAuthSCRAMSHA1,
				mail.SMTPAuthCramMD5, mail.SMTPAuthPlain, mail.SMTPAuthLogin),
			mail.WithUsername(c.Username), mail.WithPassword(c.Password))
	}
	client, err := mail.NewClient(c.Host, opts...)
	if err != nil {
		return configErrorf("cannot use the SMTP settings for %s: %s", c.Addr(), scrub(err.Error()))
	}
	// Connect, greet, STARTTLS and log in: nothing is sent yet.
	conn, err := client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return classifySendError(ctx, err, c, r, stageConnect, scrub)
	}
	// QUIT's outcome does not matter: the message was accepted or not.
	defer client.CloseWithSMTPClient(conn) //nolint:errcheck
	if stage, err := transmit(conn, msg); err != nil {
		return classifySendError(ctx, err, c, r, stage, scrub)
	}
	return nil
}

// transmit runs MAIL, RCPT and DATA once, and says at which stage it
// failed. It is go-mail's sendSingleMsg without what idcon does not use
// (DSN, DKIM, RSET), so that the stage, and with it whether the server may
// already hold the message, is known exactly.
func transmit(conn *smtp.Client, msg *mail.Msg) (sendStage, error) {
	from, err := msg.GetSender(false)
	if err != nil {
		return stageMail, err
	}
	rcpts, err := msg.GetRecipients()
	if err != nil {
		return stageRcpt, err
	}
	if err := conn.Mail(from); err != nil {
		return stageMail, err
	}
	for _, rcpt := range rcpts {
		if err := conn.Rcpt(rcpt); err != nil {
			return stageRcpt, err
		}
	}
	w, err := conn.Data()
	if err != nil {
		return stageData, err
	}
	if _, err := msg.WriteTo(w); err != nil {
		w.Close()
		return stageContent, err
	}
	// Close sends the final "." and reads the server's verdict.
	if err := w.Close(); err != nil {
		return stageDataEnd, err
	}
	return 0, nil
}
