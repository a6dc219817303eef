package cli

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/netfoundry"
	"github.com/idcon/idcon/backend/openziti"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// --dry-run on the mutating verbs (create, reset, reissue, delete, and
// --all): the reads a change depends on are made, its writes are planned
// and printed, nothing is sent that would change anything, no token is
// written and nothing is audited. Only controller networks plan requests;
// an embedded network (a local database, no requests) refuses it.

// addDryRun adds --dry-run to a mutating command.
func (a *app) addDryRun(cmd *cobra.Command) {
	cmd.Flags().BoolVar(&a.dryRun, "dry-run", false, "print the requests this would send to the controller, and change nothing")
}

// planContext returns ctx under a dry run when --dry-run is set, refusing
// a network whose backend doesn't plan requests.
func (a *app) planContext(ctx context.Context, n model.Network) (context.Context, *backend.DryRun, error) {
	if !a.dryRun {
		return ctx, nil, nil
	}
	if n.Kind != openziti.Kind && n.Kind != netfoundry.Kind {
		return ctx, nil, usagef("--dry-run shows the requests sent to a controller; network %s is in idcon's own database, which sends none: leave --dry-run out", displayName(n.Name))
	}
	ctx, d := backend.WithDryRun(ctx)
	return ctx, d, nil
}

// dryRunJSON is the --json form of a dry run's plan.
type dryRunJSON struct {
	DryRun   bool              `json:"dryRun"`
	Network  string            `json:"network"`
	Requests []backend.Request `json:"requests"`
}

// reportPlan prints what a dry run would have sent.
func (a *app) reportPlan(n model.Network, what string, d *backend.DryRun, asJSON bool) error {
	reqs := d.Requests()
	if asJSON {
		if reqs == nil {
			reqs = []backend.Request{}
		}
		return json.NewEncoder(a.stdout).Encode(dryRunJSON{DryRun: true, Network: n.Name, Requests: reqs})
	}
	fmt.Fprintln(a.stdout, safetext.Clean(fmt.Sprintf("dry run: %s on network %s would send %s (nothing was sent, nothing changed):",
		what, n.Name, plural(len(reqs), "request", "requests"))))
	for _, r := range reqs {
		fmt.Fprintln(a.stdout, "  "+safetext.Clean(r.String()))
	}
	return nil
}
