package cli

import (
	"context"
	"errors"
	"os"
	"sync"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/netfoundry"
	"github.com/idcon/idcon/config"
	"github.com/idcon/idcon/model"
)

// This file adds a NetFoundry organisation's networks to the ones idcon
// shows, when an API account is configured or found where NetFoundry's
// own tools look for one.

// netfoundryNetworkID is the placeholder network standing for the
// organisation when its networks can't be listed, so that the reason shows
// in the picker and in `idcon network list`.
const netfoundryNetworkID = netfoundry.IDPrefix

// netfoundryMember returns the NetFoundry member to join, or nil when no
// account is configured or found (NetFoundry isn't in use: not an error),
// and what to warn about. An account that is configured but can't be used
// (a credentials file that isn't there) gives a member listing the reason.
func (a *app) netfoundryMember(cfg config.Config) (backend.Backend, []string) {
	nc := netfoundry.Config{Now: a.now, Policy: model.ExpiryPolicy{}}
	if cfg.NetFoundry != nil {
		nc.CredentialsFile = a.configRelative(cfg, cfg.NetFoundry.Credentials)
		nc.Gateway = cfg.NetFoundry.Gateway
	}
	nc.Lookup.Getenv = a.getenv
	if wd, err := os.Getwd(); err == nil {
		nc.Lookup.WorkDir = wd
	}
	b, err := netfoundry.New(nc)
	switch {
	case errors.Is(err, netfoundry.ErrNotConfigured):
		return nil, nil
	case err != nil:
		return unusableNetwork{net: organisationNetwork(err), err: err}, []string{err.Error()}
	}
	return netfoundryOrganisation{Backend: b, listing: &listingFailure{}}, b.Warnings()
}

// organisationNetwork is the placeholder network saying why the
// organisation's networks can't be listed.
func organisationNetwork(err error) model.Network {
	return model.Network{ID: netfoundryNetworkID, Name: "NetFoundry", Kind: netfoundry.Kind, Identities: -1, Status: err.Error()}
}

// netfoundryOrganisation is the NetFoundry backend as idcon's front ends
// want it: an organisation that can't be listed (sign-in refused, API
// down) shows as one network saying why, as an unreachable controller
// does, instead of silently missing from the list; and its failures carry
// advice about NetFoundry rather than about the database.
type netfoundryOrganisation struct {
	*netfoundry.Backend
	listing *listingFailure
}

// listingFailure is why the organisation's networks couldn't be listed
// last time: what the placeholder network answers to every call, so that
// `idcon identity list --network NetFoundry` says it in full.
type listingFailure struct {
	mu  sync.Mutex
	err error
}

func (o netfoundryOrganisation) Networks(ctx context.Context) ([]model.Network, error) {
	nets, err := o.Backend.Networks(ctx)
	if err != nil && ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, err // the caller gave up: no news about NetFoundry
	}
	o.listing.mu.Lock()
	o.listing.err = err
	o.listing.mu.Unlock()
	if err != nil {
		return []model.Network{organisationNetwork(err)}, nil
	}
	return nets, nil
}

// check refuses calls on the placeholder network with the listing's
// failure.
func (o netfoundryOrganisation) check(network string) error {
	if network != netfoundryNetworkID {
		return nil
	}
	o.listing.mu.Lock()
	defer o.listing.mu.Unlock()
	if o.listing.err != nil {
		return o.listing.err
	}
	return backend.NotFound("%q stands for the NetFoundry organisation, not a network: pick one of its networks", network)
}

// advise gives NetFoundry's failures the advice that fits them, in place
// of the general advice about the database.
func (o netfoundryOrganisation) advise(err error) error {
	if errors.Is(err, backend.ErrUnavailable) {
		return withAdvice(err, "try again in a few minutes, and if it persists check the network in the NetFoundry console")
	}
	return err
}

func (o netfoundryOrganisation) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	if err := o.check(network); err != nil {
		return model.Page{}, err
	}
	p, err := o.Backend.Identities(ctx, network, q)
	return p, o.advise(err)
}

func (o netfoundryOrganisation) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	if err := o.check(network); err != nil {
		return model.Identity{}, err
	}
	x, err := o.Backend.Identity(ctx, network, id)
	return x, o.advise(err)
}

func (o netfoundryOrganisation) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	if err := o.check(network); err != nil {
		return model.Identity{}, err
	}
	x, err := o.Backend.IdentityByName(ctx, network, name)
	return x, o.advise(err)
}

func (o netfoundryOrganisation) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	if err := o.check(network); err != nil {
		return backend.Token{}, err
	}
	t, err := o.Backend.CreateIdentity(ctx, network, req)
	return t, o.advise(err)
}

func (o netfoundryOrganisation) ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	if err := o.check(network); err != nil {
		return backend.Token{}, err
	}
	t, err := o.Backend.ResetEnrollment(ctx, network, id, revision, expiresAt)
	return t, o.advise(err)
}

func (o netfoundryOrganisation) ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	if err := o.check(network); err != nil {
		return backend.Token{}, err
	}
	t, err := o.Backend.ReissueEnrollment(ctx, network, id, revision, expiresAt)
	return t, o.advise(err)
}

func (o netfoundryOrganisation) DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error) {
	if err := o.check(network); err != nil {
		return model.Identity{}, err
	}
	x, err := o.Backend.DeleteEnrollment(ctx, network, id, revision)
	return x, o.advise(err)
}

func (o netfoundryOrganisation) TokenJWT(ctx context.Context, network, id string) (string, error) {
	if err := o.check(network); err != nil {
		return "", err
	}
	t, err := o.Backend.TokenJWT(ctx, network, id)
	return t, o.advise(err)
}
