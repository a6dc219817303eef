package ui

import (
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/idcon/idcon/model"
)

// TestCreateOpensEditIdentityOnItsDeliveries: + opens the form; name,
// email and attributes typed, enter goes to the date picker, whose date
// creates the identity with exactly those; Edit Identity then shows it
// with its token's deliveries, the focus on one.
func TestCreateOpensEditIdentityOnItsDeliveries(t *testing.T) {
	fb := demoBackend()
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.press("+")
	if _, ok := hs.app.dialog.(*createDialog); !ok {
		t.Fatalf("+ opened %T:\n%s", hs.app.dialog, hs.screen())
	}
	if f := flat(hs.screen()); !strings.Contains(f, "Create identity in Acme production") || !strings.Contains(f, "Role attributes") {
		t.Fatalf("the form:\n%s", hs.screen())
	}
	hs.typeText("laptop-zed")
	hs.press("tab")
	hs.typeText("zed@example.org")
	hs.press("tab")
	hs.typeText("staff, laptops,")
	hs.press("enter")
	p, ok := hs.app.dialog.(*datePicker)
	if !ok {
		t.Fatalf("enter opened %T:\n%s", hs.app.dialog, hs.screen())
	}
	if !strings.Contains(hs.screen(), "Create identity laptop-zed") || !strings.Contains(hs.screen(), "Date enrollment expires") {
		t.Fatalf("the date picker:\n%s", hs.screen())
	}
	want := p.expiry(p.sel)
	if len(fb.callsWith("Create")) != 0 {
		t.Fatal("created before the date was chosen")
	}
	hs.press("enter")
	got := fb.callsWith("Create")
	wantCall := fmt.Sprintf("Create laptop-zed email=%q attrs=%q expires=%s", "zed@example.org", []string{"staff", "laptops"}, want.UTC().Format("2006-01-02T15:04:05Z07:00"))
	if !slices.Equal(got, []string{wantCall}) {
		t.Fatalf("calls %q, want %q", got, wantCall)
	}
	if hs.app.dialog != nil || hs.app.create.active() {
		t.Fatalf("the form is still open (%T)", hs.app.dialog)
	}
	v := hs.edit()
	if v.ident.Name != "laptop-zed" || v.ident.State(testNow) != model.StatePending {
		t.Fatalf("Edit Identity shows %q, %s", v.ident.Name, v.ident.State(testNow))
	}
	if a := v.actions[v.focus]; !a.Delivers() {
		t.Errorf("the focus is on %s, want a delivery", a)
	}
	screen := flat(hs.screen())
	for _, w := range []string{"Created laptop-zed", "Show QR code (c)", "Download JWT (j)", "Send registration email (m)", "staff, laptops"} {
		if !strings.Contains(screen, w) {
			t.Errorf("after create the screen lacks %q:\n%s", w, hs.screen())
		}
	}
	// Back on the list, the new identity is listed.
	hs.press("esc")
	if !strings.Contains(hs.screen(), "laptop-zed") {
		t.Errorf("the list doesn't show laptop-zed:\n%s", hs.screen())
	}
}

// TestCreateRefusesAsTheCLIDoes: a bad field is said under it and keeps
// the form; a taken name (the backend's conflict) too, with everything
// typed kept and nothing made; esc in the date picker comes back to the
// form, esc in the form closes it.
func TestCreateRefusesAsTheCLIDoes(t *testing.T) {
	fb := demoBackend()
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.press("+", "enter")
	if d, ok := hs.app.dialog.(*createDialog); !ok || d.errAt != fieldName || !strings.Contains(hs.screen(), "the name is empty") {
		t.Fatalf("an empty name:\n%s", hs.screen())
	}
	hs.typeText("laptop-alice")
	hs.press("tab")
	hs.typeText("not an address")
	hs.press("enter")
	if d := hs.app.dialog.(*createDialog); d.errAt != fieldEmail || d.focus != fieldEmail || !strings.Contains(flat(hs.screen()), "is not an email address") {
		t.Fatalf("a bad email:\n%s", hs.screen())
	}
	hs.press("ctrl+u")
	hs.press("tab")
	hs.typeText("#staff")
	hs.press("enter")
	if d := hs.app.dialog.(*createDialog); d.errAt != fieldAttributes || !strings.Contains(flat(hs.screen()), `starts with "#"`) {
		t.Fatalf("a bad attribute:\n%s", hs.screen())
	}
	hs.press("ctrl+u")
	hs.typeText("staff")
	hs.press("enter")
	if _, ok := hs.app.dialog.(*datePicker); !ok {
		t.Fatalf("valid fields: %T\n%s", hs.app.dialog, hs.screen())
	}
	hs.press("esc") // back to the form, as typed
	d, ok := hs.app.dialog.(*createDialog)
	if !ok || d.inputs[fieldName].Value() != "laptop-alice" || d.inputs[fieldAttributes].Value() != "staff" {
		t.Fatalf("esc in the date picker: %T %+v", hs.app.dialog, d)
	}
	before := len(fb.ids["net-acme"])
	hs.press("enter", "enter") // the form, then the date: laptop-alice is taken
	d, ok = hs.app.dialog.(*createDialog)
	if !ok || d.running || d.errAt != fieldName {
		t.Fatalf("a taken name: %T\n%s", hs.app.dialog, hs.screen())
	}
	f := flat(hs.screen())
	if !strings.Contains(f, `Refused: an identity named "laptop-alice" already exists`) || strings.Contains(f, "Someone else changed") {
		t.Errorf("a taken name is said as:\n%s", hs.screen())
	}
	if len(fb.ids["net-acme"]) != before || len(fb.callsWith("Create")) != 1 {
		t.Errorf("something was made: %d identities, calls %q", len(fb.ids["net-acme"]), fb.callsWith("Create"))
	}
	if d.inputs[fieldAttributes].Value() != "staff" {
		t.Errorf("the attributes typed were lost: %q", d.inputs[fieldAttributes].Value())
	}
	hs.press("esc")
	if hs.app.dialog != nil || hs.app.create.active() {
		t.Errorf("esc left %T open", hs.app.dialog)
	}
	hs.list() // still the list
}

// TestViewerCantCreate: for a viewer + isn't in the help, and pressing it
// says why instead of opening the form; the backend is never asked.
func TestViewerCantCreate(t *testing.T) {
	hs, fb := viewerHarness(t)
	for _, b := range hs.list().ShortHelp() {
		if b.Enabled() && b.Help().Key == "+" {
			t.Error("+ is in a viewer's help")
		}
	}
	hs.press("+")
	if hs.app.dialog != nil {
		t.Fatalf("a viewer got %T", hs.app.dialog)
	}
	if !strings.Contains(flat(hs.screen()), "viewers can't create identities") {
		t.Errorf("no reason shown:\n%s", hs.screen())
	}
	if len(fb.callsWith("Create")) != 0 {
		t.Error("the backend was asked")
	}
}

// TestCreateKeyInHelp: + is on the list's help line and in ? for an admin.
func TestCreateKeyInHelp(t *testing.T) {
	hs := newHarness(t, testOptions(demoBackend()), 100, 30)
	if !strings.Contains(hs.screen(), "+ new identity") {
		t.Errorf("the help line lacks +:\n%s", hs.screen())
	}
	hs.press("?")
	if !strings.Contains(hs.screen(), "new identity") || !strings.Contains(hs.screen(), "sort order") {
		t.Errorf("? lacks + or o:\n%s", hs.screen())
	}
}

// TestSortCycles: o steps name → state → expiry → sessions → creation →
// name, each asked of the backend, the header saying which.
func TestSortCycles(t *testing.T) {
	fb := demoBackend()
	hs := newHarness(t, testOptions(fb), 100, 30)
	for _, c := range []struct {
		sort  model.SortField
		words string
		head  string
	}{
		{model.SortState, "by state", "State▲"},
		{model.SortExpires, "by expiry, soonest first", "Expires▲"},
		{model.SortSessions, "by sessions, most first", "▼Sessions"},
		{model.SortCreated, "by creation, oldest first", "Name "},
		{model.SortName, "", "Name▲"},
	} {
		hs.press("o")
		l := hs.list()
		if l.sort != c.sort {
			t.Fatalf("o: sort %q, want %q", l.sort, c.sort)
		}
		calls := fb.callsWith("Identities")
		if last := calls[len(calls)-1]; !strings.HasSuffix(last, "sort="+string(c.sort)) {
			t.Errorf("o to %s asked %q", c.sort, last)
		}
		screen := hs.screen()
		if c.words != "" && !strings.Contains(screen, c.words) || !strings.Contains(screen, c.head) {
			t.Errorf("sorted by %s the header doesn't say %q / %q:\n%s", c.sort, c.words, c.head, screen)
		}
	}
	hs.press("o", "o", "o") // sessions: the most first
	if l := hs.list(); l.pages[0].items[0].Name != "laptop-alice" || l.pages[0].items[0].ActiveSessions != 2 {
		t.Errorf("by sessions the first row is %q", l.pages[0].items[0].Name)
	}
}

// TestSortRefusedFallsBackToName: a backend that can't sort by sessions
// says so; the list goes back to name order, says why, and o skips that
// order from then on.
func TestSortRefusedFallsBackToName(t *testing.T) {
	fb := demoBackend()
	fb.unsortable = map[model.SortField]bool{model.SortSessions: true}
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.press("o", "o", "o") // state, expiry, sessions: refused
	l := hs.list()
	if l.sort != model.SortName || l.err != nil {
		t.Fatalf("after the refusal: sort %q, err %v", l.sort, l.err)
	}
	if f := flat(hs.screen()); !strings.Contains(f, "the fake can't sort by sessions") || !strings.Contains(f, "Listed by name instead") {
		t.Errorf("no word of the refusal:\n%s", hs.screen())
	}
	if !strings.Contains(hs.screen(), "laptop-alice") {
		t.Errorf("the list by name didn't load:\n%s", hs.screen())
	}
	hs.press("o", "o", "o") // state, expiry, then creation: sessions skipped
	if l.sort != model.SortCreated {
		t.Errorf("o went to %q, want created (sessions skipped)", l.sort)
	}
	if n := len(fb.callsWith("Identities")); n == 0 || strings.HasSuffix(fb.callsWith("Identities")[n-1], "sort=sessions") {
		t.Error("sessions asked again")
	}
}

// TestCopyIDToClipboard: y in Edit Identity sends the ID as OSC 52 and
// says where it went as the JWT copy does.
func TestCopyIDToClipboard(t *testing.T) {
	hs := newHarness(t, testOptions(demoBackend()), 100, 30)
	hs.openByName("phone-bob")
	hs.press("y")
	if len(hs.clipboard) != 1 {
		t.Fatalf("%d clipboard writes, want 1", len(hs.clipboard))
	}
	if got := fmt.Sprint(reflect.ValueOf(hs.clipboard[0]).Convert(reflect.TypeOf("")).Interface()); got != "id-bob" {
		t.Errorf("the clipboard got %q, want id-bob", got)
	}
	if f := flat(hs.screen()); !strings.Contains(f, "The ID of phone-bob sent to your terminal's clipboard: id-bob") {
		t.Errorf("the toast:\n%s", hs.screen())
	}
}

// TestEditShowsTypeAndAuthPolicy: Edit Identity shows the controller's
// type and auth policy when the backend has them, and leaves the lines
// out when it hasn't (an embedded identity).
func TestEditShowsTypeAndAuthPolicy(t *testing.T) {
	fb := demoBackend()
	for i := range fb.ids["net-acme"] {
		if fb.ids["net-acme"][i].Name == "phone-bob" {
			fb.ids["net-acme"][i].Type, fb.ids["net-acme"][i].AuthPolicy = "Device", "Kiosk policy"
		}
	}
	hs := newHarness(t, testOptions(fb), 100, 30)
	hs.openByName("phone-bob")
	s := hs.screen()
	if !strings.Contains(s, "Type          Device") || !strings.Contains(s, "Auth policy   Kiosk policy") || !strings.Contains(s, "Created       30 May 2026") {
		t.Errorf("phone-bob:\n%s", s)
	}
	hs.press("esc")
	hs.openByName("tablet-carol")
	if s := hs.screen(); strings.Contains(s, "Type ") || strings.Contains(s, "Auth policy") {
		t.Errorf("tablet-carol has no type or policy, yet:\n%s", s)
	}
}
