package openziti

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

func TestQuoteZitiQL(t *testing.T) {
	cases := map[string]string{
		"":                       `""`,
		"ali":                    `"ali"`,
		`say "hi"`:               `"say \"hi\""`,
		`back\slash`:             `"back\\slash"`,
		`\`:                      `"\\"`,
		`\"`:                     `"\\\""`,
		") or (":                 `") or ("`,
		`") or (name contains "`: `"\") or (name contains \""`,
		"Zoë 日本":                 `"Zoë 日本"`,
		"tab\tnl\ncr\rff\f":      `"tab\tnl\ncr\rff\f"`,
		"sort by id desc":        `"sort by id desc"`,
	}
	for in, want := range cases {
		got, err := quoteZitiQL(in)
		if err != nil || got != want {
			t.Errorf("quoteZitiQL(%q) = %q, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"a\x00b", "esc\x1b[2J", "bell\a", "\xff\xfe"} {
		if _, err := quoteZitiQL(bad); !errors.Is(err, backend.ErrInvalid) {
			t.Errorf("quoteZitiQL(%q): %v, want an invalid-input error", bad, err)
		}
	}
}

// TestFilterIsSentEscaped checks the filter on the wire for text that
// could break out of the string literal, and that it matches literally.
func TestFilterIsSentEscaped(t *testing.T) {
	c, f := newTestClient(t)
	ctx := t.Context()
	names := []string{`say "hi"`, "say hi", `back\slash`, "backslash", "x) or (y", "Zoë", "Zoe"}
	for _, n := range names {
		if _, err := c.CreateIdentity(ctx, c.NetworkID(), model.NewIdentity{Name: n, ExpiresAt: testEpoch.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		text, literal string
		want          []string
	}{
		{`"hi"`, `"\"hi\""`, []string{`say "hi"`}},
		{`k\s`, `"k\\s"`, []string{`back\slash`}},
		{") or (", `") or ("`, []string{"x) or (y"}},
		{`") or (name contains "`, `"\") or (name contains \""`, nil},
		{"zoë", `"zoë"`, []string{"Zoë"}},
	}
	for _, tc := range cases {
		before := len(f.Requests())
		p, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Filter: tc.text})
		if err != nil {
			t.Fatalf("filter %q: %v", tc.text, err)
		}
		var got []string
		for _, x := range p.Items {
			got = append(got, x.Name)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("filter %q matched %q, want %q", tc.text, got, tc.want)
		}
		wantFilter := "(name icontains " + tc.literal + " or tags.email icontains " + tc.literal + ") sort by name asc, id asc"
		sent := ""
		for _, r := range f.Requests()[before:] {
			if u, err := url.Parse(r[len("GET "):]); err == nil && u.Path == apiPath+"/identities" {
				sent = u.Query().Get("filter")
			}
		}
		if sent != wantFilter {
			t.Errorf("filter %q was sent as\n %s\nwant\n %s", tc.text, sent, wantFilter)
		}
	}
	_, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Filter: "a\x1bb"})
	mustErr(t, "filter with ESC", err, backend.ErrInvalid, "U+001B")
}

// checkFilterRoundTrip parses the filter built for text and fails unless
// it is exactly the two comparisons idcon means, each with text as one
// string literal, and the sort.
func checkFilterRoundTrip(t *testing.T, text string) {
	built, err := identityFilter(text, model.SortName, false)
	if err != nil {
		// Only text ZitiQL can't say is refused.
		if utf8.ValidString(text) && !strings.ContainsFunc(text, func(r rune) bool { return r < 0x20 && !strings.ContainsRune("\t\n\r\f", r) }) {
			t.Fatalf("identityFilter(%q): %v", text, err)
		}
		if !errors.Is(err, backend.ErrInvalid) {
			t.Fatalf("identityFilter(%q): %v, want an invalid-input error", text, err)
		}
		return
	}
	q, err := zitifake.ParseQuery(built)
	if err != nil {
		t.Fatalf("the filter built for %q doesn't parse: %v\n%s", text, err, built)
	}
	if len(q.Sort) != 2 || q.Sort[0] != (zitifake.SortKey{Field: "name"}) || q.Sort[1] != (zitifake.SortKey{Field: "id"}) || q.Skip != nil || q.Limit != nil {
		t.Fatalf("the filter built for %q has sort %v, skip %v, limit %v", text, q.Sort, q.Skip, q.Limit)
	}
	if text == "" {
		if q.Where != nil {
			t.Fatalf("an empty text filters: %#v", q.Where)
		}
		return
	}
	or, ok := q.Where.(zitifake.Or)
	if !ok {
		t.Fatalf("the filter built for %q is %#v, want an or of two comparisons", text, q.Where)
	}
	for i, side := range []zitifake.Expr{or.L, or.R} {
		cmp, ok := side.(zitifake.Cmp)
		field := []string{"name", "tags.email"}[i]
		if !ok || cmp.Field != field || cmp.Op != "icontains" || cmp.Value != text {
			t.Fatalf("the filter built for %q compares %#v, want %s icontains the text itself", text, side, field)
		}
	}
}

func TestFilterRoundTrip(t *testing.T) {
	for _, s := range fuzzSeeds {
		checkFilterRoundTrip(t, s)
	}
}

var fuzzSeeds = []string{
	"", "ali", `say "hi"`, `\`, `\"`, `"`, `\\"\\`, ") or (", `") or (name contains "`,
	`x" or true or name = "`, "sort by id desc", `" sort by id desc limit 1 "`, "Zoë", "日本", "tab\there",
	"nl\n", "esc\x1b", "nul\x00", "\xff", "a\u202eb", "emoji 🙂",
}

// FuzzFilter: whatever the admin types, the built filter parses back to
// exactly that text as one string literal, or is refused as invalid.
func FuzzFilter(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	f.Fuzz(checkFilterRoundTrip)
}
