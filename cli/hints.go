package cli

import "strings"

// hintCommand is an idcon command line for a hint, carrying the global
// flags this run was given (--db, --demo, --config) so that pasted into a
// shell it acts on the same database. Words are quoted for the shell,
// except NAME-like placeholders in capitals.
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

// isPlaceholder reports a word a hint leaves for the admin to fill in:
// NAME, FILE, TEXT.
func isPlaceholder(w string) bool {
	return w != "" && strings.ToUpper(w) == w && strings.Trim(w, "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == ""
}
