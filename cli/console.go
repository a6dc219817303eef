package cli

import (
	"os"

	"context"
	"golang.org/x/term"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/ui"
)

// runConsole is the root command: it opens the database (seeding the demo
// network the first time --demo is used), joins the config file's
// controllers to it and hands them to the console.
func (a *app) runConsole(cmd *cobra.Command, args []string) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return ran(err)
	}
	s, path, err := a.open()
	if err != nil {
		return ran(err)
	}
	defer s.Close()
	// The console reads keys in raw mode, so Ctrl-C arrives as a key; a
	// SIGTERM from outside still ends it.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if a.demo {
		sctx, cancel := context.WithTimeout(ctx, demoTimeout)
		err := ensureDemo(sctx, s)
		cancel()
		if err != nil {
			return ran(err)
		}
	}
	signIn := ui.NewSignIn()
	defer signIn.Close()
	clusters := ui.NewClusters()
	a.signin = signinHooks{ask: signIn.Ask, observe: signIn.Observe, cluster: clusters.Add}
	b, warnings, closeControllers := a.joinNetworks(cfg, s, false)
	defer closeControllers()
	trail, err := a.openAudit() // the local user's changes are audited too (audit.go)
	if err != nil {
		return ran(err)
	}
	defer trail.Close()
	return ran(a.console(ctx, ConsoleEnv{
		Backend:   a.asLocalAdmin(b, trail),
		Warnings:  warnings,
		Store:     s,
		DBPath:    path,
		Demo:      a.demo,
		StateFile: strings.TrimSuffix(path, filepath.Ext(path)) + ".console.json",
		NoColor:   a.getenv("NO_COLOR") != "",
		Now:       a.now,
		Policy:    model.ExpiryPolicy{},
		Downloads: a.downloadsFolder(cfg),
		SMTP:      smtpSettings(cfg),
		Getenv:    a.getenv,
		Stdin:     a.stdin,
		Stdout:    a.stdout,
		Stderr:    a.stderr,
		Version:   Version,
		SignIn:    signIn,
		Clusters:  clusters,

		// What the console says to do when the database has no network.
		CreateNetwork: a.hintCommand("network", "create", "NAME"),
	}))
}

// openConsole runs the console on this process's terminal.
func openConsole(ctx context.Context, env ConsoleEnv) error {
	if f, ok := env.Stdin.(*os.File); !ok || !term.IsTerminal(int(f.Fd())) {
		return failf("the console needs a terminal: run idcon in one, or use the subcommands in scripts (idcon --help)")
	}
	return ui.Run(ctx, ui.Options{
		Backend:   env.Backend,
		Now:       env.Now,
		Policy:    env.Policy,
		StateFile: env.StateFile,
		NoColor:   env.NoColor,
		Downloads: env.Downloads,
		SMTP:      env.SMTP,
		Getenv:    env.Getenv,
		Terminal:  env.Getenv, // this process's terminal
		Warnings:  env.Warnings,
		SignIn:    env.SignIn,
		Clusters:  env.Clusters,

		CreateNetwork: env.CreateNetwork,
	}, env.Stdin, env.Stdout)
}
