package cli

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// The audit trail: every change and every token handed out, by the CLI, the
// local console or an SSH session, is one line of the same log. Local runs
// act as the OS user with the admin role (access.LocalActor); the SSH
// server's sessions as the names and roles of its authorized keys.

// auditPath is this run's audit log, which belongs to its database: for
// the default database audit.log in idcon's data folder (beside it), for
// the demo's demo-audit.log there (trying the demo never writes into the
// real trail), and for any other database (--db, IDCON_DB) the file beside
// it named like it, with .audit.log in place of its extension: a.db keeps
// its trail in a.audit.log. Two databases never share a trail.
func (a *app) auditPath() (string, error) {
	db, err := a.dbPath()
	if err != nil {
		return "", err
	}
	if dir, err := a.dataDir(); err == nil {
		switch filepath.Clean(db) {
		case filepath.Join(dir, "demo.db"):
			return filepath.Join(dir, "demo-audit.log"), nil
		case filepath.Join(dir, "idcon.db"):
			return filepath.Join(dir, "audit.log"), nil
		}
	}
	return strings.TrimSuffix(db, filepath.Ext(db)) + ".audit.log", nil
}

// openAudit opens this run's audit log for appending. A run that can't
// audit doesn't change anything: it fails here, before any change.
func (a *app) openAudit() (*audit.Log, error) {
	path, err := a.auditPath()
	if err != nil {
		return nil, err
	}
	log, err := audit.Open(path)
	if err != nil {
		return nil, failf("can't open the audit log %s (%s): every change is audited; make its folder writable for you", path, trimAdvice(err.Error()))
	}
	return log, nil
}

// asLocalAdmin is b acting for the local OS user: every change and token
// audited, nothing refused (the local user owns the database anyway).
func (a *app) asLocalAdmin(b backend.Backend, log *audit.Log) *access.Backend {
	return access.New(b, access.LocalActor(), log, a.now)
}

// purposeTokens is a backend that fetches a token for a named delivery and
// audits it as that delivery (access.Backend does).
type purposeTokens interface {
	Token(ctx context.Context, network, id string, purpose model.Action) (string, error)
}

// tokenFor fetches the identity's current token for purpose (model.ActionJWT,
// ActionQR), audited as that delivery when b audits.
func tokenFor(ctx context.Context, b backend.Backend, network, id string, purpose model.Action) (string, error) {
	if t, ok := b.(purposeTokens); ok {
		return t.Token(ctx, network, id, purpose)
	}
	return b.TokenJWT(ctx, network, id)
}

func (a *app) auditCommand() *cobra.Command {
	var identity string
	var last int
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "audit",
		Short: "Show the audit trail: who changed what, and who was handed which token",
		Long: `Show the audit log, oldest first: one entry per change (create, reset,
reissue, delete) and per token handed out (QR code shown, JWT downloaded,
registration email sent), whether it succeeded or was refused, with who did
it: the local user, or the name and key fingerprint of an SSH session.
Tokens are never in it.

Each database keeps its own log, beside it: for the default database
$XDG_DATA_HOME/idcon/audit.log, for --demo demo-audit.log there, and for
--db PATH (or IDCON_DB) the file beside PATH named like it with .audit.log
in place of its extension (--db /srv/a.db: /srv/a.audit.log). idcon audit
reads the log of the database it is given, so give it the same --db.

--json prints the log's own JSON lines, one per entry.`,
		Example: "  idcon audit --identity laptop-alice --last 20\n  idcon audit --json | jq 'select(.actor.via == \"ssh\")'",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if last < 0 {
				return usagef("--last must be 0 (every entry) or more, not %d", last)
			}
			path, err := a.auditPath()
			if err != nil {
				return ran(err)
			}
			entries, err := audit.Read(path, audit.Filter{Identity: identity, Last: last})
			if err != nil {
				return ran(failf("%s; move the damaged file aside to start a new log", trimAdvice(err.Error())))
			}
			if len(entries) == 0 && !asJSON {
				what := "no entries"
				if identity != "" {
					what = "no entries for " + displayName(identity)
				}
				_, err := fmt.Fprintf(a.stdout, "the audit log %s holds %s yet\n", safetext.Clean(path), what)
				return err
			}
			return audit.Print(a.stdout, entries, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&identity, "identity", "", "only the entries of this identity (its name or ID)")
	f.IntVar(&last, "last", 0, "only the last N entries (0: every one)")
	f.BoolVar(&asJSON, "json", false, "print JSON lines")
	return cmd
}
