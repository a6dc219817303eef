package cli

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

func (a *app) networkCommand() *cobra.Command {
	cmd := group("network", "Create, list and trust networks")
	cmd.AddCommand(a.networkCreateCommand(), a.networkListCommand(), a.networkTrustCommand())
	return cmd
}

func (a *app) networkCreateCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create a network in the database",
		Long: `Create a network, with its own key for signing enrollment tokens.
Names are unique.`,
		Example: "  idcon network create office",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := model.ValidateName(args[0]); err != nil {
				return usagef("network name: %s", err)
			}
			return a.do(commandTimeout, func(ctx context.Context, s *embedded.Store) error {
				n, err := s.CreateNetwork(ctx, args[0])
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, toNetworkJSON(n))
				}
				_, err = fmt.Fprintf(a.stdout, "created network %s; add identities with %s\n",
					displayName(n.Name), a.hint("identity", "create", "NAME", "--network", n.Name))
				return err
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the network as JSON")
	return cmd
}

func (a *app) networkListCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the networks",
		Long: `List the networks with their number of identities: the database's own
and the OpenZiti controllers of the config file (networks:). A network that
can't be opened (its controller is down, its password variable isn't set)
is listed with the reason as its status and "?" identities.

With --json: [{"id","name","identities","signingKey","status","address"}], where
signingKey is the PEM public key that verifies the network's enrollment
tokens and status, present only for a network that can't be opened, says
why.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackend(commandTimeout, func(ctx context.Context, b backend.Backend) error {
				nets, err := b.Networks(ctx)
				if err != nil {
					return err
				}
				if asJSON {
					out := make([]networkJSON, 0, len(nets))
					for _, n := range nets {
						out = append(out, toNetworkJSON(n))
					}
					return writeJSON(a.stdout, out)
				}
				if len(nets) == 0 {
					_, err := fmt.Fprintf(a.stdout, "no networks yet; create one with %s, or try %s\n", a.hint("network", "create", "NAME"), a.hint("demo"))
					return err
				}
				rows := make([][]string, 0, len(nets))
				for _, n := range nets {
					count := "?"
					if n.Identities >= 0 {
						count = fmtCount(n.Identities)
					}
					status := n.Status
					if status == "" {
						status = "ready"
					}
					rows = append(rows, []string{displayName(n.Name), count, safetext.Line(status, 30), safetext.Line(n.ID, 40), safetext.Line(n.Address, 60)})
				}
				return writeTable(a.stdout, []string{"NAME", "IDENTITIES", "STATUS", "ID", "ADDRESS"}, rows)
			})
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}
