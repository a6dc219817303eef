package model

import (
	"fmt"
	"slices"
	"strings"
	"testing"
)

// TestParseAttributes: role attributes as an admin types them, trimmed,
// empties and repeats dropped, syntax and control characters refused.
func TestParseAttributes(t *testing.T) {
	ok := []struct {
		in   string
		want []string
	}{
		{"", []string{}},
		{"staff", []string{"staff"}},
		{" staff , laptops,", []string{"staff", "laptops"}},
		{"a,,b,a", []string{"a", "b"}},
		{"Zoë, 日本", []string{"Zoë", "日本"}},
		{"a b", []string{"a b"}},
	}
	for _, c := range ok {
		got, err := ParseAttributes(c.in)
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("ParseAttributes(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	bad := map[string]string{
		"#staff":                  `starts with "#"`,
		"ok, @id":                 `starts with "@"`,
		"a\x1bb":                  "control character",
		"x\u202e":                 "control character",
		strings.Repeat("a", 300):  "bytes long",
		strings.Repeat("a,", 101): "", // fine: one attribute, repeated
	}
	for in, want := range bad {
		_, err := ParseAttributes(in)
		if want == "" {
			if err != nil {
				t.Errorf("ParseAttributes(%q): %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseAttributes(%q): %v, want an error saying %q", in, err, want)
		}
	}
	// 100 distinct attributes are the most: the numbers written out.
	var many []string
	for i := range 101 {
		many = append(many, fmt.Sprintf("a%03d", i))
	}
	if got, err := ParseAttributes(strings.Join(many[:100], ",")); err != nil || len(got) != 100 {
		t.Errorf("100 attributes: %d kept, %v; want all 100", len(got), err)
	}
	if _, err := ParseAttributes(strings.Join(many, ",")); err == nil || !strings.Contains(err.Error(), "101 attributes: give at most 100") {
		t.Errorf("101 attributes: %v, want refused", err)
	}
}

// TestSortFields: every sort parses back from its name, and states rank
// in lifecycle order.
func TestSortFields(t *testing.T) {
	for _, f := range SortFields {
		if got, ok := ParseSortField(string(f)); !ok || got != f {
			t.Errorf("ParseSortField(%q) = %q, %v", f, got, ok)
		}
	}
	if _, ok := ParseSortField("bogus"); ok {
		t.Error("bogus parsed")
	}
	for i, st := range States {
		if StateRank(st) != i {
			t.Errorf("StateRank(%s) = %d, want %d", st, StateRank(st), i)
		}
	}
	if StateRank("x") != -1 {
		t.Error("unknown state ranked")
	}
}
