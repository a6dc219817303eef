package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"charm.land/bubbles/v2/key"
	"charm.land/bubbles/v2/progress"
	tea "charm.land/bubbletea/v2"
	"charm.land/lipgloss/v2"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// failuresShown is how many failures the summary lists by name.
const failuresShown = 8

type progressKeys struct {
	Cancel, Close key.Binding
}

// progressDialog shows a bulk run: a bar with the count, the rate and the
// time left while it runs, then the summary. Its numbers come from
// bulkProgressMsg; it draws the bar with ViewAs, so it needs no animation
// frames of its own.
type progressDialog struct {
	keyDialog
	action  model.Action
	total   int // eligible when confirmed
	skipped int
	keys    progressKeys
	bar     progress.Model

	started, now time.Time
	tally        bulkTally
	cancelling   bool

	finished bool
	failures []bulkFailure
	err      error // what stopped the whole run
}

func newProgressDialog(s *session, a model.Action, total, skipped int, now time.Time) *progressDialog {
	d := &progressDialog{keyDialog: keyDialog{s: s}, action: a, total: total, skipped: skipped, started: now, now: now}
	d.keys.Cancel = key.NewBinding(key.WithKeys("esc", "c"), key.WithHelp("esc/c", "cancel (stops after the identity under way)"))
	d.keys.Close = key.NewBinding(key.WithKeys("enter", "esc"), key.WithHelp("enter/esc", "close"), key.WithDisabled())
	d.binds = []keyAction{sends(&d.keys.Close, bulkClosedMsg{}), does(&d.keys.Cancel, func() tea.Cmd {
		if d.cancelling {
			return nil
		}
		return msgCmd(bulkCancelMsg{})
	})}
	d.restyle()
	return d
}

func (d *progressDialog) restyle() {
	d.bar = progress.New(progress.WithWidth(max(10, d.width)), progress.WithFillCharacters('█', '░'),
		progress.WithColors(d.s.styles.Title.GetForeground()), progress.WithoutPercentage())
}

func (d *progressDialog) Title() string { return bulkTitle(d.action) }

// Typing is true while the run goes on: the dialog takes every key, so q
// doesn't leave half way (ctrl+c still quits; the backend keeps each
// identity whole even then).
func (d *progressDialog) Typing() bool { return !d.finished }
func (d *progressDialog) SetSize(w, _ int) {
	d.width = w
	d.bar.SetWidth(max(10, w))
}
func (d *progressDialog) ShortHelp() []key.Binding  { return []key.Binding{d.keys.Cancel, d.keys.Close} }
func (d *progressDialog) FullHelp() [][]key.Binding { return oneColumn(d) }

func (d *progressDialog) progress(t bulkTally, now time.Time) {
	d.tally, d.now = t, now
}

func (d *progressDialog) finish(t bulkTally, failures []bulkFailure, err error, now time.Time) {
	d.tally, d.failures, d.err, d.now = t, failures, err, now
	d.finished = true
	d.keys.Cancel.SetEnabled(false)
	d.keys.Close.SetEnabled(true)
}

func bulkTitle(a model.Action) string {
	if a == model.ActionReissue {
		return "Reissue enrollment"
	}
	return "Reset enrollment"
}

// processed is how many identities the run has got through.
func (d *progressDialog) processed() int { return d.tally.done + d.tally.failed }

// rate is identities per second so far; ok is false until it can be told.
func (d *progressDialog) rate() (float64, bool) {
	el := d.now.Sub(d.started).Seconds()
	if el <= 0 || d.processed() == 0 {
		return 0, false
	}
	return float64(d.processed()) / el, true
}

func (d *progressDialog) View() string {
	if d.finished {
		return d.summaryView()
	}
	st := &d.s.styles
	var b strings.Builder
	verb := map[model.Action]string{model.ActionReset: "Resetting", model.ActionReissue: "Reissuing"}[d.action]
	b.WriteString(st.DialogTitle.Render(fmt.Sprintf("%s enrollment of %s", verb, plural(d.total, "identity", "identities"))) + "\n\n")
	pct := 0.0
	if d.total > 0 {
		pct = min(1, float64(d.processed())/float64(d.total))
	}
	b.WriteString(d.bar.ViewAs(pct) + "\n")
	line := fmt.Sprintf("%s of %s", fmtCount(d.processed()), fmtCount(d.total))
	if r, ok := d.rate(); ok {
		line += fmt.Sprintf(" · %s a second", fmtCount(int(r+0.5)))
		if left := d.total - d.processed(); left > 0 {
			line += " · about " + fmtDuration(time.Duration(float64(left)/r*float64(time.Second))) + " left"
		}
	}
	b.WriteString(line + "\n")
	b.WriteString(st.Muted.Render(d.tallyLine()) + "\n\n")
	if d.cancelling {
		b.WriteString(st.Error.Render("Cancelling: stopping after the identity under way…"))
	} else {
		b.WriteString(st.Muted.Render("esc or c cancels: what is finished stays finished."))
	}
	return b.String()
}

func (d *progressDialog) tallyLine() string {
	s := fmt.Sprintf("%s %s", fmtCount(d.tally.done), bulkPastTense(d.action))
	if d.action == model.ActionReset {
		s += ", " + plural(d.tally.dropped, "session", "sessions") + " dropped"
	}
	if d.tally.failed > 0 {
		s += ", " + fmtCount(d.tally.failed) + " failed"
	}
	return s
}

func (d *progressDialog) summaryView() string {
	st := &d.s.styles
	stopped := d.err != nil
	cancelled := errors.Is(d.err, context.Canceled)
	var b strings.Builder
	title := bulkTitle(d.action) + ": done"
	switch {
	case cancelled:
		title = bulkTitle(d.action) + ": cancelled"
	case stopped:
		title = bulkTitle(d.action) + ": stopped"
	}
	b.WriteString(st.DialogTitle.Render(title) + "\n\n")
	w := d.textWidth()
	para := func(s string) { b.WriteString(lipgloss.Wrap(s, w, " ") + "\n") }
	line := fmt.Sprintf("%s %s of %s.", titleWord(bulkPastTense(d.action)), fmtCount(d.tally.done), plural(d.total, "identity", "identities"))
	if d.action == model.ActionReset {
		line = fmt.Sprintf("Reset %s of %s: %s dropped.", fmtCount(d.tally.done), plural(d.total, "identity", "identities"),
			plural(d.tally.dropped, "session", "sessions"))
	}
	para(line)
	if left := d.total - d.processed(); stopped && left > 0 {
		why := "Cancelled"
		if !cancelled {
			why = "Stopped (" + safetext.Clean(describeErr(d.err)) + ")"
		}
		para(fmt.Sprintf("%s: %s not started, left as %s.", why, plural(left, "identity was", "identities were"), pronoun(left)))
	}
	if d.skipped > 0 {
		para(fmt.Sprintf("Skipped %s: their state doesn't allow it.", plural(d.skipped, "identity", "identities")))
	}
	if d.tally.failed > 0 {
		b.WriteString(st.Error.Render(fmt.Sprintf("Failed %s, left as %s:", fmtCount(d.tally.failed), pronoun(d.tally.failed))) + "\n")
		for i, f := range d.failures {
			if i == failuresShown {
				break
			}
			b.WriteString(safetext.Line("  "+f.name+": "+f.reason, w) + "\n")
		}
		if more := d.tally.failed - min(len(d.failures), failuresShown); more > 0 {
			b.WriteString(st.Muted.Render(fmt.Sprintf("  … and %s more", fmtCount(more))) + "\n")
		}
	}
	if d.tally.done > 0 {
		b.WriteString("\n")
		para(st.Muted.Render(fmt.Sprintf("The %s not kept here: hand each out from its page (or with idcon enrollment jwt NAME). "+
			"To get them all in one file, run the bulk action from the command line: idcon enrollment %s --all --filter TEXT -o FILE.",
			plural(d.tally.done, "new token is", "new tokens are"), d.action)))
	}
	return strings.TrimRight(b.String(), "\n")
}

func pronoun(n int) string {
	if n == 1 {
		return "it was"
	}
	return "they were"
}

func titleWord(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// fmtDuration says a time left in whole units: "45s", "3m 20s", "1h 5m".
func fmtDuration(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm %ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
}
