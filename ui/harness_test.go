package ui

import (
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"charm.land/bubbles/v2/spinner"
	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/x/ansi"

	"github.com/idcon/idcon/model"
)

// The tests' fixed world: Tuesday 2 June 2026, 10:00 UTC, admin in UTC+2.
var (
	testNow = time.Date(2026, 6, 2, 10, 0, 0, 0, time.UTC)
	testLoc = time.FixedZone("CEST", 2*60*60)
)

func testOptions(b *fakeBackend) Options {
	return Options{
		Backend:  b,
		Now:      func() time.Time { return testNow },
		Location: testLoc,
		Policy:   model.ExpiryPolicy{Max: 90 * 24 * time.Hour},
		NoColor:  true,
	}
}

func days(n int) time.Duration { return time.Duration(n) * 24 * time.Hour }

// demoIdentities holds every state, a wide-character name and a combining
// character, so alignment and colours are exercised.
func demoIdentities() []model.Identity {
	enr := func(exp time.Time) *model.Enrollment {
		return &model.Enrollment{ID: "enr", CreatedAt: testNow.Add(-days(30)), ExpiresAt: exp}
	}
	ids := []model.Identity{
		{ID: "id-alice", Name: "laptop-alice", Email: "alice@example.org", Attributes: []string{"#laptops", "#eng"},
			CreatedAt: testNow.Add(-days(120)), EnrolledAt: testNow.Add(-days(80)), HasCredential: true, ActiveSessions: 2},
		{ID: "id-bob", Name: "phone-bob", Email: "bob@example.org", CreatedAt: testNow.Add(-days(3)),
			Enrollment: enr(testNow.Add(days(5)))},
		{ID: "id-carol", Name: "tablet-carol", Email: "carol@example.org", CreatedAt: testNow.Add(-days(40)),
			Enrollment: enr(testNow.Add(-days(13)))},
		{ID: "id-dave", Name: "printer-dave", CreatedAt: testNow.Add(-days(200)), EnrolledAt: testNow.Add(-days(190))},
		{ID: "id-wide", Name: "ワークステーション-7", Email: "zoe\u0308@example.org", CreatedAt: testNow.Add(-days(10)),
			HasCredential: true, EnrolledAt: testNow.Add(-days(9)), ActiveSessions: 1},
	}
	for i := 1; i <= 20; i++ {
		ids = append(ids, model.Identity{ID: "id-srv" + pad2(i), Name: "server-" + pad2(i), Email: "ops@example.org",
			CreatedAt: testNow.Add(-days(300)), EnrolledAt: testNow.Add(-days(299)), HasCredential: true, ActiveSessions: i % 3})
	}
	return ids
}

func pad2(i int) string { return string([]byte{byte('0' + i/10), byte('0' + i%10)}) }

func demoBackend() *fakeBackend {
	fb := newFakeBackend(testNow)
	fb.addNetwork(model.Network{ID: "net-acme", Name: "Acme production", Kind: "fake"}, demoIdentities()...)
	return fb
}

// harness drives the root model without a terminal: it runs the commands
// Update returns, feeds their messages back, and holds timers until the
// test fires them.
type harness struct {
	t      *testing.T
	app    *App
	timers []tea.Msg
	quit   bool
	// clipboard holds what the console asked the terminal to put on the
	// clipboard (tea.SetClipboard's messages), which a program would write
	// as OSC 52.
	clipboard []tea.Msg
	// raw is what the console wrote to the terminal past the renderer
	// (tea.Raw: the QR code's images and its terminal queries).
	raw []string
}

func newHarness(t *testing.T, opts Options, w, h int) *harness {
	t.Helper()
	hs := &harness{t: t, app: New(opts).(*App)}
	hs.app.s.tick = func(_ time.Duration, fn func(time.Time) tea.Msg) tea.Cmd {
		return func() tea.Msg {
			hs.timers = append(hs.timers, fn(testNow))
			return nil
		}
	}
	hs.run(hs.app.Init())
	hs.send(tea.WindowSizeMsg{Width: w, Height: h})
	return hs
}

// send delivers msg and everything that follows from it.
func (hs *harness) send(msg tea.Msg) {
	hs.t.Helper()
	_, cmd := hs.app.Update(msg)
	hs.run(cmd)
}

func (hs *harness) run(cmd tea.Cmd) {
	if cmd == nil {
		return
	}
	switch msg := cmd().(type) {
	case nil:
	case tea.BatchMsg:
		for _, c := range msg {
			hs.run(c)
		}
	case spinner.TickMsg:
		// The spinner's next frame would come from a real timer: the
		// frame shown in goldens stays the first.
	case tea.QuitMsg:
		hs.quit = true
	case tea.RawMsg:
		hs.raw = append(hs.raw, fmt.Sprint(msg.Msg))
	default:
		if v := reflect.ValueOf(msg); v.Kind() == reflect.Slice && v.Type().Elem() == reflect.TypeOf(tea.Cmd(nil)) {
			// tea.Sequence's message: its commands, in order.
			for i := range v.Len() {
				hs.run(v.Index(i).Interface().(tea.Cmd))
			}
			return
		}
		if reflect.TypeOf(msg).String() == "tea.setClipboardMsg" {
			hs.clipboard = append(hs.clipboard, msg)
			return
		}
		hs.send(msg)
	}
}

// fireTimers delivers the timers that have been set, oldest first.
func (hs *harness) fireTimers() {
	ts := hs.timers
	hs.timers = nil
	for _, m := range ts {
		hs.send(m)
	}
}

// press sends keys: "j", "enter", "shift+tab", or text typed rune by rune
// with type_.
func (hs *harness) press(keys ...string) {
	hs.t.Helper()
	for _, k := range keys {
		hs.send(keyMsg(k))
	}
}

func (hs *harness) typeText(s string) {
	for _, r := range s {
		hs.send(tea.KeyPressMsg{Code: r, Text: string(r)})
	}
}

func keyMsg(k string) tea.KeyPressMsg {
	switch k {
	case "enter":
		return tea.KeyPressMsg{Code: tea.KeyEnter}
	case "esc":
		return tea.KeyPressMsg{Code: tea.KeyEscape}
	case "tab":
		return tea.KeyPressMsg{Code: tea.KeyTab}
	case "shift+tab":
		return tea.KeyPressMsg{Code: tea.KeyTab, Mod: tea.ModShift}
	case "up":
		return tea.KeyPressMsg{Code: tea.KeyUp}
	case "down":
		return tea.KeyPressMsg{Code: tea.KeyDown}
	case "left":
		return tea.KeyPressMsg{Code: tea.KeyLeft}
	case "right":
		return tea.KeyPressMsg{Code: tea.KeyRight}
	case "pgup":
		return tea.KeyPressMsg{Code: tea.KeyPgUp}
	case "pgdown":
		return tea.KeyPressMsg{Code: tea.KeyPgDown}
	case "home":
		return tea.KeyPressMsg{Code: tea.KeyHome}
	case "end":
		return tea.KeyPressMsg{Code: tea.KeyEnd}
	case "backspace":
		return tea.KeyPressMsg{Code: tea.KeyBackspace}
	case "space":
		return tea.KeyPressMsg{Code: tea.KeySpace, Text: " "}
	case "ctrl+c":
		return tea.KeyPressMsg{Code: 'c', Mod: tea.ModCtrl}
	case "ctrl+u":
		return tea.KeyPressMsg{Code: 'u', Mod: tea.ModCtrl}
	case "ctrl+r":
		return tea.KeyPressMsg{Code: 'r', Mod: tea.ModCtrl}
	}
	r := []rune(k)
	return tea.KeyPressMsg{Code: r[0], Text: k}
}

// screen is what the terminal shows, without colours, trailing blanks cut.
func (hs *harness) screen() string {
	v := hs.app.View()
	lines := strings.Split(ansi.Strip(v.Content), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " ")
	}
	return strings.Join(lines, "\n")
}

func (hs *harness) list() *identitiesScreen {
	hs.t.Helper()
	l, ok := hs.app.top().(*identitiesScreen)
	if !ok {
		hs.t.Fatalf("top screen is %T, want the identities list", hs.app.top())
	}
	return l
}

func (hs *harness) edit() *identityScreen {
	hs.t.Helper()
	v := hs.app.editing()
	if v == nil {
		hs.t.Fatalf("top screen is %T, want Edit Identity", hs.app.top())
	}
	return v
}

// openByName moves the list cursor to the named identity and opens it,
// filtering the list by the name first when it isn't on the page.
func (hs *harness) openByName(name string) {
	hs.t.Helper()
	for range 2 {
		l := hs.list()
		p := l.pages[l.pageStart()]
		for i, id := range p.items {
			if id.Name == name {
				l.cursor = l.pageStart() + i
				hs.press("enter")
				hs.edit()
				return
			}
		}
		hs.press("/")
		hs.typeText(name)
		hs.press("enter")
	}
	hs.t.Fatalf("%s is not in the list", name)
}

// cellIndex is the terminal column where sub starts in s.
func cellIndex(s, sub string) int {
	i := strings.Index(s, sub)
	if i < 0 {
		return -1
	}
	return ansi.StringWidth(s[:i])
}

// flat is the screen's words in one line: box borders dropped and
// whitespace collapsed, so wrapped sentences can be searched.
func flat(screen string) string {
	screen = strings.NewReplacer("│", " ", "╭", " ", "╮", " ", "╰", " ", "╯", " ", "─", " ").Replace(screen)
	return strings.Join(strings.Fields(screen), " ")
}
