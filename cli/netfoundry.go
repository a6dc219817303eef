package cli

import (
	"context"
	"errors"
	"os"

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
	return netfoundryOrganisation{b}, b.Warnings()
}

// organisationNetwork is the placeholder network saying why the
// organisation's networks can't be listed.
func organisationNetwork(err error) model.Network {
	return model.Network{ID: netfoundryNetworkID, Name: "NetFoundry", Kind: netfoundry.Kind, Identities: -1, Status: err.Error()}
}

// netfoundryOrganisation is the NetFoundry backend as the picker wants it:
// an organisation that can't be listed (sign-in refused, API down) shows
// as one network saying why, as an unreachable controller does, instead of
// silently missing from the list.
type netfoundryOrganisation struct {
	*netfoundry.Backend
}

func (o netfoundryOrganisation) Networks(ctx context.Context) ([]model.Network, error) {
	nets, err := o.Backend.Networks(ctx)
	if err != nil {
		if ctx.Err() != nil && !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, err // the caller gave up: no news about NetFoundry
		}
		return []model.Network{organisationNetwork(err)}, nil
	}
	return nets, nil
}
