// Package config reads idcon's configuration file and knows where idcon keeps
// its files (XDG config, data and state directories). Secrets never live in
// the file: passwords are named by environment variable.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is the content of config.yaml. Every field is optional.
type Config struct {
	// Database is the embedded backend's SQLite file.
	Database string `yaml:"database"`
	// Downloads is where Download JWT writes by default.
	Downloads string `yaml:"downloads"`
	Expiry    Expiry `yaml:"expiry"`
	SMTP      SMTP   `yaml:"smtp"`
	// Networks are OpenZiti controllers, shown beside the embedded networks.
	Networks   []Controller `yaml:"networks"`
	NetFoundry *NetFoundry  `yaml:"netfoundry"`
	// Path is the file the configuration was read from ("" if none).
	Path string `yaml:"-"`
}

// Expiry sets the date picker's default and the policy's maximum.
type Expiry struct {
	Default Duration `yaml:"default"` // default 7 days
	Max     Duration `yaml:"max"`     // default 365 days
}

// SMTP is the mail server for registration emails. The password comes from
// IDCON_SMTP_PASSWORD, never from the file.
type SMTP struct {
	Host     string `yaml:"host"`
	Port     int    `yaml:"port"`
	TLS      string `yaml:"tls"` // none, starttls or tls
	Username string `yaml:"username"`
	From     string `yaml:"from"`
}

// Controller is one OpenZiti controller network.
type Controller struct {
	Name       string `yaml:"name"`
	Controller string `yaml:"controller"`
	// Controllers names the nodes of an HA cluster (docs/CONTROLLERS.md),
	// alone or beside Controller. Load makes the first address Controller
	// and keeps the others here, each once; idcon learns the rest of the
	// cluster's nodes from the cluster itself.
	Controllers []string `yaml:"controllers"`

	CA          string `yaml:"ca"`
	Username    string `yaml:"username"`
	PasswordEnv string `yaml:"passwordEnv"`
	Cert        string `yaml:"cert"`
	Key         string `yaml:"key"`
}

// NetFoundry points at a NetFoundry API account.
type NetFoundry struct {
	Credentials string `yaml:"credentials"`
	Gateway     string `yaml:"gateway"`
}

// Duration is a YAML duration written as Go does ("36h") or in days ("7d").
type Duration time.Duration

// UnmarshalYAML reads "7d", "36h" or "90m".
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	s := strings.TrimSpace(n.Value)
	if v, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		if _, err := fmt.Sscanf(v, "%d", &days); err != nil || days <= 0 || fmt.Sprint(days) != v {
			return fmt.Errorf("line %d: %q is not a number of days such as 7d", n.Line, s)
		}
		*d = Duration(time.Duration(days) * 24 * time.Hour)
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil || v <= 0 {
		return fmt.Errorf("line %d: %q is not a duration such as 7d or 36h", n.Line, s)
	}
	*d = Duration(v)
	return nil
}

// Load reads the configuration at path. An empty path means the default
// location, where a missing file is not an error (idcon works without one);
// a path given explicitly must exist.
func Load(path string) (Config, error) {
	explicit := path != ""
	if !explicit {
		path = DefaultPath()
	}
	data, err := os.ReadFile(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return Config{}, nil
		}
		return Config{}, fmt.Errorf("cannot read the config file: %w", err)
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("config file %s: %s", path, yamlError(err))
	}
	c.Path = path
	if err := c.validate(); err != nil {
		return Config{}, fmt.Errorf("config file %s: %w", path, err)
	}
	return c, nil
}

// yamlError says a decoding error in one line, and says where a password
// should go when someone tried to put one in the file.
func yamlError(err error) string {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return strings.TrimPrefix(err.Error(), "yaml: ")
	}
	msgs := make([]string, 0, len(te.Errors))
	for _, e := range te.Errors {
		if strings.Contains(e, "field password not found") {
			return "passwords are not kept in the config file: name an environment variable with passwordEnv (controllers) or set IDCON_SMTP_PASSWORD (smtp)"
		}
		msgs = append(msgs, strings.TrimSpace(e))
	}
	return strings.Join(msgs, "; ")
}

// validate checks the configuration and puts each network's controllers: in
// order (the first address in Controller).
func (c *Config) validate() error {
	seen := map[string]bool{}
	for i := range c.Networks {
		n := &c.Networks[i]
		if n.Controllers != nil && len(n.Controllers) == 0 && n.Controller == "" {
			return fmt.Errorf("network %q has an empty controllers: list: name the cluster's nodes, e.g. controllers: [https://ctrl1:1280, https://ctrl2:1280]", n.Name)
		}
		var more []string
		for _, a := range n.Controllers {
			switch {
			case a == "":
				return fmt.Errorf("network %q has an empty address under controllers: remove it or give https://host:port", n.Name)
			case n.Controller == "":
				n.Controller = a
			case a != n.Controller && !slices.Contains(more, a):
				more = append(more, a)
			}
		}
		n.Controllers = more
		switch {
		case n.Name == "":
			return fmt.Errorf("networks[%d] has no name: give each controller a name", i)
		case seen[n.Name]:
			return fmt.Errorf("two networks are named %q: names must differ", n.Name)
		case n.Controller == "":
			return fmt.Errorf("network %q has no controller address: set controller: https://host:1280 (or controllers: with a cluster's nodes)", n.Name)
		case n.Username == "" && n.Cert == "":
			return fmt.Errorf("network %q has no credentials: set username and passwordEnv, or cert and key", n.Name)
		case n.Cert != "" && n.Key == "":
			return fmt.Errorf("network %q has a cert but no key: set key: to the client key file", n.Name)
		}
		seen[n.Name] = true
	}
	switch c.SMTP.TLS {
	case "", "none", "starttls", "tls":
	default:
		return fmt.Errorf("smtp.tls is %q: use none, starttls or tls", c.SMTP.TLS)
	}
	return nil
}

// DefaultPath is idcon/config.yaml under the user's XDG config directory.
func DefaultPath() string {
	dir, err := os.UserConfigDir()
	if err != nil {
		dir = "."
	}
	return filepath.Join(dir, "idcon", "config.yaml")
}

// DataDir is idcon's directory under $XDG_DATA_HOME (~/.local/share).
func DataDir() string {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "idcon")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "share", "idcon")
	}
	return filepath.Join(os.TempDir(), "idcon")
}

// StateDir is idcon's directory under $XDG_STATE_HOME (~/.local/state),
// where it remembers things such as the last network chosen.
func StateDir() string {
	if d := os.Getenv("XDG_STATE_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "idcon")
	}
	if home, err := os.UserHomeDir(); err == nil {
		return filepath.Join(home, ".local", "state", "idcon")
	}
	return filepath.Join(os.TempDir(), "idcon")
}

// DefaultDatabase is the embedded backend's file when none is configured.
func DefaultDatabase() string { return filepath.Join(DataDir(), "idcon.db") }

// DemoDatabase is the demo network's own file, apart from the real one.
func DemoDatabase() string { return filepath.Join(DataDir(), "demo.db") }
