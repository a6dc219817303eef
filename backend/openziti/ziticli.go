package openziti

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/idcon/idcon/backend"
)

// The ziti CLI's sessions: `ziti edge login URL -u USER` saves one entry
// per login in ziti-cli.json (testdata/signin/ziti-cli.json is one a real
// v2.0.3 CLI wrote). idcon reads the file and never writes it.

// ZitiCLIPrefix starts the name of a network that is a ziti CLI login.
const ZitiCLIPrefix = "ziti:"

// ZitiCLIEntry is one login of ziti-cli.json.
type ZitiCLIEntry struct {
	Key        string // the entry's key ("default", or the --cli-identity given)
	Controller string // scheme://host:port (the file's url without the API path)
	Username   string
	CACert     string // the file the CLI trusts for it ("" for the system's roots)
	ReadOnly   bool
	Session    StoredSession
}

// NetworkName is the entry's network name in idcon: ziti:KEY.
func (e ZitiCLIEntry) NetworkName() string { return ZitiCLIPrefix + e.Key }

// ZitiCLIFile is where the ziti CLI keeps its logins, as it finds it:
// $ZITI_CONFIG_DIR/ziti-cli.json, else ~/.config/ziti/ziti-cli.json.
func ZitiCLIFile(getenv func(string) string) string {
	if d := getenv("ZITI_CONFIG_DIR"); d != "" {
		return filepath.Join(d, "ziti-cli.json")
	}
	home := getenv("HOME")
	if home == "" {
		return ""
	}
	return filepath.Join(home, ".config", "ziti", "ziti-cli.json")
}

type zitiCLIFile struct {
	EdgeIdentities map[string]struct {
		URL        string `json:"url"`
		Username   string `json:"username"`
		Token      string `json:"token"`
		CACert     string `json:"caCert"`
		ReadOnly   bool   `json:"readOnly"`
		APISession *struct {
			Type             string `json:"type"`
			OIDCAccessToken  string `json:"oidcAccessToken"`
			OIDCRefreshToken string `json:"oidcRefreshToken"`
			ZTSessionToken   string `json:"ztSessionToken"`
		} `json:"apiSession"`
	} `json:"edgeIdentities"`
	Default string `json:"default"`
}

// ReadZitiCLI reads ziti-cli.json at path: its entries sorted by key and
// the key of the current one. A missing file is no entries and no error.
func ReadZitiCLI(path string) ([]ZitiCLIEntry, string, error) {
	if path == "" {
		return nil, "", nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", backend.Invalid("can't read the ziti CLI's logins %s: %v", path, err)
	}
	var f zitiCLIFile
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, "", backend.Invalid("the ziti CLI's logins %s could not be read (%v): log in again with `ziti edge login URL -u USER`", path, err)
	}
	var out []ZitiCLIEntry
	for key, id := range f.EdgeIdentities {
		e := ZitiCLIEntry{Key: key, Username: id.Username, CACert: id.CACert, ReadOnly: id.ReadOnly}
		u, err := url.Parse(id.URL)
		if err != nil || u.Host == "" {
			continue // not a controller address: nothing to sign in to
		}
		e.Controller = u.Scheme + "://" + u.Host
		fix := "ziti edge login " + e.Controller
		if e.Username != "" {
			fix += " -u " + e.Username
		}
		e.Session = StoredSession{Source: fmt.Sprintf("ziti CLI login %q (%s)", key, path), Username: e.Username, FixCommand: fix, AllowPassword: e.Username != ""}
		switch s := id.APISession; {
		case s != nil && s.Type == "oidc":
			e.Session.OIDC, e.Session.Token, e.Session.RefreshToken = true, s.OIDCAccessToken, s.OIDCRefreshToken
		case s != nil && s.Type == "legacy":
			e.Session.Token = s.ZTSessionToken
		case id.Token != "":
			// Older CLIs kept the session in token: a JWT is an OIDC token.
			e.Session.Token, e.Session.OIDC = id.Token, IsJWT(id.Token)
		}
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b ZitiCLIEntry) int { return strings.Compare(a.Key, b.Key) })
	return out, f.Default, nil
}
