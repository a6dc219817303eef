package cli

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// Deadlines of one command. Seeding a large demo network takes longer than
// anything an admin does by hand.
const (
	commandTimeout = 30 * time.Second
	demoTimeout    = 30 * time.Minute
)

// app is one run of the CLI: the process environment and the global flags.
type app struct {
	environment
	dbFlag     string
	configFlag string
	demo       bool
	cmd        *cobra.Command // the command running, for the hints (hints.go)
	verbose    bool           // --verbose: every controller request on stderr (signin.go)
	mfaCode    string         // --mfa-code
	dryRun     bool           // --dry-run of a mutating verb (dryrun.go)
	signin     signinHooks    // what controllers' logins ask with and report to
	// closeForExit opens the database with embedded.Options.ExitAfterClose
	// (a bulk command in the real process: see runBulk).
	closeForExit bool
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "idcon",
		Short: "Manage identity enrollment on zero-trust overlay networks",
		Long: `idcon manages the identities of overlay networks and their enrollment:
reset, reissue and delete enrollment tokens, and hand tokens to users.

Run idcon without a subcommand to open the console; use the subcommands
in scripts. Add --json to the commands that show things for output that
scripts can read.`,
		Version:       versionLine(),
		SilenceUsage:  true,
		SilenceErrors: true,
		Args:          noArgs,
		RunE:          a.runConsole,
		// Every command's hints carry its --network (hints.go).
		PersistentPreRun: a.running,

		SuggestionsMinimumDistance: 2,
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%v; see '%s --help'", err, cmd.CommandPath())
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.dbFlag, "db", "", "the database file (default $IDCON_DB, else the config file's database:, else $XDG_DATA_HOME/idcon/idcon.db)")
	pf.BoolVar(&a.demo, "demo", false, "use the demo database ($XDG_DATA_HOME/idcon/demo.db), never the real one")
	pf.StringVar(&a.configFlag, "config", "", "the config file (default $XDG_CONFIG_HOME/idcon/config.yaml, which may be missing)")
	pf.BoolVarP(&a.verbose, "verbose", "v", false, "print every controller request on stderr: method, path and query, status, milliseconds (secrets redacted)")
	pf.StringVar(&a.mfaCode, "mfa-code", "", "the TOTP code (or a recovery code) for a controller login that asks for one (default $IDCON_MFA_CODE)")

	root.AddCommand(
		a.demoCommand(),
		a.networkCommand(),
		a.identityCommand(),
		a.enrollmentCommand(),
		a.enrollCommand(),
		a.connectCommand(),
		a.serveCommand(),  // serve.go
		a.auditCommand(),  // audit.go
		a.dbCommand(),     // db.go
		a.healthCommand(), // health.go
	)
	return root
}

// group is a command that only holds subcommands. Without one, or with an
// unknown one, it is a usage error rather than cobra's help text with exit
// code 0, so a script's typo fails.
func group(use, short string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				var names []string
				for _, c := range cmd.Commands() {
					if c.IsAvailableCommand() {
						names = append(names, c.Name())
					}
				}
				return usagef("'%s' needs a subcommand: %s; see '%s --help'",
					cmd.CommandPath(), strings.Join(names, ", "), cmd.CommandPath())
			}
			return noArgs(cmd, args)
		},
		RunE: func(*cobra.Command, []string) error { return nil }, // Args always refuses first

		SuggestionsMinimumDistance: 2,
	}
}

// noArgs refuses positional arguments, naming the likely subcommand.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	hint := ""
	if s := cmd.SuggestionsFor(args[0]); len(s) > 0 {
		hint = fmt.Sprintf(" (did you mean %q?)", s[0])
	}
	return usagef("unknown command %q for '%s'%s; see '%s --help'", args[0], cmd.CommandPath(), hint, cmd.CommandPath())
}

// exactArgs requires one positional argument per name given, such as
// exactArgs("NAME").
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) < len(names) {
			return usagef("'%s' needs %s; see '%s --help'", cmd.CommandPath(), strings.Join(names[len(args):], " "), cmd.CommandPath())
		}
		if len(args) > len(names) {
			return usagef("'%s' takes only %s, but %q follows; quote a name that holds spaces; see '%s --help'",
				cmd.CommandPath(), strings.Join(names, " "), args[len(names)], cmd.CommandPath())
		}
		return nil
	}
}

// requireFlag makes a flag mandatory with a message saying what to give.
func requireFlag(cmd *cobra.Command, name, example string) error {
	if cmd.Flags().Changed(name) {
		return nil
	}
	return usagef("'%s' needs --%s, for example --%s %s; see '%s --help'", cmd.CommandPath(), name, name, example, cmd.CommandPath())
}

// do runs a command's work with a deadline (none if timeout is 0) and the
// database open, and marks its errors as the command's own.
func (a *app) do(timeout time.Duration, fn func(ctx context.Context, s *embedded.Store) error) error {
	err := func() error {
		ctx := context.Background()
		if timeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, timeout)
			defer cancel()
		}
		s, _, err := a.open()
		if err != nil {
			return err
		}
		defer s.Close()
		return fn(ctx, s)
	}()
	var u *usageError
	if err == nil || errors.As(err, &u) {
		return err
	}
	return &ranError{err: err}
}

// ran marks a command's error (returned without opening the database) as
// the command's own.
func ran(err error) error {
	var u *usageError
	if err == nil || errors.As(err, &u) {
		return err
	}
	return &ranError{err: err}
}

// open opens the database this run uses.
func (a *app) open() (*embedded.Store, string, error) {
	path, err := a.dbPath()
	if err != nil {
		return nil, "", err
	}
	s, err := embedded.Open(path, embedded.Options{Now: a.now, Policy: model.ExpiryPolicy{}, ExitAfterClose: a.closeForExit})
	if err != nil {
		if strings.Contains(err.Error(), path) {
			return nil, "", err // it names the file and says what to do
		}
		return nil, "", failf("can't open the database %s: %s; choose another file with --db or IDCON_DB", path, trimAdvice(err.Error()))
	}
	return s, path, nil
}

// dbPath is the database file: --demo's, else --db, else $IDCON_DB, else
// the config file's database:, else the default under the XDG data
// directory.
func (a *app) dbPath() (string, error) {
	if a.demo {
		if a.dbFlag != "" {
			return "", usagef("--demo uses its own database and can't be combined with --db; leave one out")
		}
		dir, err := a.dataDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, "demo.db"), nil
	}
	if a.dbFlag != "" {
		return a.dbFlag, nil
	}
	if p := a.getenv("IDCON_DB"); p != "" {
		return p, nil
	}
	cfg, err := a.loadConfig()
	if err != nil {
		return "", err // the database may be named in it: don't guess
	}
	if cfg.Database != "" {
		return a.configRelative(cfg, cfg.Database), nil
	}
	dir, err := a.dataDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(dir, "idcon.db"), nil
}

// dataDir is idcon's folder under $XDG_DATA_HOME (~/.local/share by
// default). A relative XDG_DATA_HOME is ignored, as the XDG spec asks.
func (a *app) dataDir() (string, error) {
	if x := a.getenv("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "idcon"), nil
	}
	home := a.getenv("HOME")
	if home == "" {
		return "", failf("can't tell where the database goes: neither XDG_DATA_HOME nor HOME is set; pass --db PATH or set IDCON_DB")
	}
	return filepath.Join(home, ".local", "share", "idcon"), nil
}
