package cli

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/term"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Signing in to controllers from the CLI (README "Sign in"): a password the
// config doesn't give is asked on the terminal without echo, a TOTP code
// comes from --mfa-code, IDCON_MFA_CODE or the terminal, and --verbose
// prints every controller request on stderr. Under `idcon serve` nothing
// is ever asked (serve.go passes no asker).

// signinHooks is what the controllers' clients are given to ask with and
// to report requests to; the zero value asks nothing and reports nothing.
type signinHooks struct {
	ask     openziti.Asker
	observe func(openziti.Exchange)
	cluster func(*openziti.Client) // told of each controller's client (the console's nodes, ui/nodes.go)
}

// cliSignin is the CLI's: the terminal prompts and, with --verbose, the
// requests on stderr.
func (a *app) cliSignin() signinHooks {
	h := signinHooks{ask: a.cliAsk}
	if a.verbose {
		var mu sync.Mutex
		h.observe = func(e openziti.Exchange) {
			mu.Lock()
			defer mu.Unlock()
			fmt.Fprintln(a.stderr, "idcon: "+safetext.Clean(e.Network+": "+e.String()))
		}
	}
	return h
}

// mfaCodeGiven is the code of --mfa-code, else IDCON_MFA_CODE.
func (a *app) mfaCodeGiven() string {
	if a.mfaCode != "" {
		return a.mfaCode
	}
	return strings.TrimSpace(a.getenv("IDCON_MFA_CODE"))
}

// cliAsk answers a login's question on the terminal. Without one it fails
// in one line saying what to set instead.
func (a *app) cliAsk(ctx context.Context, p openziti.Prompt) (string, error) {
	who := fmt.Sprintf("%s at %s", p.Username, p.Controller)
	if p.Kind == openziti.PromptCode {
		if code := a.mfaCodeGiven(); code != "" {
			if p.Retry != "" {
				return "", backend.Forbidden("network %s: the controller refused the TOTP code given with --mfa-code or IDCON_MFA_CODE: give the current one (codes change every 30 s), or a recovery code", p.Network)
			}
			return code, nil
		}
	}
	tty, ok := a.terminal()
	if !ok {
		if p.Kind == openziti.PromptCode {
			return "", backend.Forbidden("network %s: the controller wants a TOTP code for %s and stdin is not a terminal to ask for it: %s", p.Network, who, p.Instead)
		}
		return "", backend.Forbidden("network %s: no password for %s and stdin is not a terminal to ask for it: %s", p.Network, who, p.Instead)
	}
	if p.Retry != "" {
		fmt.Fprintln(a.stderr, "idcon: "+safetext.Clean(p.Retry))
	}
	question := fmt.Sprintf("Password for %s: ", who)
	if p.Kind == openziti.PromptCode {
		question = fmt.Sprintf("TOTP code for %s (or a recovery code): ", who)
	}
	fmt.Fprint(a.stderr, safetext.Clean(question))
	answer, err := readSecret(ctx, tty)
	fmt.Fprintln(a.stderr)
	if err != nil {
		return "", backend.Invalid("network %s: the %s was not read: %v", p.Network, map[bool]string{true: "code", false: "password"}[p.Kind == openziti.PromptCode], err)
	}
	if answer == "" {
		return "", backend.Invalid("network %s: nothing was typed; nothing was sent", p.Network)
	}
	return answer, nil
}

// terminal is stdin when it is a terminal.
func (a *app) terminal() (*os.File, bool) {
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, false
	}
	return f, true
}

// readSecret reads one line from the terminal without echo.
func readSecret(ctx context.Context, tty *os.File) (string, error) {
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(int(tty.Fd()))
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		return strings.TrimSpace(string(r.b)), r.err
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// zitiCLIMembers are the networks of the ziti CLI's logins (ziti-cli.json):
// one per entry, named ziti:KEY, skipping a name the config file already
// uses (said in a warning).
func (a *app) zitiCLIMembers(taken map[string]bool, forCLI bool, hooks signinHooks) ([]member, []*openziti.Client, []string) {
	path := openziti.ZitiCLIFile(a.getenv)
	entries, _, err := openziti.ReadZitiCLI(path)
	if err != nil {
		return nil, nil, []string{err.Error()}
	}
	var members []member
	var clients []*openziti.Client
	var warnings []string
	for _, e := range entries {
		name := e.NetworkName()
		if taken[name] {
			warnings = append(warnings, fmt.Sprintf("the ziti CLI login %q is not shown as %s: the config file has a network of that name", e.Key, name))
			continue
		}
		st := e.Session
		oc := openziti.Config{
			Name: name, Controller: e.Controller, CAFile: e.CACert, Stored: &st, ReadOnly: e.ReadOnly,
			Now: a.now, Policy: model.ExpiryPolicy{}, Ask: hooks.ask, Observe: hooks.observe,
		}
		c, err := openziti.New(oc)
		if err != nil {
			members = append(members, member{name, unusableNetwork{
				net: model.Network{ID: controllerNetworkID(name), Name: name, Kind: openziti.Kind, Identities: -1, Status: err.Error(), Address: e.Controller},
				err: err,
			}})
			continue
		}
		clients = append(clients, c)
		if hooks.cluster != nil {
			hooks.cluster(c)
		}
		warnings = append(warnings, c.Warnings()...)
		if forCLI {
			members = append(members, member{name, controllerMember{Client: c, name: name, address: e.Controller}})
		} else {
			members = append(members, member{name, c})
		}
	}
	return members, clients, warnings
}
