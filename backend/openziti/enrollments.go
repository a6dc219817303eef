package openziti

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
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
	for _, a := range req.Attributes {
		if err := model.ValidateAttribute(a); err != nil {
			return backend.Token{}, backend.Invalid("%v", err)
		}
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
	err = c.call(ctx, http.MethodPost, "/identities", nil, body, &created)
	if _, maybe := errorsAs[*MaybeDoneError](err); maybe {
		// The node died after it got the create: look for the identity on
		// another node, and create it only if it isn't there.
		if w, ferr := c.findByName(ctx, req.Name); ferr != nil {
			err = fmt.Errorf("%w; looking for it failed too (%v): list identities named %q before trying again", err, ferr, req.Name)
		} else if w != nil {
			created.Data.ID, err = w.ID, nil
		} else {
			err = c.call(ctx, http.MethodPost, "/identities", nil, body, &created)
		}
	}
	if err != nil {
		if errors.Is(err, backend.ErrConflict) {
			return backend.Token{}, backend.Conflict("an identity named %q already exists in %s", req.Name, c.cfg.Name)
		}
		return backend.Token{}, err
	}
	id := created.Data.ID
	dry := backend.DryRunOf(ctx) != nil
	if dry {
		id = "NEW-IDENTITY-ID" // the controller would say it
	}
	if id == "" {
		return backend.Token{}, backend.Unavailable("the controller created identity %q but didn't say its ID: look for it before trying again", req.Name)
	}
	enroll := map[string]string{"method": "ott", "identityId": id, "expiresAt": stamp(req.ExpiresAt)}
	err = c.call(ctx, http.MethodPost, "/enrollments", nil, enroll, nil)
	if _, maybe := errorsAs[*MaybeDoneError](err); maybe {
		// Made or not: read the identity back on another node.
		if w, gerr := c.getIdentity(ctx, id); gerr == nil && w.current() != nil {
			err = nil
		} else if gerr == nil {
			err = c.call(ctx, http.MethodPost, "/enrollments", nil, enroll, nil)
		}
	}
	if err != nil {
		// Undo on a context of its own: ctx may be the one that ran out.
		undoCtx, undoCancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer undoCancel()
		if uerr := c.call(undoCtx, http.MethodDelete, "/identities/"+url.PathEscape(id), nil, nil, nil); uerr != nil && !errors.Is(uerr, backend.ErrNotFound) {
			return backend.Token{}, &backend.Error{Kind: backend.Kind(err), Msg: fmt.Sprintf(
				"identity %q was created but its token could not be made (%v), and removing it failed too (%v): delete it by hand", req.Name, err, uerr)}
		}
		return backend.Token{}, err
	}
	if dry {
		return backend.Token{Identity: model.Identity{NetworkID: c.networkID, Name: req.Name, Email: req.Email, Attributes: req.Attributes}}, nil
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
	if action == model.ActionReset && m.SignedIn {
		// Refused before anything changes: the re-enroll would end this
		// very session, and the new token could not be read back (a
		// controller's only admin would be locked out).
		return nil, model.Identity{}, backend.SignedIn("%q: %s", w.Name, m.Refusal(c.now(), action))
	}
	if !m.Allows(c.now(), action) {
		return nil, model.Identity{}, backend.Conflict("%q is %s: %s is not possible in that state", w.Name, m.State(c.now()), action.Title())
	}
	return w, m, nil
}

// ResetEnrollment ends every credential of the identity and gives it a new
// one-time token. A real controller's identity may hold several
// authenticators (a certificate per enrolled token, a password) while
// identityDetail names one of each method, and re-enroll acts on one
// authenticator only; so, step by step (docs/CONTROLLERS.md):
//
//  1. list every authenticator (GET /authenticators?filter=identity="ID");
//  2. delete any outstanding enrollment (a re-enroll beside one gets 409);
//  3. re-enroll one authenticator (a certificate if there is one: the new
//     token is an ott; a password only: a updb token, as the controller
//     makes it), which deletes it and its API sessions;
//  4. delete every other authenticator;
//  5. revoke the identity (POST /revocations; best effort: recorded not to
//     end legacy API sessions, but it does end OIDC tokens);
//  6. delete every API session left;
//  7. list the authenticators and sessions again: if any is left, the reset
//     is reported as incomplete, saying what still works and what to do,
//     never as done.
//
// The identity idcon is signed in as is refused before anything changes.
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
	auths, err := c.authenticatorsOf(ctx, id)
	if err != nil {
		return backend.Token{}, err
	}
	if len(auths) == 0 {
		return backend.Token{}, backend.Conflict("%q's credential changed meanwhile: reload it and try again", w.Name)
	}
	for _, e := range []*enrollmentWire{w.Enrollment.OTT, w.Enrollment.OTTCA, w.Enrollment.UPDB} {
		if e != nil && e.ID != "" {
			if err := c.deleteEnrollment(ctx, e.ID); err != nil && !errors.Is(err, backend.ErrNotFound) {
				return backend.Token{}, fmt.Errorf("nothing was reset: removing %q's outstanding token failed: %w", w.Name, err)
			}
		}
	}
	pick := 0
	for i, a := range auths {
		if a.Method == "cert" {
			pick = i
			break
		}
	}
	err = c.reEnroll(ctx, auths[pick].ID, expiresAt)
	if _, maybe := errorsAs[*MaybeDoneError](err); maybe {
		// The node died after it got the re-enroll: read back on another
		// node whether it was made (it deletes the authenticator and makes
		// an enrollment), and make it only if it wasn't.
		err = c.reEnrollOnce(ctx, id, auths[pick].ID, expiresAt, err)
	}
	if errors.Is(err, backend.ErrNotFound) {
		return backend.Token{}, backend.Conflict("%q's credential changed meanwhile: reload it and try again", w.Name)
	}
	if err != nil {
		return backend.Token{}, err
	}
	var problems []string
	for i, a := range auths {
		if i == pick {
			continue
		}
		if err := c.call(ctx, http.MethodDelete, "/authenticators/"+url.PathEscape(a.ID), nil, nil, nil); err != nil && !errors.Is(err, backend.ErrNotFound) {
			problems = append(problems, fmt.Sprintf("deleting its %s authenticator %s failed (%v)", a.Method, a.ID, err))
		}
	}
	_ = c.call(ctx, http.MethodPost, "/revocations", nil, map[string]string{"id": id, "type": "IDENTITY"}, nil)
	if backend.DryRunOf(ctx) != nil {
		// What is left to plan: the sessions the removed authenticators
		// don't take with them (recorded: re-enrolling or deleting an
		// authenticator ends its API sessions), and the revision.
		if err := c.planSessionDeletes(ctx, id, auths); err != nil {
			return backend.Token{}, err
		}
		_ = c.writeRevision(ctx, id)
		return backend.Token{Identity: m}, nil
	}
	dropped, dropErr := c.dropSessions(ctx, id)
	if dropErr != nil {
		problems = append(problems, fmt.Sprintf("ending its sessions failed (%v)", dropErr))
	}
	if left := c.stillWorking(ctx, id); left != "" {
		return backend.Token{}, backend.Unavailable("the reset of %q is incomplete: %s still work%s; reset it again, or remove them with the controller's own tools",
			w.Name, left, problemsNote(problems))
	}
	_ = c.writeRevision(ctx, id)
	tok, err := c.tokenOf(ctx, id)
	tok.SessionsDropped = max(before, dropped)
	return tok, err
}

// problemsNote adds what failed to an incomplete reset's message.
func problemsNote(problems []string) string {
	if len(problems) == 0 {
		return ""
	}
	return " (" + strings.Join(problems, "; ") + ")"
}

// authenticatorsOf lists every authenticator of an identity.
func (c *Client) authenticatorsOf(ctx context.Context, id string) ([]subRecord, error) {
	var out []subRecord
	err := c.eachRecord(ctx, "/authenticators", []string{id}, func(r *subRecord) { out = append(out, *r) })
	return out, err
}

// stillWorking says what of the identity still works after a reset: its
// credentials and sessions ("" for none, as a reset must leave it). A
// check that can't be made counts as something left.
func (c *Client) stillWorking(ctx context.Context, id string) string {
	auths, err := c.authenticatorsOf(ctx, id)
	if err != nil {
		return "its credentials could not be checked (" + err.Error() + ") and may"
	}
	sessions := 0
	err = c.eachRecord(ctx, "/api-sessions", []string{id}, func(*subRecord) { sessions++ })
	if err != nil {
		return "its sessions could not be checked (" + err.Error() + ") and may"
	}
	var parts []string
	byMethod := map[string]int{}
	for _, a := range auths {
		byMethod[a.Method]++
	}
	for _, m := range []string{"cert", "updb"} {
		switch n := byMethod[m]; {
		case n == 0:
		case m == "cert":
			parts = append(parts, fmt.Sprintf("%d certificate(s)", n))
		default:
			parts = append(parts, fmt.Sprintf("%d password(s)", n))
		}
		delete(byMethod, m)
	}
	for m, n := range byMethod {
		parts = append(parts, fmt.Sprintf("%d %s authenticator(s)", n, m))
	}
	if sessions > 0 {
		parts = append(parts, fmt.Sprintf("%d API session(s)", sessions))
	}
	return strings.Join(parts, " and ")
}

// planSessionDeletes plans, in a dry run, the DELETE of each API session
// of the identity that isn't one of auths' (those go with them), in the
// order dropSessions would send them.
func (c *Client) planSessionDeletes(ctx context.Context, id string, auths []subRecord) error {
	if c.signedInWithOIDC() {
		return nil // dropSessions sends none
	}
	f, err := identityRefFilter(id)
	if err != nil {
		return err
	}
	var page listEnvelope[struct {
		ID              string `json:"id"`
		AuthenticatorID string `json:"authenticatorId"`
	}]
	if err := c.call(ctx, http.MethodGet, "/api-sessions", url.Values{"filter": {f}, "limit": {"500"}}, nil, &page); err != nil {
		return err
	}
	for _, s := range page.Data {
		if !slices.ContainsFunc(auths, func(a subRecord) bool { return a.ID == s.AuthenticatorID }) {
			_ = c.call(ctx, http.MethodDelete, "/api-sessions/"+url.PathEscape(s.ID), nil, nil, nil)
		}
	}
	return nil
}

// dropSessions deletes every API session of the identity and says how many
// it deleted.
func (c *Client) dropSessions(ctx context.Context, id string) (int, error) {
	if c.signedInWithOIDC() {
		// DELETE /api-sessions/{id} takes a zt-session only (the spec, and
		// a real v2.0.3 answers a Bearer with 401): nothing to try. The
		// sessions of the authenticators the reset removed are gone with
		// them (recorded); stillWorking counts any other.
		return 0, nil
	}
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
	_ = c.writeRevision(ctx, id)
	if backend.DryRunOf(ctx) != nil {
		m, err := c.detail(ctx, w)
		return backend.Token{Identity: m}, err
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
	// The deletion stands if counting it fails: the revision has changed
	// all the same (revision.go).
	_ = c.writeRevision(ctx, id)
	if backend.DryRunOf(ctx) == nil {
		if w, err = c.getIdentity(ctx, id); err != nil {
			return model.Identity{}, err
		}
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
	if m := c.toModel(w, related{}); !m.TokenValid(c.now()) {
		return "", backend.Conflict("%q is %s: it has no valid unused token", w.Name, m.State(c.now()))
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

// reEnrollOnce settles a re-enroll whose node died before answering. The
// reset removed every outstanding enrollment before it, so an outstanding
// enrollment read back now is the one the re-enroll made: done. Else it
// is made now, once; a 409 ENROLLMENT_EXISTS to that (seen on the real
// cluster: the node read back had not yet applied the first one, raft
// applies it moments later) is read back again: done if the enrollment
// is there.
func (c *Client) reEnrollOnce(ctx context.Context, id, authID string, expiresAt time.Time, cause error) error {
	made := func() (bool, error) {
		w, err := c.getIdentity(ctx, id)
		if err != nil {
			return false, fmt.Errorf("%w; reading it back failed too (%v): reload the identity to see whether it was reset", cause, err)
		}
		return w.current() != nil, nil
	}
	if ok, err := made(); ok || err != nil {
		return err
	}
	err := c.reEnroll(ctx, authID, expiresAt)
	if errors.Is(err, backend.ErrConflict) {
		if ok, rerr := made(); ok {
			return nil
		} else if rerr != nil {
			return rerr
		}
	}
	return err
}
