// Package backend defines the contract between idcon's front ends (the
// console, the CLI, the SSH server) and the systems that hold identities:
// the Backend interface, its typed errors, and (in backendtest) the
// conformance suite every implementation passes.
package backend

import (
	"context"
	"time"

	"github.com/idcon/idcon/model"
)

// Backend manages the identities and enrollments of one or more networks.
// Networks and identities are named by their IDs. Every method honours its
// context's deadline and cancellation. Errors are classed by the sentinels
// in errors.go (test them with errors.Is).
type Backend interface {
	// Networks lists the networks this backend serves.
	Networks(ctx context.Context) ([]model.Network, error)

	// Identities returns one page of a network's identities and the number
	// matching the query in all. It never loads every identity.
	Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error)

	// Identity returns one identity by ID.
	Identity(ctx context.Context, network, id string) (model.Identity, error)

	// IdentityByName returns the identity with exactly this name (names are
	// unique within a network).
	IdentityByName(ctx context.Context, network, name string) (model.Identity, error)

	// CreateIdentity creates an identity holding a new token that expires
	// at req.ExpiresAt. A name already taken in the network is a conflict.
	CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (Token, error)

	// ResetEnrollment (enrolled identities only) invalidates the identity's
	// credentials, drops every session and issues a new token, atomically.
	ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (Token, error)

	// ReissueEnrollment (expired tokens only) replaces the token with a new
	// one that expires at expiresAt; the old token stops working.
	ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (Token, error)

	// DeleteEnrollment (valid unused tokens only) removes the token; the
	// identity is then in state none.
	DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error)

	// TokenJWT returns the identity's current token, which must be valid and
	// unused. The result is a secret: never log it.
	TokenJWT(ctx context.Context, network, id string) (string, error)

	// Close releases what the backend holds.
	Close() error
}

// Token is the result of an action that issues a new enrollment token.
type Token struct {
	Identity  model.Identity // the identity after the change
	JWT       string         // the new token: a secret
	ExpiresAt time.Time
	// SessionsDropped is how many sessions a reset ended (zero otherwise).
	SessionsDropped int
}
