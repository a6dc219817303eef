package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/backend/multi"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/config"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// This file joins the config file's OpenZiti controllers to the database's
// networks, so that the commands that work on any network (and the
// console) see them all and reach each through its own backend.

// withBackend runs a command's work with a deadline and every network
// open: the database's and the config file's controllers, joined. What the
// controllers' configuration warns about (plain HTTP on loopback) is said
// once on stderr first.
func (a *app) withBackend(timeout time.Duration, fn func(ctx context.Context, b backend.Backend) error) error {
	return a.do(timeout, func(ctx context.Context, s *embedded.Store) error {
		cfg, err := a.loadConfig()
		if err != nil {
			return err
		}
		a.signin = a.cliSignin()
		members, warnings, closeControllers := a.joinMembers(cfg, s, true)
		defer closeControllers()
		b := joined(narrowTo(ctx, members, s, a.networkFlag()))
		for _, w := range warnings {
			fmt.Fprintln(a.stderr, "idcon: warning: "+safetext.Clean(w))
		}
		// As the local user, audited (audit.go).
		trail, err := a.openAudit()
		if err != nil {
			return err
		}
		defer trail.Close()
		return fn(ctx, a.asLocalAdmin(b, trail))
	})
}

// joinNetworks joins the store with a member for each controller of the
// config file, and returns what to warn the admin about and how to close
// the controllers' members (the caller closes the store). A controller
// whose configuration can't be used still shows, with the reason as its
// status, so one bad entry doesn't keep the admin from the other networks.
// With forCLI, controllers' errors carry the advice the CLI gives.
func (a *app) joinNetworks(cfg config.Config, s *embedded.Store, forCLI bool) (backend.Backend, []string, func()) {
	members, warnings, closeFn := a.joinMembers(cfg, s, forCLI)
	return joined(members), warnings, closeFn
}

// joined is one backend over members.
func joined(members []member) backend.Backend {
	bs := make([]backend.Backend, len(members))
	for i, m := range members {
		bs[i] = m.Backend
	}
	return multi.New(bs...)
}

// narrowTo keeps of members what a command naming network (--network)
// needs: the database alone when it holds a network of that name, else the
// database and the controller of that name; every member when the name is
// none of theirs (a NetFoundry network, a network ID, a typo: resolving it
// lists them all). The other controllers are then never logged in to, nor
// is a password asked for them.
func narrowTo(ctx context.Context, members []member, s *embedded.Store, network string) []member {
	if network == "" || len(members) < 2 {
		return members
	}
	if nets, err := s.Networks(ctx); err == nil {
		for _, n := range nets {
			if n.Name == network {
				return members[:1]
			}
		}
	}
	for _, m := range members[1:] {
		if m.Name == network {
			return []member{members[0], m}
		}
	}
	return members
}

// member is one backend joinNetworks joins, with the name the health
// check gives it (idcon serve --health-listen).
type member struct {
	Name string
	backend.Backend
}

// joinMembers is joinNetworks's members, one by one: the store, each
// controller, NetFoundry.
func (a *app) joinMembers(cfg config.Config, s *embedded.Store, forCLI bool) ([]member, []string, func()) {
	members := []member{{"embedded", s}}
	var warnings []string
	var clients []*openziti.Client
	taken := map[string]bool{}
	for _, n := range cfg.Networks {
		taken[n.Name] = true
		oc, err := a.controllerConfig(cfg, n)
		oc.Ask, oc.Observe = a.signin.ask, a.signin.observe
		var c *openziti.Client
		if err == nil {
			c, err = openziti.New(oc)
		}
		if err != nil {
			members = append(members, member{n.Name, unusableNetwork{
				net: model.Network{ID: controllerNetworkID(n.Name), Name: n.Name, Kind: openziti.Kind, Identities: -1, Status: err.Error(), Address: n.Controller},
				err: err,
			}})
			continue
		}
		clients = append(clients, c)
		if a.signin.cluster != nil {
			a.signin.cluster(c)
		}
		warnings = append(warnings, c.Warnings()...)
		if forCLI {
			members = append(members, member{n.Name, controllerMember{Client: c, name: n.Name, address: n.Controller}})
		} else {
			members = append(members, member{n.Name, c})
		}
	}
	zm, zc, zw := a.zitiCLIMembers(taken, forCLI, a.signin)
	members, clients, warnings = append(members, zm...), append(clients, zc...), append(warnings, zw...)
	nf, nfWarnings := a.netfoundryMember(cfg) // nil when NetFoundry isn't in use
	if nf != nil {
		members = append(members, member{"netfoundry", nf})
		warnings = append(warnings, nfWarnings...)
	}
	return members, warnings, func() {
		for _, c := range clients {
			_ = c.Close()
		}
		if nf != nil {
			_ = nf.Close()
		}
	}
}

// controllerNetworkID is the network ID openziti.Client gives the network
// it serves: an unusable entry takes the same, so that it keeps its place.
func controllerNetworkID(name string) string { return "ziti:" + name }

// controllerConfig turns a config file entry into the client's
// configuration: the password from its environment variable, the paths
// relative to the config file's folder, and the pinned CA when ca: is not
// set.
func (a *app) controllerConfig(cfg config.Config, n config.Controller) (openziti.Config, error) {
	oc := openziti.Config{
		Name:        n.Name,
		Controller:  n.Controller,
		Controllers: n.Controllers,
		NodeCache:   a.nodeCache(n.Name),
		CAFile:      a.configRelative(cfg, n.CA),
		Username:    n.Username,
		CertFile:    a.configRelative(cfg, n.Cert),
		KeyFile:     a.configRelative(cfg, n.Key),
		Now:         a.now,
		Policy:      model.ExpiryPolicy{},
	}
	switch {
	case n.PasswordEnv != "" && n.Username == "":
		return oc, backend.Invalid("network %s names passwordEnv %s but no username: set username: too, or use cert: and key: instead", n.Name, n.PasswordEnv)
	case n.PasswordEnv != "":
		oc.Password = a.getenv(n.PasswordEnv)
		if oc.Password == "" {
			return oc, backend.Invalid("network %s: the environment variable %s (its passwordEnv) is not set: export it with the controller's password for %s", n.Name, n.PasswordEnv, n.Username)
		}
	}
	// A username without passwordEnv: the password is asked at the login
	// (signin.go), never under idcon serve.
	if n.CA == "" {
		path, err := a.trustFile(n.Name)
		if err != nil {
			return oc, err
		}
		pem, err := os.ReadFile(path)
		switch {
		case err == nil:
			oc.PinnedCA = pem
		case !errors.Is(err, fs.ErrNotExist):
			return oc, backend.Invalid("network %s: can't read its pinned CA (%v): run idcon network trust %s again", n.Name, err, shellQuote(n.Name))
		}
	}
	return oc, nil
}

// configRelative reads a path from the config file: "~/" is the home
// folder, and a relative path is relative to the config file's folder.
func (a *app) configRelative(cfg config.Config, p string) string {
	if p == "" {
		return ""
	}
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home := a.getenv("HOME"); home != "" {
			return filepath.Join(home, rest)
		}
	}
	if !filepath.IsAbs(p) && cfg.Path != "" {
		return filepath.Join(filepath.Dir(cfg.Path), p)
	}
	return p
}

// trustFile is where the CA pinned for a controller network is kept:
// trust/NAME.pem in idcon's data folder (the name escaped as in a URL, so
// that it is one file name whatever it holds).
func (a *app) trustFile(network string) (string, error) {
	dir, err := a.dataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "trust", url.PathEscape(network)+".pem"), nil
}

// controllerMember is a controller's client as the CLI uses it: a failure
// to reach the controller says to check the controller, not the database.
type controllerMember struct {
	*openziti.Client
	name, address string
}

func (c controllerMember) advise(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, openziti.ErrUntrusted), errors.Is(err, openziti.ErrNoLeader):
		return failf("%s", err) // it says what to do
	case errors.Is(err, backend.ErrUnavailable):
		return withAdvice(err, fmt.Sprintf("check that the controller of network %s (%s) is up and reachable, then try again", c.name, c.address))
	}
	return err
}

func (c controllerMember) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	p, err := c.Client.Identities(ctx, network, q)
	return p, c.advise(err)
}

func (c controllerMember) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	x, err := c.Client.Identity(ctx, network, id)
	return x, c.advise(err)
}

func (c controllerMember) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	x, err := c.Client.IdentityByName(ctx, network, name)
	return x, c.advise(err)
}

func (c controllerMember) CreateIdentity(ctx context.Context, network string, req model.NewIdentity) (backend.Token, error) {
	t, err := c.Client.CreateIdentity(ctx, network, req)
	return t, c.advise(err)
}

func (c controllerMember) ResetEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	t, err := c.Client.ResetEnrollment(ctx, network, id, revision, expiresAt)
	return t, c.advise(err)
}

func (c controllerMember) ReissueEnrollment(ctx context.Context, network, id string, revision int64, expiresAt time.Time) (backend.Token, error) {
	t, err := c.Client.ReissueEnrollment(ctx, network, id, revision, expiresAt)
	return t, c.advise(err)
}

func (c controllerMember) DeleteEnrollment(ctx context.Context, network, id string, revision int64) (model.Identity, error) {
	x, err := c.Client.DeleteEnrollment(ctx, network, id, revision)
	return x, c.advise(err)
}

func (c controllerMember) TokenJWT(ctx context.Context, network, id string) (string, error) {
	t, err := c.Client.TokenJWT(ctx, network, id)
	return t, c.advise(err)
}

// unusableNetwork stands in for a controller whose configuration can't be
// used (a password variable that isn't set, a certificate that can't be
// read): the network is listed with the reason as its status, and every
// call on it fails with that reason.
type unusableNetwork struct {
	net model.Network
	err error
}

var _ backend.Backend = unusableNetwork{}

func (u unusableNetwork) Networks(context.Context) ([]model.Network, error) {
	return []model.Network{u.net}, nil
}

func (u unusableNetwork) Identities(context.Context, string, model.ListQuery) (model.Page, error) {
	return model.Page{}, u.err
}

func (u unusableNetwork) Identity(context.Context, string, string) (model.Identity, error) {
	return model.Identity{}, u.err
}

func (u unusableNetwork) IdentityByName(context.Context, string, string) (model.Identity, error) {
	return model.Identity{}, u.err
}

func (u unusableNetwork) CreateIdentity(context.Context, string, model.NewIdentity) (backend.Token, error) {
	return backend.Token{}, u.err
}

func (u unusableNetwork) ResetEnrollment(context.Context, string, string, int64, time.Time) (backend.Token, error) {
	return backend.Token{}, u.err
}

func (u unusableNetwork) ReissueEnrollment(context.Context, string, string, int64, time.Time) (backend.Token, error) {
	return backend.Token{}, u.err
}

func (u unusableNetwork) DeleteEnrollment(context.Context, string, string, int64) (model.Identity, error) {
	return model.Identity{}, u.err
}

func (u unusableNetwork) TokenJWT(context.Context, string, string) (string, error) { return "", u.err }

func (u unusableNetwork) Close() error { return nil }

// serveMembers are the networks idcon serve offers: its controllers sign
// in with the server's own credentials and never ask anyone (no prompt, no
// dialog: an SSH admin is never asked for the controller password).
func (a *app) serveMembers(cfg config.Config, s *embedded.Store) ([]member, []string, func()) {
	a.signin = signinHooks{}
	return a.joinMembers(cfg, s, false)
}

// nodeCache is where a controller network keeps the nodes of its cluster
// between runs ($XDG_DATA_HOME/idcon/nodes/NAME.json), so that a command
// naming one node reaches the others while it is down; "" when there is
// no data folder (then each run learns them anew).
func (a *app) nodeCache(network string) string {
	dir, err := a.dataDir()
	if err != nil {
		return ""
	}
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, network)
	return filepath.Join(dir, "nodes", strings.TrimLeft(name, ".")+".json")
}
