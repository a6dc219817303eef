package openziti

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// identityType is the type idcon gives the identities it creates: current
// controllers fold User, Device and Service into Default.
const identityType = "Default"

// maxSessionSweeps bounds the rounds of listing and deleting API sessions
// after a reset (each round takes up to a full page).
const maxSessionSweeps = 20

// stamp formats a time for the API.
func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

type createdWire struct {
	ID string `json:"id"`
}

type expiresAtBody struct {
	ExpiresAt string `json:"expiresAt"`
}

// CreateIdentity creates an identity and its one-time token. The identity
// is created first and the token after (POST /enrollments, which honours
// the expiry; identityCreate's enrollment.ott would use the controller's
// default lifetime). If the token can't be made, the identity is deleted
// again, so nothing is left half-done.
func (c *Client) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	if err := c.checkNetwork(network); err != nil {
		return backend.Token{}, err
	}
	if err := model.ValidateName(req.Name); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	if err := model.ValidateEmail(req.Email); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	if err := c.cfg.Policy.Validate(c.now(), req.ExpiresAt); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()

	existing, err := c.findByName(ctx, req.Name)
	if err != nil {
		return backend.Token{}, err
	}
	if existing != nil {
		return backend.Token{}, backend.Conflict("an identity named %q already exists in %s", req.Name, c.cfg.Name)
	}

	body := map[string]any{"name": req.Name, "type": identityType, "isAdmin": false}
	if len(req.Attributes) > 0 {
		body["roleAttributes"] = req.Attributes
	}
	if req.Email != "" {
		body["tags"] = map[string]string{emailTag: req.Email}
	}
	var created envelope[createdWire]
	if err := c.call(ctx, http.MethodPost, "/identities", nil, body, &created); err != nil {
		if errors.Is(err, backend.ErrConflict) {
			return backend.Token{}, backend.Conflict("an identity named %q already exists in %s", req.Name, c.cfg.Name)
		}
		return backend.Token{}, err
	}
	id := created.Data.ID
	if id == "" {
		return backend.Token{}, backend.Unavailable("the controller created identity %q but didn't say its ID: look for it before trying again", req.Name)
	}
	enroll := map[string]string{"method": "ott", "identityId": id, "expiresAt": stamp(req.ExpiresAt)}
	if err := c.call(ctx, http.MethodPost, "/enrollments", nil, enroll, nil); err != nil {
		// Undo on a context of its own: ctx may be the one that ran out.
		undoCtx, undoCancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer undoCancel()
		if uerr := c.call(undoCtx, http.MethodDelete, "/identities/"+url.PathEscape(id), nil, nil, nil); uerr != nil && !errors.Is(uerr, backend.ErrNotFound) {
			return backend.Token{}, &backend.Error{Kind: backend.Kind(err), Msg: fmt.Sprintf(
				"identity %q was created but its token could not be made (%v), and removing it failed too (%v): delete it by hand", req.Name, err, uerr)}
		}
		return backend.Token{}, err
	}
	return c.tokenOf(ctx, id)
}

// tokenOf re-reads an identity after an action and returns its token.
func (c *Client) tokenOf(ctx context.Context, id string) (backend.Token, error) {
	w, err := c.getIdentity(ctx, id)
	if err != nil {
		return backend.Token{}, err
	}
	m, err := c.detail(ctx, w)
	if err != nil {
		return backend.Token{}, err
	}
	e := w.current()
	if e == nil || e.JWT == "" {
		return backend.Token{Identity: m}, backend.Unavailable("the controller made the change but shows no token for %q: reload the identity", w.Name)
	}
	return backend.Token{Identity: m, JWT: e.JWT, ExpiresAt: e.ExpiresAt.Time}, nil
}

// prepare re-reads the identity before a change: it must still be at the
// revision the admin saw and in a state that allows the action.
func (c *Client) prepare(ctx context.Context, id string, revision int64, action model.Action) (*identityWire, model.Identity, error) {
	w, err := c.getIdentity(ctx, id)
	if err != nil {
		return nil, model.Identity{}, err
	}
	m, err := c.detail(ctx, w)
	if err != nil {
		return nil, model.Identity{}, err
	}
	if m.Revision != revision {
		return nil, model.Identity{}, backend.Conflict("%q changed since it was loaded: reload it and try again", w.Name)
	}
	if st := m.State(c.now()); !model.Allows(st, action) {
		return nil, model.Identity{}, backend.Conflict("%q is %s: %s is not possible in that state", w.Name, st, action.Title())
	}
	return w, m, nil
}

// ResetEnrollment reverts the identity's credential to a new one-time token
// (POST /authenticators/{id}/re-enroll, which deletes the authenticator and
// the API sessions that logged in with it), then deletes every API session
// the identity still has. SessionsDropped is the number of sessions it had
// when the reset began, or the number deleted afterwards if more (sessions
// may open meanwhile). The controller does the re-enroll atomically; if
// deleting leftover sessions fails, the token has been issued all the same
// and comes back with the error.
func (c *Client) ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	if err := c.checkNetwork(network); err != nil {
		return backend.Token{}, err
	}
	if err := c.cfg.Policy.Validate(c.now(), expiresAt); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	w, m, err := c.prepare(ctx, id, revision, model.ActionReset)
	if err != nil {
		return backend.Token{}, err
	}
	before := m.ActiveSessions
	err = c.reEnroll(ctx, w.authenticatorID(), expiresAt)
	if errors.Is(err, backend.ErrNotFound) {
		return backend.Token{}, backend.Conflict("%q's credential changed meanwhile: reload it and try again", w.Name)
	}
	if err != nil {
		return backend.Token{}, err
	}
	dropped, dropErr := c.dropSessions(ctx, id)
	tok, err := c.tokenOf(ctx, id)
	tok.SessionsDropped = max(before, dropped)
	if dropErr != nil {
		return tok, backend.Unavailable("the enrollment was reset and a new token issued, but some sessions could not be ended: %v", dropErr)
	}
	return tok, err
}

// dropSessions deletes every API session of the identity and says how many
// it deleted.
func (c *Client) dropSessions(ctx context.Context, id string) (int, error) {
	f, err := identityRefFilter(id)
	if err != nil {
		return 0, err
	}
	dropped := 0
	for range maxSessionSweeps {
		var page listEnvelope[struct {
			ID string `json:"id"`
		}]
		q := url.Values{"filter": {f}, "limit": {"500"}}
		if err := c.call(ctx, http.MethodGet, "/api-sessions", q, nil, &page); err != nil {
			return dropped, err
		}
		if len(page.Data) == 0 {
			return dropped, nil
		}
		for _, s := range page.Data {
			err := c.call(ctx, http.MethodDelete, "/api-sessions/"+url.PathEscape(s.ID), nil, nil, nil)
			switch {
			case err == nil:
				dropped++
			case errors.Is(err, backend.ErrNotFound): // ended on its own meanwhile
			default:
				return dropped, err
			}
		}
	}
	return dropped, backend.Unavailable("sessions kept reappearing after %d rounds of deleting them", maxSessionSweeps)
}

// ReissueEnrollment gives an expired token a new expiry and a new JWT
// (POST /enrollments/{id}/refresh). The controller answers with an empty
// body, so the identity is read again for the new JWT.
func (c *Client) ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	if err := c.checkNetwork(network); err != nil {
		return backend.Token{}, err
	}
	if err := c.cfg.Policy.Validate(c.now(), expiresAt); err != nil {
		return backend.Token{}, backend.Invalid("%v", err)
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	w, _, err := c.prepare(ctx, id, revision, model.ActionReissue)
	if err != nil {
		return backend.Token{}, err
	}
	err = c.refreshEnrollment(ctx, w.current().ID, expiresAt)
	if errors.Is(err, backend.ErrNotFound) {
		return backend.Token{}, backend.Conflict("%q's token changed meanwhile: reload it and try again", w.Name)
	}
	if err != nil {
		return backend.Token{}, err
	}
	return c.tokenOf(ctx, id)
}

// DeleteEnrollment removes the identity's unused token (DELETE
// /enrollments/{id}).
func (c *Client) DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error) {
	if err := c.checkNetwork(network); err != nil {
		return model.Identity{}, err
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	w, _, err := c.prepare(ctx, id, revision, model.ActionDelete)
	if err != nil {
		return model.Identity{}, err
	}
	err = c.deleteEnrollment(ctx, w.current().ID)
	if errors.Is(err, backend.ErrNotFound) {
		return model.Identity{}, backend.Conflict("%q's token changed meanwhile: reload it and try again", w.Name)
	}
	if err != nil {
		return model.Identity{}, err
	}
	// The deleted enrollment was the identity's newest record; writing the
	// identity (its own role attributes, unchanged) moves its updatedAt so
	// the revision still grows (see identityWire.revision). The deletion
	// stands if this fails: the revision has changed all the same.
	_ = c.touchIdentity(ctx, w)
	w, err = c.getIdentity(ctx, id)
	if err != nil {
		return model.Identity{}, err
	}
	return c.detail(ctx, w)
}

// TokenJWT returns the identity's valid, unused token.
func (c *Client) TokenJWT(ctx context.Context, network, id string) (string, error) {
	if err := c.checkNetwork(network); err != nil {
		return "", err
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	w, err := c.getIdentity(ctx, id)
	if err != nil {
		return "", err
	}
	if st := c.state(w); st != model.StatePending {
		return "", backend.Conflict("%q is %s: it has no valid unused token", w.Name, st)
	}
	e := w.current()
	if e.JWT == "" {
		return "", backend.Unavailable("the controller shows %q's token without its JWT", w.Name)
	}
	return e.JWT, nil
}

// The requests behind the actions, one each (the Prism contract test
// sends them as they are).

func (c *Client) reEnroll(ctx context.Context, authenticatorID string, expiresAt time.Time) error {
	return c.call(ctx, http.MethodPost, "/authenticators/"+url.PathEscape(authenticatorID)+"/re-enroll", nil, expiresAtBody{stamp(expiresAt)}, nil)
}

func (c *Client) refreshEnrollment(ctx context.Context, enrollmentID string, expiresAt time.Time) error {
	return c.call(ctx, http.MethodPost, "/enrollments/"+url.PathEscape(enrollmentID)+"/refresh", nil, expiresAtBody{stamp(expiresAt)}, nil)
}

func (c *Client) deleteEnrollment(ctx context.Context, enrollmentID string) error {
	return c.call(ctx, http.MethodDelete, "/enrollments/"+url.PathEscape(enrollmentID), nil, nil, nil)
}

// touchIdentity writes the identity's role attributes back unchanged, which
// moves its updatedAt.
func (c *Client) touchIdentity(ctx context.Context, w *identityWire) error {
	attrs := w.RoleAttributes
	if attrs == nil {
		attrs = []string{}
	}
	return c.call(ctx, http.MethodPatch, "/identities/"+url.PathEscape(w.ID), nil, map[string]any{"roleAttributes": attrs}, nil)
}
