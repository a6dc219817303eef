// Package multi joins several backends into one, so that the network picker
// shows embedded, controller and NetFoundry networks side by side and every
// call goes to the backend that serves its network.
package multi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// Backend routes each call to the member serving the call's network.
type Backend struct {
	members []backend.Backend

	mu    sync.Mutex
	route map[string]backend.Backend // network ID → member
}

var _ backend.Backend = (*Backend)(nil)

// New joins members; networks are listed in the members' order.
func New(members ...backend.Backend) *Backend {
	return &Backend{members: members, route: map[string]backend.Backend{}}
}

// Networks lists every member's networks. A member that fails is left out
// as long as another answered; if none did, the first error is returned.
func (m *Backend) Networks(ctx context.Context) ([]model.Network, error) {
	var all []model.Network
	var errs []error
	answered := false
	for _, b := range m.members {
		nets, err := b.Networks(ctx)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		answered = true
		m.mu.Lock()
		for _, n := range nets {
			m.route[n.ID] = b
		}
		m.mu.Unlock()
		all = append(all, nets...)
	}
	if !answered && len(errs) > 0 {
		return nil, errs[0]
	}
	return all, nil
}

// member finds the backend of a network, listing networks again once if the
// network isn't known yet (it may have been created since).
func (m *Backend) member(ctx context.Context, network string) (backend.Backend, error) {
	if len(m.members) == 1 {
		return m.members[0], nil
	}
	m.mu.Lock()
	b, ok := m.route[network]
	m.mu.Unlock()
	if ok {
		return b, nil
	}
	if _, err := m.Networks(ctx); err != nil {
		return nil, err
	}
	m.mu.Lock()
	b, ok = m.route[network]
	m.mu.Unlock()
	if !ok {
		return nil, backend.NotFound("no network with id %q: pick one from the network list", network)
	}
	return b, nil
}

// Identities implements backend.Backend.
func (m *Backend) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return model.Page{}, err
	}
	return b.Identities(ctx, network, q)
}

// Identity implements backend.Backend.
func (m *Backend) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return model.Identity{}, err
	}
	return b.Identity(ctx, network, id)
}

// IdentityByName implements backend.Backend.
func (m *Backend) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return model.Identity{}, err
	}
	return b.IdentityByName(ctx, network, name)
}

// CreateIdentity implements backend.Backend.
func (m *Backend) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return backend.Token{}, err
	}
	return b.CreateIdentity(ctx, network, req)
}

// ResetEnrollment implements backend.Backend.
func (m *Backend) ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return backend.Token{}, err
	}
	return b.ResetEnrollment(ctx, network, id, revision, expiresAt)
}

// ReissueEnrollment implements backend.Backend.
func (m *Backend) ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return backend.Token{}, err
	}
	return b.ReissueEnrollment(ctx, network, id, revision, expiresAt)
}

// DeleteEnrollment implements backend.Backend.
func (m *Backend) DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return model.Identity{}, err
	}
	return b.DeleteEnrollment(ctx, network, id, revision)
}

// TokenJWT implements backend.Backend.
func (m *Backend) TokenJWT(ctx context.Context, network, id string) (string, error) {
	b, err := m.member(ctx, network)
	if err != nil {
		return "", err
	}
	return b.TokenJWT(ctx, network, id)
}

// Close closes every member.
func (m *Backend) Close() error {
	var errs []error
	for _, b := range m.members {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing a backend: %w", err))
		}
	}
	return errors.Join(errs...)
}
