package cli

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// maxChoicesShown bounds the network names an error lists.
const maxChoicesShown = 8

// resolveNetwork finds the network named by --network (its name, else its
// ID). Left out, it is the only network there is.
func (a *app) resolveNetwork(ctx context.Context, b backend.Backend, name string) (model.Network, error) {
	nets, err := b.Networks(ctx)
	if err != nil {
		return model.Network{}, err
	}
	if name == "" {
		switch len(nets) {
		case 0:
			return model.Network{}, failf("there are no networks yet; create one with %s, or try %s", a.hint("network", "create", "NAME"), a.hint("demo"))
		case 1:
			return nets[0], nil
		}
		return model.Network{}, failf("there are %d networks (%s); choose one with --network NAME", len(nets), networkNames(nets))
	}
	for _, n := range nets {
		if n.Name == name {
			return n, nil
		}
	}
	for _, n := range nets {
		if n.ID == name {
			return n, nil
		}
	}
	if len(nets) == 0 {
		return model.Network{}, failf("there is no network %q, nor any other; create it with %s", name, a.hint("network", "create", name))
	}
	return model.Network{}, failf("there is no network %q; the networks are: %s", name, networkNames(nets))
}

func networkNames(nets []model.Network) string {
	var names []string
	for i, n := range nets {
		if i == maxChoicesShown {
			names = append(names, fmt.Sprintf("and %d more", len(nets)-i))
			break
		}
		names = append(names, n.Name)
	}
	return strings.Join(names, ", ")
}

// resolveIdentity finds an identity of the network by its name, else by
// its ID.
func (a *app) resolveIdentity(ctx context.Context, b backend.Backend, n model.Network, ref string) (model.Identity, error) {
	id, err := b.IdentityByName(ctx, n.ID, ref)
	if err == nil || !errors.Is(err, backend.ErrNotFound) {
		return id, err
	}
	id, err = b.Identity(ctx, n.ID, ref)
	if err == nil || !errors.Is(err, backend.ErrNotFound) {
		return id, err
	}
	return model.Identity{}, failf("there is no identity %q in network %s; find it with %s",
		ref, n.Name, a.hint("identity", "list", "--network", n.Name, "--filter", "TEXT"))
}

// requireAllowed refuses an action the identity's state doesn't allow, with
// the words for what it is and what it allows instead. The backend refuses
// too; asking first means the admin isn't asked to confirm something that
// can't happen.
func (a *app) requireAllowed(id model.Identity, act model.Action, now time.Time) error {
	st := id.State(now)
	if id.Allows(now, act) {
		return nil
	}
	name := displayName(id.Name)
	if act == model.ActionReset && id.SignedIn {
		return backend.Forbidden("%s: %s", name, id.Refusal(now, act))
	}
	var what string
	switch st {
	case model.StateEnrolled:
		what = fmt.Sprintf("%s is enrolled and has no unused token", name)
	case model.StatePending:
		what = fmt.Sprintf("%s is pending: its token is unused and valid until %s", name, fmtTime(id.Enrollment.ExpiresAt))
	case model.StateExpired:
		what = fmt.Sprintf("%s's token expired at %s, unused", name, fmtTime(id.Enrollment.ExpiresAt))
	default:
		what = fmt.Sprintf("%s has neither a token nor a credential", name)
	}
	return withAdvice(backend.Conflict("%s, so its enrollment can't be %s", what, pastTense(act)), a.suggestActions(id, now))
}

// suggestActions names the commands that fit the identity's state now.
func (a *app) suggestActions(id model.Identity, now time.Time) string {
	var cmds []string
	for _, act := range id.Actions(now) {
		// Every action is an enrollment subcommand of the same name.
		cmds = append(cmds, a.netHint("enrollment", string(act), id.Name))
	}
	if len(cmds) == 0 {
		return "nothing can be done to its enrollment; create a new identity if the user needs one"
	}
	return "what fits its state: " + strings.Join(cmds, " or ")
}

func pastTense(a model.Action) string {
	switch a {
	case model.ActionReset:
		return "reset"
	case model.ActionReissue:
		return "reissued"
	case model.ActionDelete:
		return "deleted"
	case model.ActionJWT:
		return "downloaded"
	case model.ActionQR:
		return "shown as a QR code"
	case model.ActionEmail:
		return "sent by email"
	}
	return string(a) + "ed"
}
