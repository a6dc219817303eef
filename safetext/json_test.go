package safetext

import (
	"encoding/json"
	"strings"
	"testing"
	"unicode/utf8"
)

// TestJSONEscapesWhatATerminalActsOn: after JSON, encoded JSON holds no
// raw C1 code, DEL, bidi or zero-width character, and decodes to the same
// strings as before.
func TestJSONEscapesWhatATerminalActsOn(t *testing.T) {
	for name, s := range hostile {
		in := map[string]string{"name": s, "plain": "Zoë 日本 🙂"}
		enc, err := json.Marshal(in)
		if err != nil {
			t.Fatal(err)
		}
		got := JSON(enc)
		for _, r := range string(got) {
			if r < 0x20 || (r >= 0x7f && r <= 0x9f) || dropped(r) {
				t.Errorf("%s: JSON(%q) still holds %U", name, enc, r)
			}
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
	if got := JSON([]byte(`{"a":"plain"}`)); string(got) != `{"a":"plain"}` {
		t.Errorf("plain JSON changed: %s", got)
	}
}
