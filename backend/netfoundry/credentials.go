package netfoundry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/idcon/idcon/backend"
)

// ErrNotConfigured means no NetFoundry API account was configured or found:
// NetFoundry is simply not in use, which is not a failure.
var ErrNotConfigured = errors.New("no NetFoundry API account configured")

// The environment variables NetFoundry's own tools read.
const (
	EnvAPIAccount = "NETFOUNDRY_API_ACCOUNT" // path of a credentials.json
	EnvClientID   = "NETFOUNDRY_CLIENT_ID"
	EnvPassword   = "NETFOUNDRY_PASSWORD"
	EnvOAuthURL   = "NETFOUNDRY_OAUTH_URL"
	EnvAPIToken   = "NETFOUNDRY_API_TOKEN" // a ready bearer token
)

// Credentials is an API account (ClientID, Password, AuthURL) or a ready
// bearer token (Token), and where it was found.
type Credentials struct {
	ClientID string
	Password string // a secret
	AuthURL  string // the OAuth2 token endpoint
	Token    string // a ready token (NETFOUNDRY_API_TOKEN): a secret
	// Source says where the credentials came from, for messages: a file
	// path or the environment variables' names. It holds no secret.
	Source string
}

// Account names the credentials in messages without revealing a secret.
func (c Credentials) Account() string {
	if c.ClientID != "" {
		return fmt.Sprintf("API account %s (from %s)", c.ClientID, c.Source)
	}
	return "API token in " + c.Source
}

// Lookup is what credential discovery reads from the process: passed in so
// that tests (and the SSH server) decide what the environment is.
type Lookup struct {
	Getenv  func(string) string // os.Getenv in the binary
	WorkDir string              // the current directory, for ./credentials.json
}

// accountFile is the shape of an API account's credentials.json.
type accountFile struct {
	ClientID          string `json:"clientId"`
	Password          string `json:"password"`
	AuthenticationURL string `json:"authenticationUrl"`
}

// FindCredentials finds an API account the way NetFoundry's tools do, in
// this order:
//  1. explicit, the path set in idcon's config file (netfoundry.credentials);
//  2. the file named by NETFOUNDRY_API_ACCOUNT;
//  3. NETFOUNDRY_CLIENT_ID, NETFOUNDRY_PASSWORD and NETFOUNDRY_OAUTH_URL;
//  4. a ready token in NETFOUNDRY_API_TOKEN;
//  5. the first of ./credentials.json, ~/.netfoundry/credentials.json,
//     $XDG_CONFIG_HOME/netfoundry/credentials.json (~/.config by default)
//     and /netfoundry/credentials.json that exists.
//
// What is named explicitly (1–4) must be usable: a missing file or a
// partial set of variables is an error. A credentials.json found in the
// current directory that isn't an API account (other tools use the name) is
// skipped. With nothing found it returns ErrNotConfigured.
func FindCredentials(explicit string, l Lookup) (Credentials, error) {
	getenv := l.Getenv
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	if explicit != "" {
		return readAccount(expandHome(explicit, getenv), "the config file's netfoundry.credentials", true)
	}
	if p := getenv(EnvAPIAccount); p != "" {
		return readAccount(expandHome(p, getenv), EnvAPIAccount, true)
	}
	id, pw, au := getenv(EnvClientID), getenv(EnvPassword), getenv(EnvOAuthURL)
	if id != "" || pw != "" || au != "" {
		var missing []string
		for _, v := range []struct{ name, val string }{{EnvClientID, id}, {EnvPassword, pw}, {EnvOAuthURL, au}} {
			if v.val == "" {
				missing = append(missing, v.name)
			}
		}
		if len(missing) > 0 {
			return Credentials{}, backend.Invalid("NetFoundry API account: %s %s not set: set all three of %s, %s and %s, or none", strings.Join(missing, " and "), plural(len(missing), "is", "are"), EnvClientID, EnvPassword, EnvOAuthURL)
		}
		return Credentials{ClientID: id, Password: pw, AuthURL: au, Source: "the NETFOUNDRY_CLIENT_ID/PASSWORD/OAUTH_URL variables"}, nil
	}
	if tok := strings.TrimSpace(getenv(EnvAPIToken)); tok != "" {
		return Credentials{Token: tok, Source: EnvAPIToken}, nil
	}
	for _, c := range candidateFiles(l.WorkDir, getenv) {
		cr, err := readAccount(c.path, c.path, false)
		switch {
		case errors.Is(err, ErrNotConfigured):
			continue
		case err != nil && c.foreign:
			continue // someone else's credentials.json
		}
		return cr, err
	}
	return Credentials{}, ErrNotConfigured
}

type candidate struct {
	path    string
	foreign bool // a generic place, where a file of another tool may sit
}

// candidateFiles lists the places searched when nothing names a file.
func candidateFiles(workDir string, getenv func(string) string) []candidate {
	var out []candidate
	if workDir != "" {
		out = append(out, candidate{filepath.Join(workDir, "credentials.json"), true})
	}
	home := getenv("HOME")
	if home != "" {
		out = append(out, candidate{filepath.Join(home, ".netfoundry", "credentials.json"), false})
	}
	if x := getenv("XDG_CONFIG_HOME"); filepath.IsAbs(x) {
		out = append(out, candidate{filepath.Join(x, "netfoundry", "credentials.json"), false})
	} else if home != "" {
		out = append(out, candidate{filepath.Join(home, ".config", "netfoundry", "credentials.json"), false})
	}
	return append(out, candidate{filepath.Join(string(filepath.Separator), "netfoundry", "credentials.json"), false})
}

// readAccount reads a credentials.json. A missing file is ErrNotConfigured
// unless required, when it is an error naming where the path came from.
func readAccount(path, from string, required bool) (Credentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !required {
			return Credentials{}, ErrNotConfigured
		}
		if errors.Is(err, fs.ErrNotExist) {
			return Credentials{}, backend.Invalid("NetFoundry API account: %s names %s, which doesn't exist: download credentials.json from the NetFoundry console (Organization → Manage API Accounts) or fix the path", from, path)
		}
		return Credentials{}, backend.Invalid("NetFoundry API account: can't read %s: %v", path, unwrapPath(err))
	}
	var a accountFile
	if err := json.Unmarshal(data, &a); err != nil {
		return Credentials{}, backend.Invalid("NetFoundry API account: %s is not a credentials.json (%v): download it again from the NetFoundry console", path, err)
	}
	var missing []string
	for _, f := range []struct{ name, val string }{{"clientId", a.ClientID}, {"password", a.Password}, {"authenticationUrl", a.AuthenticationURL}} {
		if strings.TrimSpace(f.val) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return Credentials{}, backend.Invalid("NetFoundry API account: %s has no %s: download credentials.json again from the NetFoundry console", path, strings.Join(missing, ", "))
	}
	return Credentials{ClientID: strings.TrimSpace(a.ClientID), Password: a.Password, AuthURL: strings.TrimSpace(a.AuthenticationURL), Source: path}, nil
}

// expandHome turns a leading ~/ into the home directory, as a shell would
// have (config files and variables aren't expanded by one).
func expandHome(p string, getenv func(string) string) string {
	if rest, ok := strings.CutPrefix(p, "~/"); ok {
		if home := getenv("HOME"); home != "" {
			return filepath.Join(home, rest)
		}
	}
	return p
}

// unwrapPath drops PathError's "open <path>:" prefix, which messages repeat.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
