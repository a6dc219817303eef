package model

import (
	"strings"
	"time"
)

// SortField names the column a list of identities is sorted by. Each
// field has one natural order, the one an admin wants first; Desc asks for
// its reverse.
type SortField string

// The sortable columns.
const (
	// SortName: names as people read them (NameKey), then ID.
	SortName SortField = "name"
	// SortExpires: the soonest token expiry first, ties in a stable order
	// of the backend's; identities without a token come after every one
	// with a token, in name order, either way.
	SortExpires SortField = "expires"
	// SortCreated: the oldest first, then ID.
	SortCreated SortField = "created"
	// SortState: lifecycle order (States: enrolled, pending, expired,
	// none), by name within a state. Desc reverses the whole order.
	SortState SortField = "state"
	// SortSessions: the most active sessions first, by name among equal
	// counts. Desc reverses the whole order.
	SortSessions SortField = "sessions"
)

// SortFields lists every sort, in the order the console cycles through
// the ones a list offers.
var SortFields = []SortField{SortName, SortState, SortExpires, SortSessions, SortCreated}

// ParseSortField turns a sort's name into a SortField; ok is false for
// anything else.
func ParseSortField(s string) (SortField, bool) {
	for _, f := range SortFields {
		if string(f) == s {
			return f, true
		}
	}
	return "", false
}

// ParseSort reads a sort as an admin writes it: a field's name (expiry
// is taken for expires, the word the console says), led by "-" for the
// reverse order ("-expiry": the latest expiry first). ok is false for
// anything else.
func ParseSort(s string) (f SortField, desc, ok bool) {
	if rest, found := strings.CutPrefix(s, "-"); found {
		s, desc = rest, true
	}
	if s == "expiry" {
		s = string(SortExpires)
	}
	f, ok = ParseSortField(s)
	return f, desc && ok, ok
}

// StateRank is a state's place in lifecycle order (States), which
// SortState sorts by; -1 for an unknown state.
func StateRank(s State) int {
	for i, st := range States {
		if st == s {
			return i
		}
	}
	return -1
}

// MaxPageSize is the most identities one page may hold.
const MaxPageSize = 500

// ListQuery asks for one page of a network's identities.
type ListQuery struct {
	// Filter matches identities whose name or email contains it, ignoring
	// case. It is literal text, never query syntax.
	Filter string
	// State keeps only identities in that state; empty keeps all.
	State State
	Sort  SortField // empty means SortName
	Desc  bool
	// Offset and Limit select the page; Limit 0 means a default page size.
	Offset int
	Limit  int
	// Quick asks for the page now rather than an exact total: a backend
	// whose count would take long (a controller's state filter reads
	// every enrollment and authenticator to count a state) may answer
	// the page with Counting set and Total the matches it has seen, a
	// lower bound. The same query without Quick answers exactly.
	Quick bool
}

// Page is one page of identities and how many match the query in all.
type Page struct {
	Items []Identity
	Total int
	// Counting says Total is a lower bound: the count is still being
	// taken (only ever set for a Quick query).
	Counting bool
}

// NewIdentity describes an identity to create with an initial token.
type NewIdentity struct {
	Name       string
	Email      string
	Attributes []string
	ExpiresAt  time.Time
}
