package model

import "time"

// SortField names the column a list of identities is sorted by.
type SortField string

// The sortable columns.
const (
	SortName    SortField = "name"
	SortExpires SortField = "expires"
	SortCreated SortField = "created"
)

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
}

// Page is one page of identities and how many match the query in all.
type Page struct {
	Items []Identity
	Total int
}

// NewIdentity describes an identity to create with an initial token.
type NewIdentity struct {
	Name       string
	Email      string
	Attributes []string
	ExpiresAt  time.Time
}
