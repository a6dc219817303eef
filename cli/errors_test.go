package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
)

func TestErrorLine(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"backend error without advice gets its class's",
			backend.NotFound("no network %q", "lab"),
			"idcon: no network \"lab\"; list what exists with `idcon network list` or `idcon identity list`"},
		{"backend error with advice keeps its own",
			backend.Conflict("laptop-alice changed since you loaded it: reload and try again"),
			"idcon: laptop-alice changed since you loaded it: reload and try again"},
		{"unavailable always says what to do",
			backend.Unavailable("listing identities: timed out"),
			"idcon: listing identities: timed out; check that the database can be reached and is not busy, then try again"},
		{"forbidden",
			backend.Forbidden("not allowed"),
			"idcon: not allowed; ask an administrator of the network for access"},
		{"the CLI's own advice replaces the class's",
			withAdvice(backend.Conflict("x is pending."), "delete it"),
			"idcon: x is pending; delete it"},
		{"failure as written", failf("bad; do this"), "idcon: bad; do this"},
		{"deadline",
			fmt.Errorf("reading: %w", context.DeadlineExceeded),
			"idcon: the command took too long and was stopped; try again, and check that no other program keeps the database busy"},
		{"terminal escapes and line breaks from a backend never reach the terminal",
			backend.Invalid("name \x1b[31mred\x1b[0m\nsecond line\x07"),
			"idcon: name red second line; correct the input and try again"},
		{"the class survives wrapping",
			fmt.Errorf("%w", backend.NotFound("gone")),
			"idcon: gone; list what exists with `idcon network list` or `idcon identity list`"},
	}
	for _, c := range cases {
		got := errorLine(c.err)
		if got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
		if strings.ContainsAny(got, "\n\r\x1b\x07") {
			t.Errorf("%s: not one clean line: %q", c.name, got)
		}
	}
}

func TestClassify(t *testing.T) {
	cmd := &cobra.Command{Use: "idcon"}
	sub := &cobra.Command{Use: "list"}
	cmd.AddCommand(sub)
	cases := []struct {
		err      error
		wantCode int
		wantLine string
	}{
		{usagef("x needs NAME; see"), exitUsage, "idcon: x needs NAME; see"},
		{&ranError{failf("it failed; retry")}, exitError, "idcon: it failed; retry"},
		{&ranError{backend.NotFound("gone: look elsewhere")}, exitError, "idcon: gone: look elsewhere"},
		{errors.New(`unknown shorthand flag: 'x' in -x`), exitUsage, `idcon: unknown shorthand flag: 'x' in -x; see 'idcon list --help'`},
		{&ranError{errReported}, exitError, ""},
	}
	for _, c := range cases {
		line, code := classify(sub, c.err)
		if code != c.wantCode || line != c.wantLine {
			t.Errorf("classify(%v) = %q, %d; want %q, %d", c.err, line, code, c.wantLine, c.wantCode)
		}
	}
}

// TestRecoveredPanic: a bug still ends in one line and exit 1.
func TestRecoveredPanic(t *testing.T) {
	r := runCLI(t, t.TempDir(), nil, func(context.Context, ConsoleEnv) error { panic("boom\x1b[2J") })
	if r.code != exitError || r.stderr != "idcon: internal error: boom; please report it\n" {
		t.Errorf("panic: %+v", r)
	}
}
