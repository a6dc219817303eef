package cli

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestIdentityAttributesAndCreatedAt: identity create takes --attributes
// a,b,c; show --json and list --json carry them and the creation time;
// the text of show says them too.
func TestIdentityAttributesAndCreatedAt(t *testing.T) {
	home := t.TempDir()
	mustCLI := func(args ...string) string {
		t.Helper()
		r := runCLI(t, home, nil, nil, args...)
		if r.code != 0 {
			t.Fatalf("idcon %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
		}
		return r.stdout
	}
	mustCLI("network", "create", "office")
	before := time.Now().Add(-time.Second)
	mustCLI("identity", "create", "laptop-a", "--attributes", "staff, laptops,,staff")
	var shown struct {
		Attributes []string `json:"attributes"`
		CreatedAt  *string  `json:"createdAt"`
	}
	if err := json.Unmarshal([]byte(mustCLI("identity", "show", "laptop-a", "--json")), &shown); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(shown.Attributes, []string{"staff", "laptops"}) {
		t.Errorf("show --json attributes %q, want [staff laptops]", shown.Attributes)
	}
	if shown.CreatedAt == nil {
		t.Fatal("show --json has no createdAt")
	}
	if at, err := time.Parse(time.RFC3339, *shown.CreatedAt); err != nil || at.Before(before.Truncate(time.Second)) || at.After(time.Now()) {
		t.Errorf("createdAt %q (%v), want about now", *shown.CreatedAt, err)
	}
	var listed struct {
		Items []struct {
			Attributes []string `json:"attributes"`
			CreatedAt  *string  `json:"createdAt"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(mustCLI("identity", "list", "--json")), &listed); err != nil {
		t.Fatal(err)
	}
	if len(listed.Items) != 1 || !slices.Equal(listed.Items[0].Attributes, []string{"staff", "laptops"}) || listed.Items[0].CreatedAt == nil {
		t.Errorf("list --json: %+v", listed.Items)
	}
	if text := mustCLI("identity", "show", "laptop-a"); !strings.Contains(text, "staff, laptops") || !strings.Contains(text, "created") {
		t.Errorf("show says no attributes or creation:\n%s", text)
	}

	// Without attributes: an empty list, not null.
	mustCLI("identity", "create", "laptop-b")
	if out := mustCLI("identity", "show", "laptop-b", "--json"); !strings.Contains(out, `"attributes": []`) {
		t.Errorf("no attributes: %s", out)
	}
	// A bad one is a usage error, nothing made.
	r := runCLI(t, home, nil, nil, "identity", "create", "laptop-c", "--attributes", "ok,#staff")
	if r.code != 2 || !strings.Contains(r.stderr, "#staff") {
		t.Errorf("--attributes ok,#staff: exit %d: %s", r.code, r.stderr)
	}
	if r := runCLI(t, home, nil, nil, "identity", "show", "laptop-c"); r.code == 0 {
		t.Error("laptop-c was made")
	}
}

// TestIdentityListSort: --sort orders the list; an unknown one is a usage
// error.
func TestIdentityListSort(t *testing.T) {
	home := t.TempDir()
	for _, args := range [][]string{{"network", "create", "office"}, {"identity", "create", "b-late", "--expires", "+1d"},
		{"identity", "create", "a-later", "--expires", "+2d"}} {
		if r := runCLI(t, home, nil, nil, args...); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	r := runCLI(t, home, nil, nil, "identity", "list", "--sort", "expires")
	if r.code != 0 || strings.Index(r.stdout, "b-late") > strings.Index(r.stdout, "a-later") {
		t.Errorf("--sort expires: exit %d:\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := runCLI(t, home, nil, nil, "identity", "list", "--sort", "expires", "--desc"); strings.Index(r.stdout, "b-late") < strings.Index(r.stdout, "a-later") {
		t.Errorf("--sort expires --desc:\n%s%s", r.stdout, r.stderr)
	}
	if r := runCLI(t, home, nil, nil, "identity", "list", "--sort", "bogus"); r.code != 2 {
		t.Errorf("--sort bogus: exit %d: %s", r.code, r.stderr)
	}
}

// TestIdentityListSortNamesAndDescending: --sort takes expiry (the word the
// console says) as well as expires, and a leading - for descending, the same
// as --desc: the latest expiry first, the newest identity first.
func TestIdentityListSortNamesAndDescending(t *testing.T) {
	home := t.TempDir()
	// Made in this order: c-first expires last, a-third first.
	for _, args := range [][]string{{"network", "create", "office"}, {"identity", "create", "c-first", "--expires", "+3d"},
		{"identity", "create", "b-second", "--expires", "+2d"}, {"identity", "create", "a-third", "--expires", "+1d"}} {
		if r := runCLI(t, home, nil, nil, args...); r.code != 0 {
			t.Fatal(r.stderr)
		}
	}
	order := func(args ...string) string {
		t.Helper()
		r := runCLI(t, home, nil, nil, append([]string{"identity", "list"}, args...)...)
		if r.code != 0 {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
			return ""
		}
		var names []string
		for _, l := range strings.Split(r.stdout, "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.Contains("a-third b-second c-first", f[0]) {
				names = append(names, f[0])
			}
		}
		return strings.Join(names, " ")
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--sort", "expiry"}, "a-third b-second c-first"},
		{[]string{"--sort", "expiry", "--desc"}, "c-first b-second a-third"},
		{[]string{"--sort", "-expiry"}, "c-first b-second a-third"},
		{[]string{"--sort", "-expires"}, "c-first b-second a-third"},
		{[]string{"--sort", "created"}, "c-first b-second a-third"},
		{[]string{"--sort", "-created"}, "a-third b-second c-first"},
		{[]string{"--sort", "-name"}, "c-first b-second a-third"},
		{[]string{"--desc"}, "c-first b-second a-third"},
	} {
		if got := order(c.args...); got != c.want {
			t.Errorf("%v: %q, want %q", c.args, got, c.want)
		}
	}
	for _, bad := range []string{"-", "--expiry", "-bogus"} {
		if r := runCLI(t, home, nil, nil, "identity", "list", "--sort="+bad); r.code != 2 || !strings.Contains(r.stderr, "name, state, expiry") {
			t.Errorf("--sort=%s: exit %d: %s", bad, r.code, r.stderr)
		}
	}
}
