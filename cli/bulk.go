package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// bulkTimeout bounds a bulk reset or reissue: a large network takes far
// longer than one identity.
const bulkTimeout = 2 * time.Hour

// bulkFlags are the flags that turn reset and reissue into bulk actions:
// --all with an optional --filter and --state, in place of NAME.
type bulkFlags struct {
	all    bool
	filter string
	state  string
}

// register adds the bulk flags to reset or reissue. yes is the command's
// --yes, added here for reissue, which asks nothing for one identity.
func (f *bulkFlags) register(cmd *cobra.Command, yes *bool) {
	fl := cmd.Flags()
	fl.BoolVar(&f.all, "all", false, "act on every identity matching --filter and --state (in place of NAME), writing one JSON line per new token")
	fl.StringVar(&f.filter, "filter", "", "with --all: only identities whose name or email contains this text")
	fl.StringVar(&f.state, "state", "", "with --all: only identities in this state (enrolled, pending, expired, none)")
	if fl.Lookup("yes") == nil {
		fl.BoolVar(yes, "yes", false, "with --all: don't ask for confirmation")
	}
}

// args checks the positional arguments: NAME, or nothing with --all.
func (f *bulkFlags) args(cmd *cobra.Command, args []string) error {
	if f.all {
		if len(args) > 0 {
			return usagef("'%s --all' acts on every identity matching --filter and --state, so it takes no NAME (%q given); drop the NAME or --all",
				cmd.CommandPath(), args[0])
		}
		if f.state != "" {
			if _, ok := model.ParseState(f.state); !ok {
				return usagef("--state %q is not a state: use enrolled, pending, expired or none", f.state)
			}
		}
		return nil
	}
	for _, name := range []string{"filter", "state"} {
		if cmd.Flags().Changed(name) {
			return usagef("--%s selects identities for --all: add --all to act on every match, or give one NAME without --%s", name, name)
		}
	}
	return exactArgs("NAME")(cmd, args)
}

// OneByOneEnv, when set, makes reset and reissue --all change one identity
// per call (ResetEnrollment, ReissueEnrollment: one transaction each), the
// fallback of a backend without a bulk path, in place of the embedded
// store's batches. It is for the bulk benchmark's baseline, undocumented in
// the help.
const OneByOneEnv = "IDCON_BULK_ONE_BY_ONE"

// oneByOne hides a backend's Bulker, so backend.Bulk falls back to one call
// per identity.
type oneByOne struct{ backend.Backend }

// bulkTokenJSON is one line of the output of reset or reissue --all.
type bulkTokenJSON struct {
	Identity  string  `json:"identity"`
	ID        string  `json:"id"`
	JWT       string  `json:"jwt"`
	ExpiresAt *string `json:"expiresAt"`
}

// bulkReport is the summary of reset or reissue --all with -o and --json.
type bulkReport struct {
	Done            int    `json:"done"`
	Failed          int    `json:"failed"`
	Skipped         int    `json:"skipped"`
	SignedIn        int    `json:"signedIn"` // of Skipped: the identity idcon is signed in as
	SessionsDropped int    `json:"sessionsDropped"`
	Stopped         bool   `json:"stopped"`
	File            string `json:"file"`
}

// runBulk resets or reissues every identity of the selection whose state
// allows it. The new tokens go to stdout as JSON lines, or to -o FILE
// (mode 0600), where they are written even if the run stops part way:
// Ctrl-C or SIGTERM stops it before the next identity, and what finished
// stays finished.
func (a *app) runBulk(act model.Action, f bulkFlags, network string, exp time.Time, outFile string, yes, asJSON bool) error {
	// The process ends with the command: the store's connections and the
	// bulk run's cache are left to its exit (embedded.Options.ExitAfterClose).
	a.closeForExit = a.exiting
	return a.withBackend(bulkTimeout, func(ctx context.Context, b backend.Backend) error {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		n, err := a.resolveNetwork(ctx, b, network)
		if err != nil {
			return err
		}
		sel := backend.Selection{All: true, Filter: f.filter, State: model.State(f.state)}
		if a.getenv(OneByOneEnv) != "" {
			b = oneByOne{b} // the baseline of the bulk benchmark
		}
		bk := backend.Bulk(b, a.now)
		sum, err := bk.Summarize(ctx, n.ID, sel, act)
		if err != nil {
			return err
		}
		what := selectionWords(n, f)
		if sum.Eligible == 0 {
			need, _ := backend.BulkState(act)
			msg := fmt.Sprintf("nothing to do: no identity is %s", what)
			if sum.Selected > 0 {
				msg = fmt.Sprintf("nothing to do: none of the %s %s is %s, so none was %s",
					plural(sum.Selected, "identity", "identities"), what, need, pastTense(act))
			}
			_, err := fmt.Fprintln(a.stderr, msg)
			return err
		}
		pctx, plan, err := a.planContext(ctx, n)
		if err != nil {
			return err
		}
		if plan != nil {
			failed := 0
			err := bk.BulkApply(pctx, n.ID, sel, act, exp, func(r backend.BulkResult) bool {
				if r.Err != nil {
					failed++
					fmt.Fprintln(a.stderr, "idcon: "+safetext.Clean(fmt.Sprintf("%s could not be planned: %s", displayName(r.Identity.Name), trimAdvice(describe(r.Err)))))
				}
				return true
			})
			if err != nil {
				return err
			}
			return a.reportPlan(n, fmt.Sprintf("%s %s %s", actionPhrase(act), plural(sum.Eligible, "identity", "identities"), what), plan, asJSON)
		}
		var tf *tokenFile
		if outFile != "" {
			if tf, err = a.prepareTokenFile(outFile); err != nil {
				return err
			}
			defer tf.discard()
		}
		if !yes {
			q := fmt.Sprintf("%s %s %s?%s%s", titleCase(actionPhrase(act)), plural(sum.Eligible, "identity", "identities"), what,
				sessionsNote(act, sum.Sessions), skippedNote(act, sum))
			if err := a.confirm(q, fmt.Sprintf("nothing was %s", pastTense(act))); err != nil {
				return err
			}
		}

		// The run allocates as it goes (rows read, tokens signed, lines
		// written) over a live heap of about 10 MB: at the default GOGC a
		// reset of 100,000 collected 230 times, 0.96 s of CPU on the core
		// the signing needs, against 39 times and 0.18 s at 400 (about
		// 40 MB more at the peak). This process does nothing else.
		defer debug.SetGCPercent(debug.SetGCPercent(400))

		var out io.Writer = a.stdout
		if tf != nil {
			out = tf
		}
		// A file gets a large buffer: 100,000 tokens are 50 MB, written a
		// few hundred system calls at a time. Standard output keeps the
		// usual one, so that what reads it gets tokens as they come.
		size := 4096
		if tf != nil && tf.IsFile() {
			size = 256 << 10
		}
		w := bufio.NewWriterSize(out, size)
		enc := jsonLines{w} // escapes what a terminal would act on (jsonline.go)
		rep := bulkReport{Skipped: sum.Skipped, SignedIn: sum.SignedIn}
		var writeErr error
		runErr := bk.BulkApply(ctx, n.ID, sel, act, exp, func(r backend.BulkResult) bool {
			if r.Err != nil {
				rep.Failed++
				fmt.Fprintln(a.stderr, "idcon: "+safetext.Clean(fmt.Sprintf("%s was not %s: %s",
					displayName(r.Identity.Name), pastTense(act), trimAdvice(describe(r.Err)))))
				return true
			}
			rep.Done++
			rep.SessionsDropped += r.Token.SessionsDropped
			// The name is written as stored: JSON escapes what a terminal
			// would act on, and scripts need the exact name.
			line := bulkTokenJSON{Identity: r.Identity.Name, ID: r.Identity.ID, JWT: r.Token.JWT, ExpiresAt: jsonTime(r.Token.ExpiresAt)}
			if writeErr = enc.Encode(line); writeErr != nil {
				return false
			}
			if a.bulkDone != nil {
				a.bulkDone(ctx, rep.Done)
			}
			return true
		})
		var undone *backend.UndoneError
		if errors.As(runErr, &undone) {
			// Reported (and written) as done, then not kept.
			for _, r := range undone.Results {
				rep.Done--
				rep.SessionsDropped -= r.Token.SessionsDropped
				rep.Failed++
				fmt.Fprintln(a.stderr, "idcon: "+safetext.Clean(fmt.Sprintf("%s was not %s after all (its batch could not be saved); the token written for it is void",
					displayName(r.Identity.Name), pastTense(act))))
			}
		}
		if err := w.Flush(); err != nil && writeErr == nil {
			writeErr = err
		}
		if tf != nil && writeErr == nil {
			if err := tf.Commit(); err != nil {
				writeErr = err
			}
		}
		rep.Stopped = runErr != nil
		if tf != nil && tf.IsFile() && writeErr == nil {
			rep.File = tf.Path()
		}
		if writeErr != nil {
			return failf("%s %s, but the tokens could not be written (%s); get each with %s",
				pastTense(act), plural(rep.Done, "identity", "identities"), pathErr(writeErr), a.netHint("enrollment", "jwt", "NAME"))
		}
		if err := a.bulkSummary(act, rep, tf, asJSON); err != nil {
			return err
		}
		switch {
		case runErr != nil && errors.Is(runErr, context.Canceled):
			return failf("stopped before the end: %s %s and the others were left as they were; run the command again to go on",
				plural(rep.Done, "identity was", "identities were"), pastTense(act))
		case runErr != nil:
			return runErr
		case rep.Failed > 0:
			return errReported // each failure has had its line
		}
		return nil
	})
}

// bulkSummary says how the run went: on stdout when the tokens went to a
// file, else on stderr (stdout holds the tokens).
func (a *app) bulkSummary(act model.Action, rep bulkReport, tf *tokenFile, asJSON bool) error {
	w := a.stderr
	if tf != nil && !tf.IsStdout() {
		w = a.stdout
		if asJSON {
			return writeJSON(w, rep)
		}
	}
	s := fmt.Sprintf("%s %s", pastTense(act), plural(rep.Done, "identity", "identities"))
	if act == model.ActionReset {
		s += fmt.Sprintf(" (%s dropped)", plural(rep.SessionsDropped, "session", "sessions"))
	}
	if rep.Failed > 0 {
		s += fmt.Sprintf("; %s failed (see above)", fmtCount(rep.Failed))
	}
	if n := rep.Skipped - rep.SignedIn; n > 0 {
		s += fmt.Sprintf("; %s skipped: their state doesn't allow it", fmtCount(n))
	}
	if rep.SignedIn > 0 {
		s += "; " + signedInNote(rep.SignedIn)
	}
	if tf != nil {
		s += fmt.Sprintf("; the new tokens are %s, one JSON line each", safetext.Clean(tf.where()))
	}
	_, err := fmt.Fprintln(w, s)
	return err
}

// selectionWords describes --all's selection: `matching "lab" in state
// enrolled in network demo`.
func selectionWords(n model.Network, f bulkFlags) string {
	var parts []string
	if f.filter != "" {
		parts = append(parts, fmt.Sprintf("matching %q", safetext.Line(f.filter, 40)))
	}
	if f.state != "" {
		parts = append(parts, "in state "+f.state)
	}
	parts = append(parts, "in network "+displayName(n.Name))
	return strings.Join(parts, " ")
}

// actionPhrase is what the confirmation asks to do.
func actionPhrase(act model.Action) string {
	if act == model.ActionReissue {
		return "reissue the enrollment of"
	}
	return "reset the enrollment of"
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func sessionsNote(act model.Action, sessions int) string {
	if act != model.ActionReset {
		return ""
	}
	if sessions == 0 {
		return " Their credentials stop working; none has an active session."
	}
	return fmt.Sprintf(" Their credentials stop working and %s drop now.", plural(sessions, "active session", "active sessions"))
}

// signedInNote says why the identity idcon is signed in as was skipped.
func signedInNote(n int) string {
	return fmt.Sprintf("%s skipped: idcon is signed in as %s, and resetting it would end this session; reset it from another admin account",
		fmtCount(n), map[bool]string{true: "it", false: "them"}[n == 1])
}

func skippedNote(act model.Action, sum backend.BulkSummary) string {
	if sum.SignedIn > 0 {
		rest := sum
		rest.Skipped -= sum.SignedIn
		rest.SignedIn = 0
		return skippedNote(act, rest) + " " + titleCase(signedInNote(sum.SignedIn)) + "."
	}
	if sum.Skipped == 0 {
		return ""
	}
	need, _ := backend.BulkState(act)
	var by []string
	for _, st := range model.States {
		if st != need && sum.ByState[st] > 0 {
			by = append(by, fmt.Sprintf("%s %s", fmtCount(sum.ByState[st]), st))
		}
	}
	return fmt.Sprintf(" %s skipped, not %s (%s).", fmtCount(sum.Skipped), need, strings.Join(by, ", "))
}
