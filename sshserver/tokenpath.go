package sshserver

import (
	"context"
	"errors"
	"path"
	"strings"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// tokenSuffix ends every downloadable path: NETWORK/IDENTITY.jwt.
const tokenSuffix = ".jwt"

// tokenFile is a resolved NETWORK/IDENTITY.jwt path.
type tokenFile struct {
	network  model.Network
	identity model.Identity
}

// fileName is the name the client saves the token under.
func (f tokenFile) fileName() string { return f.identity.Name + tokenSuffix }

// errNotATokenPath is how a path that can't name a token is refused.
func errNotATokenPath(p string) error {
	return backend.Invalid("%q is not a token path: ask for NETWORK/IDENTITY.jwt, e.g. scp HOST:demo/alice.jwt .", safetext.Line(p, 80))
}

// splitTokenPath reads "NETWORK/IDENTITY.jwt" (a leading slash, as SFTP
// sends, is allowed) into its two names.
func splitTokenPath(p string) (network, identity string, err error) {
	clean := strings.TrimPrefix(path.Clean("/"+p), "/")
	parts := strings.Split(clean, "/")
	if len(parts) != 2 || parts[0] == "" || !strings.HasSuffix(parts[1], tokenSuffix) || parts[1] == tokenSuffix {
		return "", "", errNotATokenPath(p)
	}
	return parts[0], strings.TrimSuffix(parts[1], tokenSuffix), nil
}

// findNetwork finds a network by name (or, failing that, by ID).
func findNetwork(ctx context.Context, b *access.Backend, name string) (model.Network, error) {
	nets, err := b.Networks(ctx)
	if err != nil {
		return model.Network{}, err
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
	names := make([]string, 0, len(nets))
	for _, n := range nets {
		names = append(names, safetext.Line(n.Name, 40))
	}
	return model.Network{}, backend.NotFound("no network named %q (networks: %s)", safetext.Line(name, 60), strings.Join(names, ", "))
}

// resolveTokenPath finds the network and identity a token path names.
func resolveTokenPath(ctx context.Context, b *access.Backend, p string) (tokenFile, error) {
	netName, idName, err := splitTokenPath(p)
	if err != nil {
		return tokenFile{}, err
	}
	n, err := findNetwork(ctx, b, netName)
	if err != nil {
		return tokenFile{}, err
	}
	ident, err := b.IdentityByName(ctx, n.ID, idName)
	if errors.Is(err, backend.ErrNotFound) {
		return tokenFile{}, backend.NotFound("no identity named %q in network %s", safetext.Line(idName, 60), safetext.Line(n.Name, 40))
	}
	if err != nil {
		return tokenFile{}, err
	}
	return tokenFile{network: n, identity: ident}, nil
}

// fetchToken resolves p and fetches its token for download through the
// access layer, which checks the role and audits the delivery.
func fetchToken(ctx context.Context, b *access.Backend, p string) (tokenFile, string, error) {
	f, err := resolveTokenPath(ctx, b, p)
	if err != nil {
		return tokenFile{}, "", err
	}
	jwt, err := b.Token(ctx, f.network.ID, f.identity.ID, model.ActionJWT)
	return f, jwt, err
}
