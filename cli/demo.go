package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
)

// The demo network: its name, the size the console seeds it with, and the
// most identities idcon demo makes.
const (
	demoNetwork       = "demo"
	demoIdentities    = 40
	maxDemoIdentities = 1_000_000
)

func (a *app) demoCommand() *cobra.Command {
	var n int
	cmd := &cobra.Command{
		Use:   "demo",
		Short: `Create the network "demo" with made-up identities in every state`,
		Long: `Create the network "demo" holding made-up identities in every enrollment
state, to try idcon on. Running it again changes nothing that is there.
It uses the database of --db like every command; 'idcon --demo' opens a
separate demo database instead.`,
		Example: "  idcon demo\n  idcon demo --identities 100000 --db /tmp/big.db",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if n < 1 || n > maxDemoIdentities {
				return usagef("--identities %d is out of range; use 1 to %s", n, fmtCount(maxDemoIdentities))
			}
			ready := func(net model.Network) error {
				count := fmtCount(net.Identities)
				if net.Identities < 0 {
					count = "its"
				}
				_, err := fmt.Fprintf(a.stdout, "network %s is ready with %s identities; look at them with %s\n",
					displayName(net.Name), count, a.hint("identity", "list", "--network", net.Name))
				return err
			}
			// A new database is built whole, then put in place (see
			// embedded.CreateDemo); one that is there is topped up.
			path, err := a.dbPath()
			if err != nil {
				return ran(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), demoTimeout)
			defer cancel()
			// ctrl+c stops the seed, which then removes its unfinished file.
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			net, err := embedded.CreateDemo(ctx, path, embedded.Options{Now: a.now}, demoNetwork, n)
			switch {
			case err == nil:
				return ready(net)
			case errors.Is(ctx.Err(), context.Canceled):
				return ran(failf("stopped before the demo network was made: %s was not created", path))
			case !errors.Is(err, embedded.ErrDatabaseExists):
				return ran(err)
			}
			// The top-up runs on the same context: ctrl+c rolls it back.
			return a.do(0, func(_ context.Context, s *embedded.Store) error {
				net, err := s.SeedDemo(ctx, demoNetwork, n)
				if errors.Is(ctx.Err(), context.Canceled) {
					return failf("stopped before the demo network was topped up: %s is as it was", path)
				}
				if err != nil {
					return err
				}
				return ready(net)
			})
		},
	}
	cmd.Flags().IntVar(&n, "identities", demoIdentities, "how many identities the demo network holds")
	return cmd
}

// ensureDemo seeds the demo network the first time the demo database is
// opened, and leaves it as the admin left it afterwards.
func ensureDemo(ctx context.Context, s *embedded.Store) error {
	_, err := s.NetworkByName(ctx, demoNetwork)
	if err == nil || !errors.Is(err, backend.ErrNotFound) {
		return err
	}
	_, err = s.SeedDemo(ctx, demoNetwork, demoIdentities)
	return err
}
