package cli

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// defaultPageSize is identity list's --limit when left out.
const defaultPageSize = 25

func (a *app) identityCommand() *cobra.Command {
	cmd := group("identity", "Create, list and show identities")
	cmd.AddCommand(a.identityCreateCommand(), a.identityListCommand(), a.identityShowCommand())
	return cmd
}

func (a *app) identityCreateCommand() *cobra.Command {
	var network, email, expires, attributes string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "create NAME",
		Short: "Create an identity with an enrollment token",
		Long: `Create an identity holding a new enrollment token. The token is not
printed: get it with idcon enrollment jwt NAME.

--expires takes a date (2026-12-31, meaning the end of that day here), an
RFC 3339 time, or a time from now such as +7d, +36h or +90s.

--attributes takes role attributes separated by commas (staff,laptops),
which a network's policies select identities by; spaces around them and
repeats are dropped, and one may not start with # or @.`,
		Example: "  idcon identity create laptop-alice --email alice@example.org --attributes staff,laptops --expires 2026-12-31",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			now := a.now()
			if err := model.ValidateName(args[0]); err != nil {
				return usagef("identity name: %s", err)
			}
			if err := model.ValidateEmail(email); err != nil {
				return usagef("--email: %s", err)
			}
			attrs, err := model.ParseAttributes(attributes)
			if err != nil {
				return usagef("--attributes: %s", err)
			}
			exp, err := parseExpiry(expires, now)
			if err != nil {
				return ran(err)
			}
			return a.withBackend(commandTimeout, func(ctx context.Context, b backend.Backend) error {
				n, err := a.resolveNetwork(ctx, b, network)
				if err != nil {
					return err
				}
				pctx, plan, err := a.planContext(ctx, n)
				if err != nil {
					return err
				}
				tok, err := b.CreateIdentity(pctx, n.ID, model.NewIdentity{Name: args[0], Email: email, Attributes: attrs, ExpiresAt: exp})
				if err != nil {
					return err
				}
				if plan != nil {
					return a.reportPlan(n, "create "+displayName(args[0]), plan, asJSON)
				}
				if asJSON {
					return writeJSON(a.stdout, toIdentityJSON(tok.Identity, n, now))
				}
				_, err = fmt.Fprintf(a.stdout, "created %s in network %s; its token expires %s; get it with %s\n",
					displayName(tok.Identity.Name), displayName(n.Name), fmtWhen(tok.ExpiresAt, now), a.netHint("enrollment", "jwt", tok.Identity.Name))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	f.StringVar(&email, "email", "", "the user's email address")
	f.StringVar(&attributes, "attributes", "", "role attributes, comma-separated: staff,laptops")
	f.StringVar(&expires, "expires", defaultExpiry, "when the token expires: YYYY-MM-DD, RFC 3339, or +7d / +36h / +90s")
	f.BoolVar(&asJSON, "json", false, "print the identity as JSON")
	a.addDryRun(cmd)
	return cmd
}

func (a *app) identityListCommand() *cobra.Command {
	var network, filter, state, sort string
	var limit, offset int
	var asJSON, desc bool
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List a network's identities, a page at a time",
		Long: `List one page of a network's identities, sorted by name as people read
them: numbers by value (build-2 before build-10), case and accents ignored.
(A controller network comes in the order its controller gives.)

--filter keeps identities whose name or email contains the text (ignoring
case); --state keeps one state: enrolled, pending, expired or none.

--sort orders by name, state (enrolled, pending, expired, none; names
within), expiry (or expires: the soonest first; those without a token
last), sessions (the most first) or created (the oldest first). --desc,
or a leading - (--sort -expiry: the latest expiry first; --sort -created:
the newest first), reverses it. A controller network sorts by name,
state, expiry and created, not by sessions: it says so.

With --json: {"items":[...],"total":N}, each item shaped as identity show
--json prints it, and total the number matching in all.`,
		Example: "  idcon identity list --filter alice --state pending\n  idcon identity list --sort -expiry\n  idcon identity list --limit 100 --offset 100 --json",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := model.ListQuery{Filter: filter, Offset: offset, Limit: limit, Desc: desc}
			if sort != "" {
				f, d, ok := model.ParseSort(strings.TrimSpace(sort))
				if !ok {
					return usagef("--sort %q is not a sort; use name, state, expiry, sessions or created, with a leading - for the reverse (-expiry)", sort)
				}
				q.Sort, q.Desc = f, q.Desc || d
			}
			if state != "" {
				st, ok := model.ParseState(state)
				if !ok {
					return usagef("--state %q is not a state; use enrolled, pending, expired or none", state)
				}
				q.State = st
			}
			if limit < 1 || limit > model.MaxPageSize {
				return usagef("--limit %d is out of range; use 1 to %d", limit, model.MaxPageSize)
			}
			if offset < 0 {
				return usagef("--offset %d is negative; use 0 or more", offset)
			}
			return a.withBackend(commandTimeout, func(ctx context.Context, b backend.Backend) error {
				n, err := a.resolveNetwork(ctx, b, network)
				if err != nil {
					return err
				}
				page, err := b.Identities(ctx, n.ID, q)
				if err != nil {
					return err
				}
				now := a.now()
				if asJSON {
					out := struct {
						Items []identityJSON `json:"items"`
						Total int            `json:"total"`
					}{Items: make([]identityJSON, 0, len(page.Items)), Total: page.Total}
					for _, id := range page.Items {
						out.Items = append(out.Items, toIdentityJSON(id, n, now))
					}
					return writeJSON(a.stdout, out)
				}
				if len(page.Items) > 0 {
					rows := make([][]string, 0, len(page.Items))
					for _, id := range page.Items {
						expires := "-"
						if id.Enrollment != nil {
							expires = fmtTime(id.Enrollment.ExpiresAt)
						}
						rows = append(rows, []string{
							displayName(id.Name), string(id.State(now)), expires,
							strconv.Itoa(id.ActiveSessions), safetext.Line(id.Email, emailWidth),
						})
					}
					if err := writeTable(a.stdout, []string{"NAME", "STATE", "EXPIRES", "SESSIONS", "EMAIL"}, rows); err != nil {
						return err
					}
				}
				_, err = fmt.Fprintln(a.stdout, pageLine(offset, len(page.Items), page.Total))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	f.StringVar(&filter, "filter", "", "keep identities whose name or email contains this text")
	f.StringVar(&state, "state", "", "keep one state: enrolled, pending, expired or none")
	f.StringVar(&sort, "sort", "name", "order by name, state, expiry, sessions or created; -expiry reverses it")
	f.BoolVar(&desc, "desc", false, "reverse the order (the same as a leading - in --sort)")
	f.IntVar(&limit, "limit", defaultPageSize, fmt.Sprintf("identities per page (at most %d)", model.MaxPageSize))
	f.IntVar(&offset, "offset", 0, "identities to skip")
	f.BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

func (a *app) identityShowCommand() *cobra.Command {
	var network string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show NAME|ID",
		Short: "Show an identity and where its enrollment stands",
		Long: `Show an identity: its state, token expiry, sessions and the enrollment
actions its state allows.

With --json: {"id","name","network","email","attributes","type",
"authPolicy","state","expiresAt","createdAt","enrolledAt","activeSessions",
"revision"}; times are RFC 3339 in UTC, or null; type and authPolicy are
"" where the backend has none (an embedded network).`,
		Args: exactArgs("NAME|ID"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackend(commandTimeout, func(ctx context.Context, b backend.Backend) error {
				n, err := a.resolveNetwork(ctx, b, network)
				if err != nil {
					return err
				}
				id, err := a.resolveIdentity(ctx, b, n, args[0])
				if err != nil {
					return err
				}
				now := a.now()
				if asJSON {
					return writeJSON(a.stdout, toIdentityJSON(id, n, now))
				}
				return writeIdentity(a, id, n)
			})
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

// writeIdentity prints an identity for a person to read.
func writeIdentity(a *app, id model.Identity, n model.Network) error {
	now := a.now()
	st := id.State(now)
	expires, enrolled := "-", "never"
	if id.Enrollment != nil {
		expires = fmtWhen(id.Enrollment.ExpiresAt, now)
	}
	if !id.EnrolledAt.IsZero() {
		enrolled = fmtWhen(id.EnrolledAt, now)
	}
	var actions []string
	for _, act := range id.Actions(now) {
		// Every action, the deliveries too, is an enrollment subcommand.
		actions = append(actions, a.netHint("enrollment", string(act), id.Name))
	}
	if len(actions) == 0 {
		actions = []string{"none: it has neither a token nor a credential"}
	}
	email := safetext.Line(id.Email, emailWidth)
	if email == "" {
		email = "-"
	}
	attrs := make([]string, 0, len(id.Attributes))
	for _, at := range id.Attributes {
		attrs = append(attrs, safetext.Clean(at))
	}
	attrText := strings.Join(attrs, ", ")
	if attrText == "" {
		attrText = "-"
	}
	created := "-"
	if !id.CreatedAt.IsZero() {
		created = fmtWhen(id.CreatedAt, now)
	}
	fields := [][2]string{
		{"name", safetext.Clean(id.Name)},
		{"id", safetext.Clean(id.ID)},
		{"network", safetext.Clean(n.Name)},
		{"email", email},
		{"attributes", attrText},
	}
	if id.Type != "" {
		fields = append(fields, [2]string{"type", safetext.Clean(id.Type)})
	}
	if id.AuthPolicy != "" {
		fields = append(fields, [2]string{"auth policy", safetext.Clean(id.AuthPolicy)})
	}
	fields = append(fields, [][2]string{
		{"created", created},
		{"state", string(st)},
		{"token expires", expires},
		{"enrolled", enrolled},
		{"sessions", strconv.Itoa(id.ActiveSessions)},
		{"revision", strconv.FormatInt(id.Revision, 10)},
		{"actions", strings.Join(actions, ", ")},
	}...)
	if st == model.StateNone {
		fields = append(fields, [2]string{"", model.NoneExplained})
	}
	return writeFields(a.stdout, fields)
}
