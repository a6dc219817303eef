package cli

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/config"
	"github.com/idcon/idcon/safetext"
)

func (a *app) networkTrustCommand() *cobra.Command {
	var fingerprint string
	var yes bool
	cmd := &cobra.Command{
		Use:   "trust NAME",
		Short: "Pin a controller network's CA after checking its fingerprint",
		Long: `Fetch the CA of the controller a config file network names (from its
/.well-known/est/cacerts), show its SHA-256 fingerprint and subject, and
after you confirm, pin it: idcon then trusts that controller through the
pinned CA whenever the network's entry has no ca: of its own.

Compare the fingerprint with one obtained another way (from the
controller's admin, or 'openssl x509 -fingerprint -sha256' on the
controller's CA file) before you confirm. Scripts pass the expected
fingerprint with --fingerprint; --yes trusts whatever the controller
presents, without checking.

The CA is kept in $XDG_DATA_HOME/idcon/trust/NAME.pem, readable by you
only; trust again to replace it when the controller's CA changes.`,
		Example: "  idcon network trust prod\n  idcon network trust prod --fingerprint SHA256:AB:CD:...",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if fingerprint != "" && yes {
				return usagef("give either --fingerprint or --yes, not both; see '%s --help'", cmd.CommandPath())
			}
			return ran(a.trust(cmd.Context(), args[0], fingerprint, yes))
		},
	}
	cmd.Flags().StringVar(&fingerprint, "fingerprint", "", "the CA's SHA-256 fingerprint you expect (SHA256:AB:CD:...): pin without asking if it matches")
	cmd.Flags().BoolVar(&yes, "yes", false, "pin whatever CA the controller presents, without asking or checking")
	return cmd
}

// trust fetches, shows, confirms and pins a controller's CA.
func (a *app) trust(ctx context.Context, name, want string, yes bool) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	n, err := controllerEntry(cfg, name)
	if err != nil {
		return err
	}
	if n.CA != "" {
		return failf("network %s sets ca: %s, which idcon trusts instead of a pinned CA; remove ca: from its entry first if you mean to pin the controller's CA", n.Name, n.CA)
	}
	path, err := a.trustFile(n.Name)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, commandTimeout)
	defer cancel()
	bundle, fp, err := openziti.FetchCA(ctx, n.Controller)
	if err != nil {
		return err
	}
	subject := subjectOf(bundle, fp)
	fmt.Fprintf(a.stdout, "The controller %s presents this CA:\n  subject: %s\n  SHA-256: %s\n",
		safetext.Clean(n.Controller), safetext.Clean(subject), fp)
	for _, ifp := range openziti.BundleFingerprints(bundle) {
		if ifp != fp {
			fmt.Fprintf(a.stdout, "  with the intermediate %s\n    SHA-256: %s\n", safetext.Clean(subjectOf(bundle, ifp)), ifp)
		}
	}

	switch {
	case want != "":
		if !slices.ContainsFunc(openziti.BundleFingerprints(bundle), func(c string) bool { return normalFingerprint(c) == normalFingerprint(want) }) {
			return failf("the controller's CA has the fingerprint SHA256:%s, not the %s you gave; nothing was pinned: find out why before you trust it", fp, want)
		}
	case yes:
	default:
		f, ok := a.stdin.(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return failf("stdin is not a terminal, so idcon can't ask you to confirm; nothing was pinned: compare the fingerprint above and pass it with --fingerprint SHA256:%s", fp)
		}
		if err := a.confirm(fmt.Sprintf("Trust this CA for %s?", displayName(n.Name)), "the CA of "+displayName(n.Name)+" was not pinned"); err != nil {
			return err
		}
	}
	if err := writePrivateFile(path, bundle); err != nil {
		return failf("can't pin the CA in %s: %s", path, trimAdvice(err.Error()))
	}
	_, err = fmt.Fprintf(a.stdout, "pinned the CA of %s in %s; idcon now trusts the controller through it\n", displayName(n.Name), safetext.Clean(path))
	return err
}

// controllerEntry finds a network of the config file by name.
func controllerEntry(cfg config.Config, name string) (config.Controller, error) {
	var names []string
	for _, n := range cfg.Networks {
		if n.Name == name {
			return n, nil
		}
		names = append(names, n.Name)
	}
	where := "the config file"
	if cfg.Path != "" {
		where = cfg.Path
	}
	if len(names) == 0 {
		return config.Controller{}, failf("%s names no controller networks, so there is nothing to trust; add %s under networks: with its controller address first", where, shellQuote(name))
	}
	return config.Controller{}, failf("%s names no controller network %q; its controller networks are: %s", where, name, strings.Join(names, ", "))
}

// subjectOf is the subject of the bundle's certificate with fingerprint fp.
func subjectOf(bundle []byte, fp string) string {
	for rest := bundle; ; {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return "(unknown)"
		}
		if c, err := x509.ParseCertificate(b.Bytes); err == nil && openziti.Fingerprint(c) == fp {
			return c.Subject.String()
		}
	}
}

// normalFingerprint reads a fingerprint written as openssl prints it, with
// or without "SHA256:" (or "sha256 Fingerprint=") and colons, in any case.
func normalFingerprint(s string) string {
	s = strings.ToUpper(strings.TrimSpace(s))
	for _, p := range []string{"SHA256 FINGERPRINT=", "SHA256:", "SHA-256:"} {
		s = strings.TrimPrefix(s, p)
	}
	return strings.NewReplacer(":", "", " ", "").Replace(s)
}

// writePrivateFile replaces path with data, readable by the owner only,
// creating its folder (also private) if needed. It writes a temporary file
// and renames it, so a reader never sees half a file.
func writePrivateFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".pin-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // after a successful rename, there is nothing left to remove
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
