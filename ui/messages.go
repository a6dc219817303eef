package ui

import (
	"time"

	"github.com/idcon/idcon/model"
)

// Messages the rooms and several flows share (each flow declares its own in
// its file). They travel up from screens and dialogs to the router, which
// hands them to the flows, and back from the tea.Cmds that do I/O. Results
// carry the sequence number of their request so that a stale answer never
// overwrites a newer one.
type (
	// pageLoadedMsg answers a page request of the identities list. gen
	// identifies the query (filter, state, page size) it was asked for.
	pageLoadedMsg struct {
		gen    int
		offset int
		page   model.Page
		err    error
		took   time.Duration // how long the backend took, which paces the list's poll
	}
	// filterTickMsg fires when the filter has been still for the debounce
	// delay; only the tick carrying the latest seq applies the filter.
	filterTickMsg struct{ seq int }

	// openIdentityMsg: the admin pressed enter on a row.
	openIdentityMsg struct{ identity model.Identity }
	// backMsg: the screen on top asks to be closed.
	backMsg struct{}
	// identityLoadedMsg answers a (re)load of the identity being edited.
	identityLoadedMsg struct {
		seq      int
		identity model.Identity
		err      error
		note     string // said in a toast once loaded, e.g. after a conflict
	}

	// actionRequestedMsg: the admin asked for an enrollment action or a
	// delivery (the action, handover and clipboard flows answer it).
	actionRequestedMsg struct{ action model.Action }

	// datePickedMsg: the date picker was submitted with a valid expiry.
	datePickedMsg struct{ expiresAt time.Time }
	// confirmedMsg and cancelledMsg close a dialog.
	confirmedMsg struct{}
	cancelledMsg struct{}

	// toastExpiredMsg removes a toast.
	toastExpiredMsg struct{ id int }
	// noteMsg: a screen has something to say in a toast.
	noteMsg struct {
		text string
		kind toastKind
	}
	// copyRequestedMsg: put text on the admin's clipboard; what names it
	// in the toast ("The ID of laptop-alice").
	copyRequestedMsg struct{ what, text string }
)
