package ui

import (
	"slices"

	"charm.land/bubbles/v2/help"
	"charm.land/bubbles/v2/key"
	"github.com/charmbracelet/x/ansi"
)

// The help line must fit the narrowest terminal the console draws in
// (80 columns) without losing what matters: bubbles' help cuts the line at
// the width, which drops the global "? more keys" and "q quit" first, and a
// dialog's "enter submit • esc cancel" with them. fitHelp leaves keys out
// instead, least important first:
//
//  1. the global keys that aren't essential (n networks);
//  2. the focused component's keys from the end of its ShortHelp (which
//     lists them most important first), except those on enter or esc: they
//     finish or leave what is open, and go only when nothing else is left;
//  3. then those.
//
// The global "?" and quit keys always stay. What was left out is in the
// full help (?).

// fitHelp returns the bindings to show on one line of width cells: comp's
// enabled bindings, then the optional globals, then the essential globals.
func fitHelp(h help.Model, comp, optional, essential []key.Binding, width int) []key.Binding {
	var items []key.Binding
	for _, b := range slices.Concat(comp, optional, essential) {
		if b.Enabled() && b.Help().Key != "" {
			items = append(items, b)
		}
	}
	sepW := ansi.StringWidth(h.ShortSeparator)
	total := 0
	for i, b := range items {
		if i > 0 {
			total += sepW
		}
		total += helpWidth(b)
	}
	// The order in which bindings are left out.
	var drop []key.Binding
	drop = append(drop, reversed(optional)...)
	var finishing []key.Binding
	for _, b := range reversed(comp) {
		if finishes(b) {
			finishing = append(finishing, b)
		} else {
			drop = append(drop, b)
		}
	}
	drop = append(drop, finishing...)
	gone := map[*key.Binding]bool{}
	for _, d := range drop {
		if total <= width {
			break
		}
		for i := range items {
			if sameBinding(items[i], d) && !gone[&items[i]] {
				gone[&items[i]] = true
				total -= helpWidth(items[i]) + sepW
				break
			}
		}
	}
	out := make([]key.Binding, 0, len(items))
	for i := range items {
		if !gone[&items[i]] {
			out = append(out, items[i])
		}
	}
	return out
}

func helpWidth(b key.Binding) int {
	return ansi.StringWidth(b.Help().Key) + 1 + ansi.StringWidth(b.Help().Desc)
}

// finishes reports a binding on enter or esc.
func finishes(b key.Binding) bool {
	return slices.Contains(b.Keys(), "enter") || slices.Contains(b.Keys(), "esc")
}

// sameBinding compares bindings by what they show and answer to (bindings
// are values; the same one appears in both lists).
func sameBinding(a, b key.Binding) bool {
	return a.Help() == b.Help() && slices.Equal(a.Keys(), b.Keys()) && a.Enabled() == b.Enabled()
}

func reversed(bs []key.Binding) []key.Binding {
	out := slices.Clone(bs)
	slices.Reverse(out)
	return out
}
