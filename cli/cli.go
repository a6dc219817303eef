// Package cli is idcon's command line: the scriptable subcommands (networks,
// identities, enrollment actions, and the device side used to try a network
// out) and the entry to the console. It turns arguments into Backend calls
// and results into text or JSON; the rules themselves live in model and
// backend.
package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/ui"
)

// Version is idcon's version, set when building:
// go build -ldflags "-X github.com/idcon/idcon/cli.Version=v1.2.3".
var Version = "dev"

// ConsoleEnv is what the console gets from the command line: an open
// backend and the settings of this run. The backend is closed by the CLI
// once the console returns.
type ConsoleEnv struct {
	// Backend serves every network of the database and the config file's
	// controllers.
	Backend backend.Backend
	// Warnings are what the console should tell the admin about the
	// configuration when it opens (plain HTTP to a controller on loopback).
	Warnings []string
	// Store is the same database as Backend, for what only the embedded
	// authority can do (creating networks, seeding the demo, sessions).
	Store *embedded.Store
	// DBPath is the database file; Demo is true when it is the demo
	// database (--demo).
	DBPath string
	Demo   bool
	// StateFile is where the console may remember small things between
	// runs, such as the last network chosen.
	StateFile string
	// NoColor is true when the NO_COLOR environment variable is set.
	NoColor bool
	// Now is the clock; Policy bounds token expiry.
	Now    func() time.Time
	Policy model.ExpiryPolicy
	// CreateNetwork is the command that creates a network in this
	// database, for the console to show when there is none.
	CreateNetwork string
	// Downloads is the folder Download JWT offers: the config file's
	// downloads, else the current folder.
	Downloads string
	// SMTP is the config file's mail server for registration emails;
	// Getenv reads the IDCON_SMTP_* variables that override it.
	SMTP   delivery.SMTPConfig
	Getenv func(string) string
	// The terminal.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Version        string
	// SignIn answers controller logins' questions in the console and keeps
	// its requests pane; the controllers of Backend ask through it.
	SignIn *ui.SignIn
	// Clusters holds the controllers' clients, whose HA nodes the console
	// shows.
	Clusters *ui.Clusters
}

// Main runs idcon with the arguments (without the program name) and the
// standard streams, and returns the process exit code: 0 on success, 1 on
// an error, 2 on a usage error. It prints every error itself, as one line
// on stderr.
func Main(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	defer startProfile(os.Getenv(ProfileEnv), stderr)()
	return run(context.Background(), args, environment{
		stdin:   stdin,
		stdout:  stdout,
		stderr:  stderr,
		getenv:  os.Getenv,
		now:     time.Now,
		console: openConsole,
		exiting: true,
	})
}

// environment is everything a run takes from the process, passed in so
// tests can run the CLI in-process with their own.
type environment struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	now            func() time.Time
	console        func(context.Context, ConsoleEnv) error
	// bulkDone, set only by tests, is told of each identity a bulk reset
	// or reissue has changed (done of them so far), with the run's
	// context: a test stops the run at a point it chooses.
	bulkDone func(ctx context.Context, done int)
	// exiting is set by Main: the process exits when the command returns
	// (tests run commands in-process and leave it unset).
	exiting bool
}

// run executes one command line and returns its exit code.
func run(ctx context.Context, args []string, env environment) (code int) {
	defer func() {
		// A bug must still end in one line, not a stack trace: scripts read
		// stderr. The panic value is cleaned like any other text.
		if r := recover(); r != nil {
			fmt.Fprintln(env.stderr, errorLine(fmt.Errorf("internal error: %v; please report it", r)))
			code = exitError
		}
	}()
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	a := &app{environment: env}
	root := a.rootCommand()
	root.SetArgs(args)
	root.SetIn(env.stdin)
	root.SetOut(env.stdout)
	root.SetErr(env.stderr)
	cmd, err := root.ExecuteContextC(ctx)
	if err == nil {
		return exitOK
	}
	line, code := a.classify(cmd, err)
	if line != "" {
		fmt.Fprintln(env.stderr, line)
	}
	return code
}
