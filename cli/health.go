package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/safetext"
)

// healthCommand is `idcon health [URL]`: the health check of a container
// image that has no shell or curl (the Dockerfile's HEALTHCHECK).
func (a *app) healthCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "health [URL]",
		Short: "Ask a running idcon serve's /healthz; exit 0 if healthy, 1 if not",
		Long: `Ask the /healthz of an idcon serve started with --health-listen, and exit 0
when it answers healthy, 1 (with what is wrong, in one line) when it
doesn't or can't be reached within 5 s. URL defaults to
http://127.0.0.1:9222/healthz, the address of the package's unit and of
the container image.`,
		Example: "  idcon health\n  idcon health http://127.0.0.1:9090/healthz",
		Args:    cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := "http://127.0.0.1:9222/healthz"
			if len(args) == 1 {
				target = args[0]
			}
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usagef("%q is not an http:// URL, such as http://127.0.0.1:9222/healthz", target)
			}
			return ran(a.health(cmd.Context(), u.String()))
		},
	}
}

func (a *app) health(ctx context.Context, target string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return failf("%v", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return failf("%s does not answer: %s; is idcon serve running with --health-listen?", target, trimAdvice(err.Error()))
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	var r struct {
		Status string `json:"status"`
		SSH    struct {
			Up bool `json:"up"`
		} `json:"ssh"`
		Backends []struct {
			Name  string `json:"name"`
			OK    bool   `json:"ok"`
			Error string `json:"error"`
		} `json:"backends"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		return failf("%s answered %s, not idcon's health report", target, resp.Status)
	}
	if resp.StatusCode == http.StatusOK && r.Status == "ok" {
		fmt.Fprintln(a.stdout, "healthy")
		return nil
	}
	var bad []string
	if !r.SSH.Up {
		bad = append(bad, "the SSH listener is down")
	}
	for _, b := range r.Backends {
		if !b.OK {
			bad = append(bad, b.Name+": "+b.Error)
		}
	}
	return failf("unhealthy: %s", safetext.Line(strings.Join(bad, "; "), 300))
}
