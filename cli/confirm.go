package cli

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"
)

// confirm asks a yes/no question on the terminal; anything but y or yes is
// no. Without a terminal on stdin it refuses rather than guess: a script
// must say --yes. notDone says what didn't happen, for the error: "the
// enrollment of laptop-alice was not reset".
func (a *app) confirm(question, notDone string) error {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return failf("%s: stdin is not a terminal, so idcon can't ask you to confirm; pass --yes to confirm", notDone)
	}
	fmt.Fprintf(a.stderr, "%s [y/N] ", question)
	line, _ := bufio.NewReader(f).ReadString('\n')
	switch strings.ToLower(strings.TrimSpace(line)) {
	case "y", "yes":
		return nil
	}
	return failf("%s: you did not confirm; nothing changed", notDone)
}
