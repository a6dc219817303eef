package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

func (a *app) enrollmentCommand() *cobra.Command {
	cmd := group("enrollment", "Reset, reissue or delete an identity's enrollment, or get its token")
	cmd.Long = `The enrollment actions. Which one fits depends on the identity's state:

  enrolled  reset:   new token; the old credential stops working and every
                     active session drops at once
  expired   reissue: new token in place of the one that expired unused
  pending   delete:  remove the unused token (irreversible: the identity
                     can't enroll again); jwt, qr, email: hand the token
                     to its user as a file, a QR code or an email`
	cmd.AddCommand(
		a.issueCommand(model.ActionReset),
		a.issueCommand(model.ActionReissue),
		a.deleteCommand(),
		a.jwtCommand(),
		a.qrCommand(),
		a.emailCommand(),
	)
	return cmd
}

// issueCommand is reset or reissue: both issue a new token and print it or
// write it to a file.
func (a *app) issueCommand(act model.Action) *cobra.Command {
	var network, expires, outFile string
	var yes, asJSON bool
	var bulk bulkFlags // --all: every identity matching a filter (cli/bulk.go)
	cmd := &cobra.Command{
		Args: bulk.args,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := requireFlag(cmd, "expires", "+7d"); err != nil {
				return err
			}
			now := a.now()
			exp, err := parseExpiry(expires, now)
			if err != nil {
				return ran(err)
			}
			if bulk.all {
				return a.runBulk(act, bulk, network, exp, outFile, yes, asJSON)
			}
			return a.withBackend(commandTimeout, func(ctx context.Context, b backend.Backend) error {
				n, err := a.resolveNetwork(ctx, b, network)
				if err != nil {
					return err
				}
				id, err := a.resolveIdentity(ctx, b, n, args[0])
				if err != nil {
					return err
				}
				if err := a.requireAllowed(id, act, now); err != nil {
					return err
				}
				pctx, plan, err := a.planContext(ctx, n)
				if err != nil {
					return err
				}
				if plan != nil {
					if act == model.ActionReset {
						_, err = b.ResetEnrollment(pctx, n.ID, id.ID, id.Revision, exp)
					} else {
						_, err = b.ReissueEnrollment(pctx, n.ID, id.ID, id.Revision, exp)
					}
					if err != nil {
						return err
					}
					return a.reportPlan(n, actionPhrase(act)+" "+displayName(id.Name), plan, asJSON)
				}
				var tf *tokenFile
				if outFile != "" {
					if tf, err = a.prepareTokenFile(outFile); err != nil {
						return err
					}
					defer tf.discard()
				}
				if act == model.ActionReset && !yes {
					q := fmt.Sprintf("Reset enrollment of %s? %s", displayName(id.Name), sessionsDropNote(id.ActiveSessions))
					if err := a.confirm(q, "the enrollment of "+displayName(id.Name)+" was not reset"); err != nil {
						return err
					}
				}
				var tok backend.Token
				if act == model.ActionReset {
					tok, err = b.ResetEnrollment(ctx, n.ID, id.ID, id.Revision, exp)
				} else {
					tok, err = b.ReissueEnrollment(ctx, n.ID, id.ID, id.Revision, exp)
				}
				if err != nil {
					return err
				}
				return a.reportToken(act, tok, n, tf, now, asJSON)
			})
		},
	}
	switch act {
	case model.ActionReset:
		cmd.Use = "reset (NAME | --all [--filter TEXT] [--state S]) --expires D"
		cmd.Short = "Reset an enrolled identity: new token, old credential and sessions dropped"
		cmd.Long = `Reset the enrollment of an enrolled identity, for a new device, lost
enrollment data, or credentials that may be stolen. The identity's
credential stops working and every active session drops at once; a new
enrollment token is issued and printed (or written to -o FILE).

Without --yes, idcon asks first, which needs a terminal.

With --json: {"identity":{...},"jwt","expiresAt","sessionsDropped"}.

With --all in place of NAME, every enrolled identity matching --filter and
--state is reset, each completely or not at all; the others are skipped.
The new tokens are written as JSON lines {"identity","id","jwt","expiresAt"}
to stdout, or to -o FILE (mode 0600). Ctrl-C stops before the next
identity; what finished stays finished and its tokens are still written.`
		cmd.Example = "  idcon enrollment reset laptop-alice --expires +7d -o alice.jwt\n  idcon enrollment reset laptop-alice --expires 2026-12-31 --yes --json\n  idcon enrollment reset --all --filter lab- --expires +7d --yes -o lab-tokens.jsonl"
		cmd.Flags().BoolVar(&yes, "yes", false, "don't ask for confirmation")
	case model.ActionReissue:
		cmd.Use = "reissue (NAME | --all [--filter TEXT] [--state S]) --expires D"
		cmd.Short = "Reissue an expired token: a new token with a new expiry"
		cmd.Long = `Reissue the enrollment of an identity whose token expired before it was
used: a new token with a new expiry replaces it, printed (or written to
-o FILE).

With --json: {"identity":{...},"jwt","expiresAt","sessionsDropped"}.

With --all in place of NAME, every identity with an expired token matching
--filter and --state is reissued, writing JSON lines as reset --all does.`
		cmd.Example = "  idcon enrollment reissue phone-bob --expires +3d\n  idcon enrollment reissue --all --expires +14d --yes -o tokens.jsonl"
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	f.StringVar(&expires, "expires", "", "when the new token expires: YYYY-MM-DD, RFC 3339, or +7d / +36h / +90s (required)")
	f.StringVarP(&outFile, "output", "o", "", "write the token to this file (mode 0600) instead of printing it")
	f.BoolVar(&asJSON, "json", false, "print JSON for scripts")
	bulk.register(cmd, &yes)
	a.addDryRun(cmd)
	return cmd
}

// sessionsDropNote says what a reset does to the identity's sessions.
func sessionsDropNote(n int) string {
	switch n {
	case 0:
		return "It has no active sessions."
	case 1:
		return "Its 1 active session drops now."
	}
	return fmt.Sprintf("Its %s active sessions drop now.", fmtCount(n))
}

// reportToken prints the result of reset or reissue: the token goes to the
// file if one was named, else to stdout (its purpose), after a summary.
func (a *app) reportToken(act model.Action, tok backend.Token, n model.Network, tf *tokenFile, now time.Time, asJSON bool) error {
	name := displayName(tok.Identity.Name)
	if tf != nil && tf.IsStdout() && asJSON {
		tf = nil // the JSON on stdout carries the token
	}
	if tf != nil {
		if err := tf.commit(tok.JWT); err != nil {
			return failf("the enrollment of %s was %s, but %s; get the token again with %s",
				name, pastTense(act), err, a.netHint("enrollment", "jwt", tok.Identity.Name, "-o", "FILE"))
		}
	}
	if asJSON {
		out := struct {
			tokenJSON
			File string `json:"file,omitempty"`
		}{tokenJSON: tokenJSON{
			Identity:        toIdentityJSON(tok.Identity, n, now),
			ExpiresAt:       jsonTime(tok.ExpiresAt),
			SessionsDropped: tok.SessionsDropped,
		}}
		if tf != nil {
			// The token went to the file; stdout may be a log.
			out.File = tf.Path()
		} else {
			out.JWT = &tok.JWT
		}
		return writeJSON(a.stdout, out)
	}
	summary := fmt.Sprintf("%s the enrollment of %s", pastTense(act), name)
	if act == model.ActionReset {
		summary += fmt.Sprintf(": %s dropped", plural(tok.SessionsDropped, "session", "sessions"))
	}
	summary += "; the new token expires " + fmtWhen(tok.ExpiresAt, now)
	if tf != nil {
		w := a.stdout
		if tf.IsStdout() {
			w = a.stderr // stdout holds the token
		}
		_, err := fmt.Fprintf(w, "%s; it is %s\n", summary, safetext.Clean(tf.where()))
		return err
	}
	_, err := fmt.Fprintf(a.stdout, "%s:\n%s\n", summary, tok.JWT)
	return err
}

func (a *app) deleteCommand() *cobra.Command {
	var network string
	var yes, asJSON bool
	cmd := &cobra.Command{
		Use:   "delete NAME --yes",
		Short: "Delete a pending identity's unused token (irreversible)",
		Long: `Delete the unused enrollment token of a pending identity, for example one
that signs in through an external identity provider only. The token stops
working, and the identity can't be enrolled again: this can't be undone.

Without --yes, idcon asks first, which needs a terminal.`,
		Example: "  idcon enrollment delete sso-carol --yes",
		Args:    exactArgs("NAME"),
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
				if err := a.requireAllowed(id, model.ActionDelete, now); err != nil {
					return err
				}
				name := displayName(id.Name)
				pctx, plan, err := a.planContext(ctx, n)
				if err != nil {
					return err
				}
				if plan != nil {
					if _, err := b.DeleteEnrollment(pctx, n.ID, id.ID, id.Revision); err != nil {
						return err
					}
					return a.reportPlan(n, "delete the enrollment of "+name, plan, asJSON)
				}
				if !yes {
					q := fmt.Sprintf("Delete the enrollment of %s? Its unused token stops working and it can't be enrolled again.", name)
					if err := a.confirm(q, "the enrollment of "+name+" was not deleted"); err != nil {
						return err
					}
				}
				after, err := b.DeleteEnrollment(ctx, n.ID, id.ID, id.Revision)
				if err != nil {
					return err
				}
				if asJSON {
					return writeJSON(a.stdout, toIdentityJSON(after, n, now))
				}
				_, err = fmt.Fprintf(a.stdout, "deleted the enrollment of %s: its token no longer works; it is now in state %s\n", name, after.State(now))
				return err
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	f.BoolVar(&yes, "yes", false, "don't ask for confirmation")
	f.BoolVar(&asJSON, "json", false, "print the identity afterwards as JSON")
	a.addDryRun(cmd)
	return cmd
}

func (a *app) jwtCommand() *cobra.Command {
	var network, outFile string
	cmd := &cobra.Command{
		Use:   "jwt NAME",
		Short: "Print a pending identity's token, or write it to a file",
		Long: `Print the current enrollment token of a pending identity, to hand to its
user, or write it to -o FILE (mode 0600). The token is a secret.`,
		Example: "  idcon enrollment jwt laptop-alice -o laptop-alice.jwt",
		Args:    exactArgs("NAME"),
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
				if err := a.requireAllowed(id, model.ActionJWT, a.now()); err != nil {
					return err
				}
				var tf *tokenFile
				if outFile != "" {
					if tf, err = a.prepareTokenFile(outFile); err != nil {
						return err
					}
					defer tf.discard()
				}
				jwt, err := tokenFor(ctx, b, n.ID, id.ID, model.ActionJWT) // audited as a download (audit.go)
				if err != nil {
					return err
				}
				if tf == nil {
					_, err = fmt.Fprintln(a.stdout, jwt)
					return err
				}
				if err := tf.commit(jwt); err != nil {
					return err
				}
				if tf.IsStdout() {
					return nil // the token alone, for a pipe
				}
				_, err = fmt.Fprintf(a.stdout, "the token of %s is %s\n", displayName(id.Name), safetext.Clean(tf.where()))
				return err
			})
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	cmd.Flags().StringVarP(&outFile, "output", "o", "", "write the token to this file (mode 0600) instead of printing it")
	return cmd
}
