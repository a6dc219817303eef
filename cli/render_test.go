package cli

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

func TestFmtCount(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 103482: "103,482", 1234567: "1,234,567", -4200: "-4,200"} {
		if got := fmtCount(n); got != want {
			t.Errorf("fmtCount(%d) = %q, want %q", n, got, want)
		}
	}
}

func TestPageLine(t *testing.T) {
	cases := []struct {
		offset, shown, total int
		want                 string
	}{
		{0, 25, 103482, "1–25 of 103,482"},
		{100, 25, 103482, "101–125 of 103,482"},
		{25, 6, 31, "26–31 of 31"},
		{0, 0, 0, "no identities match"},
		{50, 0, 31, "none shown: the offset 50 is past the 31 that match"},
	}
	for _, c := range cases {
		if got := pageLine(c.offset, c.shown, c.total); got != c.want {
			t.Errorf("pageLine(%d, %d, %d) = %q, want %q", c.offset, c.shown, c.total, got, c.want)
		}
	}
}

// TestTableAlignsByDisplayWidth: wide characters take two cells, hostile
// names are cleaned, and the columns still line up.
func TestTableAlignsByDisplayWidth(t *testing.T) {
	var b bytes.Buffer
	rows := [][]string{
		{displayName("日本-1"), "pending", "x@example.org"},
		{displayName("evil\x1b[2J\u202ename"), "enrolled", ""},
		{displayName(strings.Repeat("long", 20)), "none", "y@example.org"},
	}
	if err := writeTable(&b, []string{"NAME", "STATE", "EMAIL"}, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	if len(lines) != 4 {
		t.Fatalf("table:\n%s", b.String())
	}
	stateCol := safetext.Width(lines[0][:strings.Index(lines[0], "STATE")])
	for _, l := range lines[1:] {
		if strings.ContainsAny(l, "\x1b\u202e") {
			t.Errorf("unclean row %q", l)
		}
		cells := strings.Fields(l)
		at := strings.Index(l, cells[1])
		if w := safetext.Width(l[:at]); w != stateCol {
			t.Errorf("row %q: state at cell %d, header at %d", l, w, stateCol)
		}
		if strings.HasSuffix(l, " ") {
			t.Errorf("trailing space in %q", l)
		}
	}
	if w := safetext.Width(cellsOf(lines[3])[0]); w != nameWidth {
		t.Errorf("long name is %d cells, want cut to %d", w, nameWidth)
	}
}

func cellsOf(l string) []string { return strings.Fields(l) }

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"laptop-alice":  "laptop-alice",
		"Zoë's phone":   `'Zoë'\''s phone'`,
		"a b":           "'a b'",
		"$(rm -rf ~)":   "'$(rm -rf ~)'",
		"x\x1b[31my":    "xy",
		"":              "''",
		"alice@example": "alice@example",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIdentityJSON(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	cet := time.FixedZone("CET", 3600)
	id := model.Identity{ID: "i1", Name: "a", Revision: 3, Attributes: []string{"staff"}, Type: "Device",
		CreatedAt:  time.Date(2030, 1, 1, 0, 0, 0, 0, cet),
		Enrollment: &model.Enrollment{ExpiresAt: time.Date(2030, 1, 9, 23, 59, 59, 0, cet)}}
	var b bytes.Buffer
	if err := writeJSON(&b, toIdentityJSON(id, model.Network{Name: "office"}, now)); err != nil {
		t.Fatal(err)
	}
	want := `{
  "id": "i1",
  "name": "a",
  "network": "office",
  "email": "",
  "attributes": [
    "staff"
  ],
  "type": "Device",
  "authPolicy": "",
  "state": "pending",
  "expiresAt": "2030-01-09T22:59:59Z",
  "createdAt": "2029-12-31T23:00:00Z",
  "enrolledAt": null,
  "activeSessions": 0,
  "revision": 3
}
`
	if b.String() != want {
		t.Errorf("identity JSON:\n%s\nwant\n%s", b.String(), want)
	}
}
