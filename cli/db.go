package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/idcon/idcon/backend/embedded"
)

// dbCommand is `idcon db`: the database file itself.
func (a *app) dbCommand() *cobra.Command {
	cmd := group("db", "Look after the database file: backups")
	cmd.AddCommand(a.dbBackupCommand())
	return cmd
}

func (a *app) dbBackupCommand() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a consistent copy of the database to FILE, online",
		Long: `Write a consistent copy of the database to FILE (mode 0600) while it is in
use: idcon serve, consoles and a bulk action may go on meanwhile (SQLite's
VACUUM INTO reads one snapshot). The copy is checked before it is put in
place, and a failed backup leaves nothing behind. An existing FILE is kept
unless --force is given, and even then only a regular file is replaced.

The audit log beside the database is not in the copy: it is only ever
appended to, so copy it as it is (see docs/OPERATING.md).`,
		Example: "  idcon db backup /var/backups/idcon/idcon-$(date +%F).db\n  idcon --db /var/lib/idcon/idcon.db db backup --force /var/backups/idcon/latest.db",
		Args:    exactArgs("FILE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			// No deadline: a database of a million identities takes a while
			// to copy; ctrl-c stops it, leaving nothing behind.
			return a.do(0, func(ctx context.Context, s *embedded.Store) error {
				if err := s.Backup(ctx, args[0], force); err != nil {
					return err
				}
				fi, err := os.Stat(args[0])
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "backed up %s to %s (%s)\n", s.Path(), args[0], byteSize(fi.Size()))
				return nil
			})
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "replace FILE if it exists (a regular file only)")
	return cmd
}

// byteSize is n bytes for a person: 1.2 MB.
func byteSize(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f kB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
