package ui

import (
	"bytes"
	"fmt"
	"image/png"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/delivery/qrtest"
	"github.com/idcon/idcon/delivery/smtptest"
	"github.com/idcon/idcon/model"
)

func smtpFor(srv *smtptest.Server) delivery.SMTPConfig {
	return delivery.SMTPConfig{Host: "127.0.0.1", Port: srv.Port, TLS: delivery.TLSNone, From: "idcon <idcon@example.org>"}
}

// checkRegistration checks one received email: recipient, subject, the
// .jwt attachment holding exactly the token, and the PNG decoding to it.
func checkRegistration(t *testing.T, m smtptest.Message, to, subject, file, token string) {
	t.Helper()
	if !slices.Equal(m.RcptTos, []string{to}) {
		t.Errorf("sent to %v, want %s", m.RcptTos, to)
	}
	mail, err := smtptest.Parse(m.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if mail.Subject != subject {
		t.Errorf("subject %q, want %q", mail.Subject, subject)
	}
	if a, ok := mail.Attachments[file+".jwt"]; !ok || string(a.Data) != token {
		t.Errorf("%s.jwt: attached %v, equal to the token %v", file, ok, string(a.Data) == token)
	}
	a, ok := mail.Attachments[file+"-qr.png"]
	if !ok {
		t.Fatalf("no %s-qr.png attached: %v", file, mail.Attachments)
	}
	img, err := png.Decode(bytes.NewReader(a.Data))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := qrtest.DecodeImage(img); err != nil || got != token {
		t.Errorf("the PNG decodes to the token: %v (err %v)", got == token, err)
	}
	noToken(t, token, mail.Plain, mail.HTML)
}

func TestSendRegistrationEmail(t *testing.T) {
	w := newStoreWorld(t)
	srv := smtptest.Start(t, smtptest.Options{})
	audited := &auditedBackend{Backend: w.store}
	opts := w.options(audited)
	opts.SMTP = smtpFor(srv)
	hs := newHarness(t, opts, 100, 30)
	hs.openByName("laptop-alice")
	hs.press("m")
	d, ok := hs.app.dialog.(*emailDialog)
	if !ok || d.input.Value() != "alice@example.org" {
		t.Fatalf("m opened %T", hs.app.dialog)
	}
	hs.press("enter")
	if hs.app.dialog != nil || lastToast(t, hs).text != "Registration email sent to alice@example.org" {
		t.Fatalf("dialog %T, toasts %q", hs.app.dialog, toastTexts(hs))
	}
	msgs := srv.Messages(t)
	if len(msgs) != 1 {
		t.Fatalf("%d messages received", len(msgs))
	}
	checkRegistration(t, msgs[0], "alice@example.org", "Enroll laptop-alice on network acme", "laptop-alice", w.token)
	if !slices.Equal(audited.purposes, []model.Action{model.ActionEmail}) || len(audited.records) != 1 ||
		!strings.HasSuffix(audited.records[0], `""`) {
		t.Fatalf("audit: purposes %v, records %q", audited.purposes, audited.records)
	}

	// The address can be changed, and is checked first.
	hs.press("m", "ctrl+u", "enter")
	d = hs.app.dialog.(*emailDialog)
	if d.errMsg != "Type the address to send the email to: laptop-alice has none." {
		t.Fatalf("empty address: %q", d.errMsg)
	}
	hs.typeText("not an address")
	hs.press("enter")
	if d.errMsg != `"not an address" is not an email address: use the form name@example.org.` || !strings.Contains(flat(ansi.Strip(d.View())), "is not an email address") {
		t.Fatalf("bad address: %q", d.errMsg)
	}
	hs.press("ctrl+u")
	hs.typeText("bob@example.org")
	hs.press("enter")
	if lastToast(t, hs).text != "Registration email sent to bob@example.org" {
		t.Fatalf("toasts %q", toastTexts(hs))
	}
	msgs = srv.Messages(t)
	if len(msgs) != 2 {
		t.Fatalf("%d messages received, want 2", len(msgs))
	}
	checkRegistration(t, msgs[1], "bob@example.org", "Enroll laptop-alice on network acme", "laptop-alice", w.token)
	noToken(t, w.token, append(toastTexts(hs), hs.screen())...)
}

// While the email is on its way, enter sends nothing more.
func TestSendEmailIgnoresASecondEnter(t *testing.T) {
	w := newStoreWorld(t)
	srv := smtptest.Start(t, smtptest.Options{})
	opts := w.options(nil)
	opts.SMTP = smtpFor(srv)
	hs := newHarness(t, opts, 100, 30)
	hs.openByName("laptop-alice")
	hs.press("m")
	_, cmd := hs.app.Update(keyMsg("enter"))
	_, send := hs.app.Update(cmd()) // emailRequestedMsg: the send starts
	if !hs.app.busy() || !strings.Contains(hs.screen(), "Sending to alice@example.org…") {
		t.Fatalf("no progress shown:\n%s", hs.screen())
	}
	for _, k := range []string{"enter", "r", "y", "esc"} {
		if _, again := hs.app.Update(keyMsg(k)); again != nil {
			if _, ok := again().(emailRequestedMsg); ok {
				t.Fatalf("%s while sending asked for another send", k)
			}
		}
	}
	hs.run(send)
	if n := len(srv.Messages(t)); n != 1 {
		t.Fatalf("%d messages received, want 1", n)
	}
}

func TestSendEmailFailures(t *testing.T) {
	w := newStoreWorld(t)

	t.Run("wrong credentials", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{Auth: "mailer:correct-horse-battery"})
		audited := &auditedBackend{Backend: w.store}
		opts := w.options(audited)
		opts.SMTP = smtpFor(srv)
		opts.SMTP.Username = "mailer"
		// The password comes from the environment, as in real use.
		opts.Getenv = func(k string) string {
			return map[string]string{delivery.EnvSMTPPassword: "wrong-password-here"}[k]
		}
		hs := newHarness(t, opts, 100, 30)
		hs.openByName("laptop-alice")
		hs.press("m", "enter")
		d := hs.app.dialog.(*emailDialog)
		want := "The email was not sent: the SMTP server refused the username or password."
		if d.state != stateFailed || d.errMsg != want || !strings.Contains(flat(ansi.Strip(d.View())), want) {
			t.Fatalf("state %v, %q:\n%s", d.state, d.errMsg, hs.screen())
		}
		if got := enabledKeys(d); !slices.Equal(got, []string{"r", "e", "esc"}) {
			t.Fatalf("keys %v", got)
		}
		// r tries again, at once: nothing reached the server before.
		hs.press("r")
		if d.state != stateFailed || len(audited.purposes) != 2 {
			t.Fatalf("retry: state %v, %d fetches", d.state, len(audited.purposes))
		}
		if n := len(srv.Messages(t)); n != 0 {
			t.Fatalf("%d messages accepted", n)
		}
		for _, r := range audited.records {
			if !strings.Contains(r, "refused the username or password") {
				t.Fatalf("audit record %q", r)
			}
			noToken(t, w.token, r)
		}
		hs.press("e")
		if d.state != stateEdit || !hs.app.typing() {
			t.Fatal("e did not return to the address")
		}
		noToken(t, w.token, hs.screen())
	})

	t.Run("connection refused", func(t *testing.T) {
		port := smtptest.ClosedPort(t)
		opts := w.options(nil)
		opts.SMTP = delivery.SMTPConfig{Host: "127.0.0.1", Port: port, TLS: delivery.TLSNone, From: "idcon@example.org"}
		hs := newHarness(t, opts, 100, 30)
		hs.openByName("laptop-alice")
		hs.press("m", "enter")
		d := hs.app.dialog.(*emailDialog)
		want := fmt.Sprintf("The email was not sent: could not reach the SMTP server 127.0.0.1:%d: connection refused.", port)
		if d.errMsg != want || !strings.Contains(flat(ansi.Strip(d.View())), want) {
			t.Fatalf("%q, want %q:\n%s", d.errMsg, want, hs.screen())
		}
		hs.press("esc")
		if hs.app.dialog != nil {
			t.Fatal("esc did not close")
		}
	})

	t.Run("not configured", func(t *testing.T) {
		hs := newHarness(t, w.options(nil), 100, 30)
		hs.openByName("laptop-alice")
		hs.press("m")
		want := "Registration emails are not set up: no SMTP server configured: set IDCON_SMTP_HOST and IDCON_SMTP_FROM (or smtp: in the config file)."
		if hs.app.dialog != nil || lastToast(t, hs).text != want || lastToast(t, hs).kind != toastProblem {
			t.Fatalf("dialog %T, toasts %q", hs.app.dialog, toastTexts(hs))
		}
	})

	t.Run("configured by the environment alone", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		opts := w.options(nil)
		env := map[string]string{
			delivery.EnvSMTPHost: "127.0.0.1", delivery.EnvSMTPPort: fmt.Sprint(srv.Port),
			delivery.EnvSMTPTLS: "none", delivery.EnvSMTPFrom: "idcon@example.org",
		}
		opts.Getenv = func(k string) string { return env[k] }
		hs := newHarness(t, opts, 100, 30)
		hs.openByName("laptop-alice")
		hs.press("m", "enter")
		if n := len(srv.Messages(t)); n != 1 {
			t.Fatalf("%d messages; toasts %q", n, toastTexts(hs))
		}
	})

	// The server takes the message and never answers: it may have it, so
	// r asks before sending again.
	t.Run("maybe sent", func(t *testing.T) {
		srv := smtptest.Start(t, smtptest.Options{})
		opts := w.options(nil)
		opts.SMTP = smtpFor(srv)
		opts.SendTimeout = time.Second
		hs := newHarness(t, opts, 100, 30)
		hs.openByName("laptop-alice")
		hs.press("m", "ctrl+u")
		hs.typeText("slow@example.org")
		hs.press("enter")
		d := hs.app.dialog.(*emailDialog)
		if d.state != stateFailed || !d.maybeSent || !strings.Contains(d.errMsg, "the message may have been delivered") {
			t.Fatalf("state %v maybeSent %v %q", d.state, d.maybeSent, d.errMsg)
		}
		hs.press("r")
		if d.state != stateAsk || !strings.Contains(flat(ansi.Strip(d.View())), "the server may have received it: send again? y/n") {
			t.Fatalf("r did not ask:\n%s", hs.screen())
		}
		hs.press("n")
		if d.state != stateFailed {
			t.Fatalf("n: state %v", d.state)
		}
		hs.press("r")
		_, cmd := hs.app.Update(keyMsg("y"))
		if msg, ok := cmd().(emailRequestedMsg); !ok || msg.to != "slow@example.org" {
			t.Fatalf("y did not ask to send again: %T", msg)
		}
	})
}

// A result holding the token never prints it, however it is formatted.
func TestTokenNeverPrints(t *testing.T) {
	msg := downloadDoneMsg{seq: 1, path: "/x/a.jwt", Token: secret("eyJ.secret.token")}
	for _, s := range []string{fmt.Sprint(msg), fmt.Sprintf("%v %+v %#v %s", msg, msg, msg, msg.Token)} {
		if strings.Contains(s, "eyJ.secret.token") {
			t.Fatalf("the token prints: %s", s)
		}
	}
}

// Right after a reset the identity holds a new unused token: the
// deliveries are offered and work at once.
func TestDeliveriesRightAfterReset(t *testing.T) {
	hs, fb := demoHarness(t)
	hs.openByName("laptop-alice")
	hs.press("c")
	if hs.app.dialog != nil || len(fb.callsWith("TokenJWT")) != 0 {
		t.Fatal("c worked on an enrolled identity")
	}
	hs.press("r", "enter", "y")
	hs.press("c")
	if _, ok := hs.app.dialog.(*qrView); !ok {
		t.Fatalf("c after the reset opened %T", hs.app.dialog)
	}
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != fakeToken("id-alice") {
		t.Fatalf("after the reset the code is not the new token: %v", err)
	}
}
