package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/safetext"
)

// Exit codes.
const (
	exitOK    = 0
	exitError = 1 // the command ran and failed
	exitUsage = 2 // the command line itself is wrong
)

// usageError is a mistake in the command line (a missing argument or
// required flag, an unknown command): exit code 2. Its message says what is
// wrong and what to do.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// failure is an error whose message already says what is wrong and what to
// do, in the CLI's own words.
type failure struct{ msg string }

func (e *failure) Error() string { return e.msg }

func failf(format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...)}
}

// advised is a backend error with the advice that fits where it happened,
// in place of the general advice for its class.
type advised struct {
	err  error
	todo string
}

func (e *advised) Error() string { return e.err.Error() }
func (e *advised) Unwrap() error { return e.err }

// withAdvice attaches what the admin should do about err.
func withAdvice(err error, todo string) error {
	if err == nil {
		return nil
	}
	return &advised{err: err, todo: todo}
}

// ranError marks an error returned by a command's own code, as opposed to
// one cobra found in the command line before running it.
type ranError struct{ err error }

func (e *ranError) Error() string { return e.err.Error() }
func (e *ranError) Unwrap() error { return e.err }

// classify turns the error of a run into its one stderr line and the exit
// code. cmd is the command cobra got to, for the pointer to its help.
func classify(cmd *cobra.Command, err error) (string, int) { return (&app{}).classify(cmd, err) }

// classify is classify with this run's flags in the commands its advice
// suggests (hints.go).
func (a *app) classify(cmd *cobra.Command, err error) (string, int) {
	var u *usageError
	if errors.As(err, &u) {
		return a.errorLine(err), exitUsage
	}
	var r *ranError
	if errors.Is(err, errReported) {
		return "", exitError
	}
	if errors.As(err, &r) {
		return a.errorLine(r.err), exitError
	}
	// Anything else comes from cobra's parsing of the command line:
	// unknown commands and flags, bad flag values.
	path := "idcon"
	if cmd != nil {
		path = cmd.CommandPath()
	}
	return a.errorLine(fmt.Errorf("%v; see '%s --help'", err, path)), exitUsage
}

// errorLine is the one place errors become words: "idcon: <what is wrong>;
// <what to do>", on one line, cleaned of anything a terminal would act on.
func errorLine(err error) string { return (&app{}).errorLine(err) }

func (a *app) errorLine(err error) string {
	return "idcon: " + safetext.Clean(a.describe(err))
}

func describe(err error) string { return (&app{}).describe(err) }

func (a *app) describe(err error) string {
	var u *usageError
	var f *failure
	var adv *advised
	switch {
	case errors.As(err, &u):
		return u.msg
	case errors.As(err, &f):
		return f.msg
	case errors.As(err, &adv):
		return trimAdvice(adv.err.Error()) + "; " + adv.todo
	case errors.Is(err, context.DeadlineExceeded) && backend.Kind(err) == nil:
		return "the command took too long and was stopped; try again, and check that no other program keeps the database busy"
	case errors.Is(err, context.Canceled) && backend.Kind(err) == nil:
		return "the command was interrupted; nothing more was done"
	}
	msg := trimAdvice(err.Error())
	var todo string
	switch backend.Kind(err) {
	case nil:
		return msg
	case backend.ErrUnavailable:
		// Its message says what failed ("... timed out"), never what to do.
		return msg + "; check that the database can be reached and is not busy, then try again"
	case backend.ErrNotFound:
		todo = "list what exists with " + a.hint("network", "list") + " or " + a.netHint("identity", "list")
	case backend.ErrConflict:
		todo = "check its current state with " + a.netHint("identity", "show", "NAME") + " and try again"
	case backend.ErrInvalid:
		todo = "correct the input and try again"
	case backend.ErrForbidden:
		todo = "ask an administrator of the network for access"
	}
	// Backend messages are written for the admin and most already end in
	// what to do ("...: reload and try again"); the class's advice is only
	// for those that don't, so it is never said twice.
	if strings.Contains(msg, ": ") || strings.Contains(msg, "; ") {
		return msg
	}
	return msg + "; " + todo
}

// trimAdvice drops a trailing full stop so the advice can follow.
func trimAdvice(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), ".")
}

// errReported is returned by a command that has already said what went
// wrong on stderr, in the words its contract fixes: exit code 1, nothing
// more printed.
var errReported = errors.New("reported")
