package ui

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/delivery/qrtest"
	"github.com/idcon/idcon/delivery/smtptest"
	"github.com/idcon/idcon/model"
)

// storeWorld is the embedded SQLite backend in a temporary folder, holding
// the network "acme" and the pending identity laptop-alice with a real
// token.
type storeWorld struct {
	store   *embedded.Store
	network model.Network
	token   string // laptop-alice's
	now     time.Time
}

func newStoreWorld(t *testing.T) *storeWorld {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	store, err := embedded.Open(filepath.Join(t.TempDir(), "idcon.db"), embedded.Options{Now: clock, Policy: model.ExpiryPolicy{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	n, err := store.CreateNetwork(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	tok, err := store.CreateIdentity(ctx, n.ID, model.NewIdentity{Name: "laptop-alice", Email: "alice@example.org", ExpiresAt: now.Add(72 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	return &storeWorld{store: store, network: n, token: tok.JWT, now: now}
}

func (w *storeWorld) options(b backend.Backend) Options {
	if b == nil {
		b = w.store
	}
	return Options{Backend: b, Now: func() time.Time { return w.now }, Location: time.UTC, Policy: model.ExpiryPolicy{}}
}

// auditedBackend stands for backend/access: it hands out tokens through
// Token, naming the purpose, and records outcomes with Record.
type auditedBackend struct {
	backend.Backend
	mu       sync.Mutex
	purposes []model.Action
	records  []string
	refuse   error // returned by Token when set
}

func (a *auditedBackend) Token(ctx context.Context, network, id string, purpose model.Action) (string, error) {
	a.mu.Lock()
	a.purposes = append(a.purposes, purpose)
	refuse := a.refuse
	a.mu.Unlock()
	if refuse != nil {
		return "", refuse
	}
	return a.Backend.TokenJWT(ctx, network, id)
}

func (a *auditedBackend) Record(_ context.Context, _, id string, action model.Action, result string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.records = append(a.records, fmt.Sprintf("%s %s %q", action, id, result))
}

func (a *auditedBackend) TokenJWT(context.Context, string, string) (string, error) {
	panic("the console fetched a token without saying what for")
}

// noToken fails the test if text holds the token.
func noToken(t *testing.T, token string, texts ...string) {
	t.Helper()
	for _, s := range texts {
		if strings.Contains(s, token) {
			t.Fatalf("the token shows in %q", s)
		}
	}
}

func toastTexts(hs *harness) []string {
	var out []string
	for _, x := range hs.app.toasts.items {
		out = append(out, x.text)
	}
	return out
}

func lastToast(t *testing.T, hs *harness) toast {
	t.Helper()
	if len(hs.app.toasts.items) == 0 {
		t.Fatalf("no toast; screen:\n%s", hs.screen())
	}
	return hs.app.toasts.items[len(hs.app.toasts.items)-1]
}

// --- Show QR code ---

// TestQRViewDecodesToTheToken reads the QR code back from the text the
// console draws, on a 120×50 terminal, with a real token from the embedded
// backend: an independent decoder must get exactly the token.
func TestQRViewDecodesToTheToken(t *testing.T) {
	w := newStoreWorld(t)
	audited := &auditedBackend{Backend: w.store}
	hs := newHarness(t, w.options(audited), 120, 50)
	hs.openByName("laptop-alice")
	hs.press("c")
	v, ok := hs.app.dialog.(*qrView)
	if !ok {
		t.Fatalf("c opened %T; screen:\n%s", hs.app.dialog, hs.screen())
	}
	if !slices.Equal(audited.purposes, []model.Action{model.ActionQR}) {
		t.Fatalf("token fetched for %v, want qr", audited.purposes)
	}
	content := hs.app.View().Content
	checkFrame(t, hs, 120, 50)
	for _, c := range []struct {
		name    string
		text    string
		th      qrtest.Theme
		profile colorprofile.Profile
	}{
		{"24-bit on a dark theme", content, qrtest.DarkTheme, colorprofile.TrueColor},
		{"24-bit on a light theme", content, qrtest.LightTheme, colorprofile.TrueColor},
		{"256 colours on a dark theme", content, qrtest.DarkTheme, colorprofile.ANSI256},
		{"16 colours on a light theme", content, qrtest.LightTheme, colorprofile.ANSI},
	} {
		var buf bytes.Buffer
		cw := &colorprofile.Writer{Forward: &buf, Profile: c.profile}
		if _, err := cw.WriteString(c.text); err != nil {
			t.Fatal(err)
		}
		got, err := qrtest.Decode(buf.String(), c.th)
		if err != nil || got != w.token {
			t.Fatalf("%s: decoded %d bytes equal to the token: %v (err %v)", c.name, len(got), got == w.token, err)
		}
	}
	screen := hs.screen()
	exp := w.now.Add(72 * time.Hour)
	for _, want := range []string{"laptop-alice", "token expires " + fmtDateTime(exp, time.UTC) + " (in 3 days) · esc close"} {
		if !strings.Contains(screen, want) {
			t.Fatalf("screen lacks %q:\n%s", want, screen)
		}
	}
	noToken(t, w.token, screen)

	// Too small: the size needed, exactly, instead of a broken code; and
	// back once the terminal grows.
	q, err := delivery.QR(w.token)
	if err != nil {
		t.Fatal(err)
	}
	hs.send(tea.WindowSizeMsg{Width: 80, Height: 24})
	want := fmt.Sprintf("the QR code needs %d×%d; this terminal is 80×24: enlarge it or use Download JWT", q.Width, q.Height+1)
	if !strings.Contains(flat(hs.screen()), want) || strings.Contains(hs.screen(), "▀") {
		t.Fatalf("at 80×24 the screen is not %q:\n%s", want, hs.screen())
	}
	checkFrame(t, hs, 80, 24)
	// Just high enough (the console is never narrower than 80 columns):
	// the code and one line of text under it.
	hs.send(tea.WindowSizeMsg{Width: 80, Height: q.Height + 1})
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != w.token {
		t.Fatalf("at 80×%d the code does not decode: %v", q.Height+1, err)
	}
	if !strings.Contains(hs.screen(), "laptop-alice · half blocks · +/- form · token expires") {
		t.Fatalf("at 80×%d the line under the code is not the compact one:\n%s", q.Height+1, hs.screen())
	}
	checkFrame(t, hs, 80, q.Height+1)
	hs.send(tea.WindowSizeMsg{Width: 80, Height: q.Height})
	if !strings.Contains(flat(hs.screen()), fmt.Sprintf("needs %d×%d; this terminal is 80×%d", q.Width, q.Height+1, q.Height)) {
		t.Fatalf("one line short, the screen is:\n%s", hs.screen())
	}
	hs.send(tea.WindowSizeMsg{Width: 120, Height: 50})
	if v.out != content {
		t.Fatal("back at 120×50 the view differs from the first one")
	}

	hs.press("esc")
	if hs.app.dialog != nil {
		t.Fatalf("esc left %T open", hs.app.dialog)
	}
	hs.edit()
}

// Without colours the code is drawn by its glyphs: the variant whose ink
// is dark on the terminal's background.
func TestQRViewWithoutColours(t *testing.T) {
	w := newStoreWorld(t)
	opts := w.options(nil)
	opts.NoColor = true
	hs := newHarness(t, opts, 120, 50)
	hs.openByName("laptop-alice")
	hs.press("c")
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != w.token {
		t.Fatalf("NO_COLOR, dark background: %v", err)
	}
	if strings.Contains(hs.app.View().Content, "\x1b[38;2;0;0;0") {
		t.Fatal("NO_COLOR, yet the code is coloured")
	}
	hs.send(tea.BackgroundColorMsg{Color: lightGray{}})
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.LightTheme); err != nil || got != w.token {
		t.Fatalf("NO_COLOR, light background: %v", err)
	}
	// A terminal that shows no colours gets the same treatment.
	opts.NoColor = false
	hs = newHarness(t, opts, 120, 50)
	hs.send(tea.ColorProfileMsg{Profile: colorprofile.ASCII})
	hs.openByName("laptop-alice")
	hs.press("c")
	if got, err := qrtest.Decode(hs.app.View().Content, qrtest.DarkTheme); err != nil || got != w.token {
		t.Fatalf("ASCII profile: %v", err)
	}
}

func TestQRRefusedSaysWhy(t *testing.T) {
	w := newStoreWorld(t)
	audited := &auditedBackend{Backend: w.store, refuse: backend.Forbidden("viewers can't see QR codes")}
	hs := newHarness(t, w.options(audited), 100, 30)
	hs.openByName("laptop-alice")
	hs.press("c")
	if hs.app.dialog != nil || lastToast(t, hs).text != "Not allowed: viewers can't see QR codes." {
		t.Fatalf("dialog %T, toasts %q", hs.app.dialog, toastTexts(hs))
	}
	if v := hs.edit(); v.busy != "" {
		t.Fatalf("still busy: %q", v.busy)
	}
}

// An answer for an identity no longer on screen is dropped.
func TestQRAnswerAfterLeavingIsIgnored(t *testing.T) {
	hs, _ := demoHarness(t)
	hs.openByName("phone-bob")
	_, cmd := hs.app.Update(keyMsg("c"))
	_, cmd = hs.app.Update(cmd()) // actionRequestedMsg: the fetch starts
	hs.press("esc")               // back to the list meanwhile
	hs.run(cmd)
	if hs.app.dialog != nil {
		t.Fatalf("the QR code opened over the list: %T", hs.app.dialog)
	}
}

// --- Download JWT ---

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
