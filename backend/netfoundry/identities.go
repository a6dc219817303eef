package netfoundry

import (
	"context"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// Every identity call goes to the network's controller client: the rules
// of identities and enrollments are the openziti backend's, not repeated
// here. Only the network ID is translated, both ways.

// Identities implements backend.Backend.
func (b *Backend) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return model.Page{}, err
	}
	p, err := c.Identities(ctx, c.NetworkID(), q)
	for i := range p.Items {
		p.Items[i].NetworkID = network
	}
	return p, err
}

// Identity implements backend.Backend.
func (b *Backend) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return model.Identity{}, err
	}
	ident, err := c.Identity(ctx, c.NetworkID(), id)
	return withNetwork(ident, network), err
}

// IdentityByName implements backend.Backend.
func (b *Backend) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return model.Identity{}, err
	}
	ident, err := c.IdentityByName(ctx, c.NetworkID(), name)
	return withNetwork(ident, network), err
}

// CreateIdentity implements backend.Backend.
func (b *Backend) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return backend.Token{}, err
	}
	t, err := c.CreateIdentity(ctx, c.NetworkID(), req)
	t.Identity = withNetwork(t.Identity, network)
	return t, err
}

// ResetEnrollment implements backend.Backend.
func (b *Backend) ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return backend.Token{}, err
	}
	t, err := c.ResetEnrollment(ctx, c.NetworkID(), id, revision, expiresAt)
	t.Identity = withNetwork(t.Identity, network)
	return t, err
}

// ReissueEnrollment implements backend.Backend.
func (b *Backend) ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return backend.Token{}, err
	}
	t, err := c.ReissueEnrollment(ctx, c.NetworkID(), id, revision, expiresAt)
	t.Identity = withNetwork(t.Identity, network)
	return t, err
}

// DeleteEnrollment implements backend.Backend.
func (b *Backend) DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return model.Identity{}, err
	}
	ident, err := c.DeleteEnrollment(ctx, c.NetworkID(), id, revision)
	return withNetwork(ident, network), err
}

// TokenJWT implements backend.Backend.
func (b *Backend) TokenJWT(ctx context.Context, network, id string) (string, error) {
	c, err := b.client(ctx, network)
	if err != nil {
		return "", err
	}
	return c.TokenJWT(ctx, c.NetworkID(), id)
}

// withNetwork gives an identity from the controller client this backend's
// network ID.
func withNetwork(id model.Identity, network string) model.Identity {
	if id.ID != "" {
		id.NetworkID = network
	}
	return id
}
