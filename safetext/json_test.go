package safetext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// jsonCases are encoded JSON as encoding/json writes it (raw UTF-8, raw
// DEL) and exactly what JSON must make of it, the escapes worked out by
// hand. Characters above U+FFFF are written as a UTF-16 surrogate pair, as
// JSON requires: U+E0041 is 0xD0041 past U+10000, so 0xD800+0x340 and
// 0xDC00+0x041.
var jsonCases = []struct {
	name, in, want string
}{
	{"plain ASCII untouched", `{"a":"plain"}`, `{"a":"plain"}`},
	{"DEL in otherwise ASCII JSON", "{\"a\":\"x\x7fy\"}", `{"a":"x\u007fy"}`},
	{"8-bit CSI", "{\"a\":\"x\u009b2Jy\"}", `{"a":"x\u009b2Jy"}`},
	{"first and last C1", "{\"a\":\"\u0080\u009f\"}", `{"a":"\u0080\u009f"}`},
	{"NEL", "{\"a\":\"x\u0085y\"}", `{"a":"x\u0085y"}`},
	{"RLO", "{\"a\":\"x\u202ey\"}", `{"a":"x\u202ey"}`},
	{"ZWSP and BOM", "{\"a\":\"\u200bx\ufeff\"}", `{"a":"\u200bx\ufeff"}`},
	{"soft hyphen", "{\"a\":\"x\u00ady\"}", `{"a":"x\u00ady"}`},
	{"tag A above U+FFFF", "{\"a\":\"x\U000E0041y\"}", `{"a":"x\udb40\udc41y"}`},
	{"language tag U+E0001", "{\"a\":\"\U000E0001\"}", `{"a":"\udb40\udc01"}`},
	{"musical format U+1D173", "{\"a\":\"\U0001D173\"}", `{"a":"\ud834\udd73"}`},
	{"printable non-ASCII untouched", `{"a":"Zoë 日本 🙂 U+A0:` + "\u00a0" + `"}`, `{"a":"Zoë 日本 🙂 U+A0:` + "\u00a0" + `"}`},
	{"escapes in keys too", "{\"k\u202e\":1}", `{"k\u202e":1}`},
	// White space between tokens (indented JSON, JSON lines) is JSON's
	// own and must stay as it is: escaped, it is no JSON at all.
	{"indented, with a final newline", "{\n\t\"a\": 1,\r\n  \"b\": \"x\u202e\"\n}\n", "{\n\t\"a\": 1,\r\n  \"b\": \"x\\u202e\"\n}\n"},
}

func TestJSONTable(t *testing.T) {
	for _, c := range jsonCases {
		got := string(JSON([]byte(c.in)))
		if got != c.want {
			t.Errorf("%s: JSON(%q) = %q, want %q", c.name, c.in, got, c.want)
		}
		// The rewrite is equivalent: both decode to the same value.
		var before, after any
		if err := json.Unmarshal([]byte(c.in), &before); err != nil {
			t.Fatalf("%s: bad test input: %v", c.name, err)
		}
		if err := json.Unmarshal([]byte(got), &after); err != nil {
			t.Errorf("%s: %q is no longer JSON: %v", c.name, got, err)
		} else if b, a := mustMarshal(t, before), mustMarshal(t, after); b != a {
			t.Errorf("%s: decodes to %s, want %s", c.name, a, b)
		}
	}
}

// TestJSONReturnsPlainJSONAsIs: JSON with nothing to escape comes back as
// the very same slice, not a copy.
func TestJSONReturnsPlainJSONAsIs(t *testing.T) {
	in := []byte(`{"name":"laptop-alice","n":1,"s":"~ \u001b"}`)
	if got := JSON(in); string(got) != string(in) || &got[0] != &in[0] {
		t.Errorf("JSON(%s) = %s, a copy", in, got)
	}
}

func mustMarshal(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestJSONEscapesWhatATerminalActsOn: after JSON, encoded JSON holds no raw
// control or format character, and decodes to the same strings as before.
func TestJSONEscapesWhatATerminalActsOn(t *testing.T) {
	for name, s := range hostile {
		in := map[string]string{"name": s, "plain": "Zoë 日本 🙂"}
		enc, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		got := JSON(enc)
		if err := visibleOnly(string(got)); err != nil {
			t.Errorf("%s: JSON(%q) = %q still holds %v", name, enc, got, err)
		}
		var back map[string]string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("%s: %q is no longer JSON: %v", name, got, err)
		}
		want := s
		if !utf8.ValidString(s) {
			want = strings.ToValidUTF8(s, "\ufffd")
		}
		if back["name"] != want || back["plain"] != in["plain"] {
			t.Errorf("%s: decodes to %q, want %q", name, back, in)
		}
	}
}
