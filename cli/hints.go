package cli

import (
	"strings"

	"github.com/spf13/cobra"
)

// Hints: the commands idcon suggests ("get it with `idcon enrollment jwt
// NAME`"). Each is set in backquotes, its words quoted for a POSIX shell
// (a name holding quotes or spaces comes out as 'idc "q" one'), and it
// carries the global flags this run was given (--demo, --db, --config) and,
// for the commands about a network's identities, --network when it was
// given, so that pasted into a shell it acts where the command that
// suggested it did.

// hintCommand is an idcon command line for a hint, without the
// backquotes. Words in capitals (NAME, FILE, TEXT) are placeholders for
// the admin to fill in and stay bare.
func (a *app) hintCommand(words ...string) string {
	parts := []string{"idcon"}
	if a.demo {
		parts = append(parts, "--demo")
	}
	if a.dbFlag != "" {
		parts = append(parts, "--db", shellQuote(a.dbFlag))
	}
	if a.configFlag != "" {
		parts = append(parts, "--config", shellQuote(a.configFlag))
	}
	for _, w := range words {
		if isPlaceholder(w) {
			parts = append(parts, w)
			continue
		}
		parts = append(parts, shellQuote(w))
	}
	return strings.Join(parts, " ")
}

// hint is a suggested command in backquotes.
func (a *app) hint(words ...string) string { return "`" + a.hintCommand(words...) + "`" }

// netHint is a suggested command about a network's identities: it also
// carries --network when the running command was given one.
func (a *app) netHint(words ...string) string {
	if n := a.networkFlag(); n != "" {
		words = append(words, "--network", n)
	}
	return a.hint(words...)
}

// networkFlag is the --network the running command was given, or "".
func (a *app) networkFlag() string {
	if a.cmd == nil {
		return ""
	}
	f := a.cmd.Flags().Lookup("network")
	if f == nil || !f.Changed {
		return ""
	}
	return f.Value.String()
}

// running remembers the command cobra runs, for the hints.
func (a *app) running(cmd *cobra.Command, _ []string) { a.cmd = cmd }

// isPlaceholder reports a word a hint leaves for the admin to fill in:
// NAME, FILE, TEXT.
func isPlaceholder(w string) bool {
	return w != "" && strings.ToUpper(w) == w && strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == ""
}

// plainHint is a hint outside a run (tests, the generic advice of
// errorLine): no flags.
func plainHint(words ...string) string { return (&app{}).hint(words...) }
