package embedded

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// Revisions: an identity starts at revision 1, and every change to it or
// its enrollment adds one: enroll, reset, reissue, delete (and edits). A
// session connecting or disconnecting does NOT: it changes nothing the
// admin decides on, and bumping it would make an admin's reset fail each
// time a device reconnects.

// CreateIdentity creates an identity holding a new token that expires at
// req.ExpiresAt.
func (s *Store) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	if err := model.ValidateName(req.Name); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	if err := model.ValidateEmail(req.Email); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	for _, a := range req.Attributes {
		if err := validateAttribute(a); err != nil {
			return backend.Token{}, err
		}
	}
	attrs, err := json.Marshal(nonNil(req.Attributes))
	if err != nil {
		return backend.Token{}, backend.Invalid("attributes: %v", err)
	}
	var out backend.Token
	err = s.write(ctx, "creating identity "+quote(req.Name), func(tx *sql.Tx, now time.Time) error {
		n, err := networkByID(ctx, tx, network)
		if err != nil {
			return err
		}
		if err := s.checkExpiry(now, req.ExpiresAt); err != nil {
			return err
		}
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM identities WHERE network_id = ? AND name = ?`, network, req.Name).Scan(&taken); err != nil {
			return err
		}
		if taken > 0 {
			return backend.Conflict("an identity named %q already exists in network %s: choose another name", req.Name, n.name)
		}
		id := uuid.NewString()
		_, err = tx.ExecContext(ctx, `INSERT INTO identities
			(id, network_id, name, name_fold, name_key, email, email_fold, attributes, revision, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
			id, network, req.Name, strings.ToLower(req.Name), model.NameKey(req.Name), req.Email, strings.ToLower(req.Email), string(attrs), unixNano(now))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE networks SET identities = identities + 1 WHERE id = ?`, network); err != nil {
			return err
		}
		g := newGramCounter(network)
		g.add(strings.ToLower(req.Name), strings.ToLower(req.Email))
		if err := g.flush(ctx, tx); err != nil {
			return err
		}
		out, err = issue(ctx, tx, n, id, now, req.ExpiresAt)
		return err
	})
	return out, err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func validateAttribute(a string) error {
	switch {
	case strings.TrimSpace(a) == "":
		return backend.Invalid("an attribute is empty: remove it or give it a name such as staff")
	case len(a) > model.MaxNameLen:
		return backend.Invalid("the attribute %.20q… is %d bytes long: use at most %d", a, len(a), model.MaxNameLen)
	case !utf8.ValidString(a):
		return backend.Invalid("an attribute is not valid UTF-8")
	}
	for _, r := range a {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return backend.Invalid("an attribute contains the control character %U: remove it", r)
		}
	}
	return nil
}

func (s *Store) checkExpiry(now, expires time.Time) error {
	if expires.IsZero() {
		return backend.Invalid("no expiry given: choose when the token expires, e.g. +7d")
	}
	if err := s.policy.Validate(now, expires); err != nil {
		return classed(backend.ErrInvalid, err, "%v", err) // keeps model.ErrExpiryPast/TooFar
	}
	return nil
}

// issue signs a new token for identity id, makes it the identity's current
// one (the caller has retired any previous one) and bumps the revision.
func issue(ctx context.Context, tx *sql.Tx, n *network, id string, now, expires time.Time) (backend.Token, error) {
	jti, signed, err := n.issueToken(id, now, expires)
	if err != nil {
		return backend.Token{}, fmt.Errorf("signing the token: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO tokens (id, identity_id, jwt, status, created_at, expires_at)
		VALUES (?, ?, ?, 'current', ?, ?)`, jti, id, signed, unixNano(now), unixNano(expires)); err != nil {
		return backend.Token{}, err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE identities SET token_id = ?, token_created_at = ?, token_expires_at = ?,
		revision = revision + 1 WHERE id = ?`, jti, unixNano(now), unixNano(expires), id); err != nil {
		return backend.Token{}, err
	}
	x, err := identityByID(ctx, tx, n.id, id)
	if err != nil {
		return backend.Token{}, err
	}
	return backend.Token{Identity: x, JWT: signed, ExpiresAt: x.Enrollment.ExpiresAt}, nil
}

// retireToken ends the identity's current token with a reason (used,
// replaced or deleted) and forgets the secret.
func retireToken(ctx context.Context, tx *sql.Tx, x model.Identity, status string, now time.Time) error {
	if x.Enrollment == nil {
		return nil
	}
	_, err := tx.ExecContext(ctx, `UPDATE tokens SET status = ?, jwt = NULL, ended_at = ? WHERE id = ?`,
		status, unixNano(now), x.Enrollment.ID)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE identities SET token_id = NULL, token_created_at = NULL, token_expires_at = NULL
		WHERE id = ?`, x.ID)
	return err
}

// mutable checks that the caller may change x with action a: the
// revision must be the one the caller saw and the state must allow a.
func mutable(x model.Identity, revision int64, a model.Action, now time.Time) error {
	if x.Revision != revision {
		return backend.Conflict("%s changed since you loaded it (revision %d, now %d): reload and try again", x.Name, revision, x.Revision)
	}
	if st := x.State(now); !model.Allows(st, a) {
		return backend.Conflict("%s", wrongState(x, st, a))
	}
	return nil
}

// wrongState says why action a doesn't fit state st and what would.
func wrongState(x model.Identity, st model.State, a model.Action) string {
	var need, instead string
	switch a {
	case model.ActionReset:
		need = "reset needs an enrolled identity"
	case model.ActionReissue:
		need = "reissue needs an expired token"
	case model.ActionDelete:
		need = "delete needs a valid, unused token"
	default:
		need = string(a) + " is not possible"
	}
	switch st {
	case model.StatePending:
		instead = fmt.Sprintf("its token is unused and valid until %s; delete the token or wait for it to expire",
			x.Enrollment.ExpiresAt.Format("2006-01-02 15:04 MST"))
		if a == model.ActionReset {
			instead = "delete the token or wait for it to expire"
		}
	case model.StateExpired:
		instead = "reissue the token instead"
	case model.StateEnrolled:
		instead = "reset the enrollment instead"
	case model.StateNone:
		instead = "it has neither a credential nor a token, so there is nothing to change"
	}
	return fmt.Sprintf("%s is %s: %s; %s", x.Name, st, need, instead)
}

// ResetEnrollment (enrolled identities only) revokes the identity's
// certificates, drops its sessions and issues a new token, in one
// transaction.
func (s *Store) ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	var out backend.Token
	err := s.writeRetiring(ctx, "resetting the enrollment of "+quote(id), func(tx *sql.Tx, now time.Time) error {
		n, err := networkByID(ctx, tx, network)
		if err != nil {
			return err
		}
		x, err := identityByID(ctx, tx, network, id)
		if err != nil {
			return err
		}
		if err := s.checkExpiry(now, expiresAt); err != nil {
			return err
		}
		if err := mutable(x, revision, model.ActionReset, now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE certificates SET revoked_at = ? WHERE identity_id = ? AND revoked_at IS NULL`,
			unixNano(now), id); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE identity_id = ?`, id)
		if err != nil {
			return err
		}
		dropped, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET has_credential = 0, active_sessions = 0 WHERE id = ?`, id); err != nil {
			return err
		}
		if err := retireToken(ctx, tx, x, "replaced", now); err != nil {
			return err
		}
		out, err = issue(ctx, tx, n, id, now, expiresAt)
		out.SessionsDropped = int(dropped)
		return err
	})
	return out, err
}

// ReissueEnrollment (expired tokens only) replaces the token with a new one
// expiring at expiresAt; the old one is refused from then on.
func (s *Store) ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	var out backend.Token
	err := s.writeRetiring(ctx, "reissuing the token of "+quote(id), func(tx *sql.Tx, now time.Time) error {
		n, err := networkByID(ctx, tx, network)
		if err != nil {
			return err
		}
		x, err := identityByID(ctx, tx, network, id)
		if err != nil {
			return err
		}
		if err := s.checkExpiry(now, expiresAt); err != nil {
			return err
		}
		if err := mutable(x, revision, model.ActionReissue, now); err != nil {
			return err
		}
		if err := retireToken(ctx, tx, x, "replaced", now); err != nil {
			return err
		}
		out, err = issue(ctx, tx, n, id, now, expiresAt)
		return err
	})
	return out, err
}

// DeleteEnrollment (valid unused tokens only) removes the token; the
// identity is then in state none.
func (s *Store) DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error) {
	var out model.Identity
	err := s.writeRetiring(ctx, "deleting the token of "+quote(id), func(tx *sql.Tx, now time.Time) error {
		x, err := identityByID(ctx, tx, network, id)
		if err != nil {
			return err
		}
		if err := mutable(x, revision, model.ActionDelete, now); err != nil {
			return err
		}
		if err := retireToken(ctx, tx, x, "deleted", now); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE identities SET revision = revision + 1 WHERE id = ?`, id); err != nil {
			return err
		}
		out, err = identityByID(ctx, tx, network, id)
		return err
	})
	return out, err
}

// TokenJWT returns the identity's current token if it is valid and unused.
// The result is a secret.
func (s *Store) TokenJWT(ctx context.Context, network, id string) (string, error) {
	var out string
	err := s.read(ctx, "reading the token of "+quote(id), func(tx *sql.Tx, now time.Time) error {
		x, err := identityByID(ctx, tx, network, id)
		if err != nil {
			return err
		}
		switch st := x.State(now); st {
		case model.StatePending:
		case model.StateExpired:
			return backend.Conflict("%s's token expired on %s: reissue it to get a new one", x.Name, x.Enrollment.ExpiresAt.Format("2006-01-02 15:04 MST"))
		case model.StateEnrolled:
			return backend.Conflict("%s is enrolled: its token was used; reset the enrollment to get a new one", x.Name)
		default:
			return backend.Conflict("%s has no token (state %s)", x.Name, st)
		}
		var jwt sql.NullString
		err = tx.QueryRowContext(ctx, `SELECT jwt FROM tokens WHERE id = ?`, x.Enrollment.ID).Scan(&jwt)
		if errors.Is(err, sql.ErrNoRows) || (err == nil && !jwt.Valid) {
			return backend.NotFound("%s's token is not stored in this database: reissue or reset it", x.Name)
		}
		out = jwt.String
		return err
	})
	return out, err
}
