package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

// The deliveries from scripts: the QR code on stdout and the registration
// email. (The token itself, to stdout or a file, is 'enrollment jwt'.)

func (a *app) qrCommand() *cobra.Command {
	var network string
	cmd := &cobra.Command{
		Use:   "qr NAME",
		Short: "Show a pending identity's token as a QR code, for a phone to scan",
		Long: `Print the current enrollment token of a pending identity as a QR code
drawn with block characters, dark on light whatever the terminal's theme,
with the identity's name and the token's expiry under it. The mobile edge
client scans it. Colours are reduced to what the terminal shows, and left
out when stdout is not a terminal; with NO_COLOR the code is drawn by its
characters alone, dark on a light background.

When stdout is a terminal too small for the whole code, idcon says what
size it needs instead of drawing a code no phone can read.`,
		Example: "  idcon enrollment qr phone-bob",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return a.withBackend(commandTimeout, func(ctx context.Context, s backend.Backend) error {
				n, err := a.resolveNetwork(ctx, s, network)
				if err != nil {
					return err
				}
				id, err := a.resolveIdentity(ctx, s, n, args[0])
				if err != nil {
					return err
				}
				if err := a.requireAllowed(id, model.ActionQR, a.now()); err != nil {
					return err
				}
				jwt, err := tokenFor(ctx, s, n.ID, id.ID, model.ActionQR) // audited as a QR code shown (audit.go)
				if err != nil {
					return err
				}
				q, err := delivery.QR(jwt)
				if err != nil {
					return err
				}
				return a.printQR(q, id)
			})
		},
	}
	cmd.Flags().StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	return cmd
}

// printQR writes the code and, under it, the identity's name and the
// token's expiry.
func (a *app) printQR(q delivery.QRCode, id model.Identity) error {
	if f, ok := a.stdout.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		if cols, rows, err := term.GetSize(int(f.Fd())); err == nil && (q.Width > cols || q.Height+2 > rows) {
			return failf("the QR code needs %d×%d; this terminal is %d×%d: enlarge it or use %s",
				q.Width, q.Height+2, cols, rows, a.netHint("enrollment", "jwt", id.Name, "-o", "FILE"))
		}
	}
	text := q.Colored
	var w io.Writer = colorprofile.NewWriter(a.stdout, a.colorEnviron())
	if a.getenv("NO_COLOR") != "" {
		// No colours at all: the glyphs draw the dark modules, which is
		// right on a light background, on paper and in a file.
		text, w = q.Plain, a.stdout
	}
	under := displayName(id.Name) + "\n"
	if id.Enrollment != nil {
		under += "token expires " + fmtWhen(id.Enrollment.ExpiresAt, a.now()) + "\n"
	}
	_, err := io.WriteString(w, text+"\n"+under)
	return err
}

// colorEnviron is the part of this run's environment that tells
// colorprofile what the terminal shows.
func (a *app) colorEnviron() []string {
	var env []string
	for _, k := range []string{"TERM", "COLORTERM", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "TTY_FORCE", "TMUX", "GOOGLE_CLOUD_SHELL"} {
		if v := a.getenv(k); v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

func (a *app) emailCommand() *cobra.Command {
	var network, to string
	cmd := &cobra.Command{
		Use:   "email NAME [--to ADDR]",
		Short: "Send a pending identity's registration email, with its token",
		Long: `Send the registration email of a pending identity: short instructions,
the token's expiry, and the token attached as NAME.jwt and as a QR code
(NAME-qr.png). It goes to the identity's email address, or to --to ADDR.

The mail server comes from the config file's smtp: section; the variables
IDCON_SMTP_HOST, IDCON_SMTP_PORT, IDCON_SMTP_TLS (none, starttls or tls),
IDCON_SMTP_USER, IDCON_SMTP_PASSWORD and IDCON_SMTP_FROM override it, and
the password is only ever read from IDCON_SMTP_PASSWORD.

idcon makes one attempt. If it fails, the error says whether the server may
have received the message anyway: check with the recipient before sending
again.`,
		Example: "  idcon enrollment email laptop-alice\n  idcon enrollment email laptop-alice --to alice@example.org",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if t := strings.TrimSpace(to); t != "" {
				if err := model.ValidateEmail(t); err != nil {
					return usagef("--to: %s", err)
				}
			}
			cfg, err := a.loadConfig()
			if err != nil {
				return ran(err)
			}
			smtp, err := delivery.SMTPFromEnv(smtpSettings(cfg), a.getenv)
			if err == nil {
				err = smtp.Validate()
			}
			if err != nil {
				return ran(err)
			}
			var reg delivery.Registration
			err = a.withBackend(commandTimeout, func(ctx context.Context, s backend.Backend) error {
				n, err := a.resolveNetwork(ctx, s, network)
				if err != nil {
					return err
				}
				id, err := a.resolveIdentity(ctx, s, n, args[0])
				if err != nil {
					return err
				}
				if err := a.requireAllowed(id, model.ActionEmail, a.now()); err != nil {
					return err
				}
				addr := strings.TrimSpace(to)
				if addr == "" {
					addr = id.Email
				}
				if addr == "" {
					return failf("%s has no email address; give one with --to ADDR", displayName(id.Name))
				}
				if err := model.ValidateEmail(addr); err != nil {
					return failf("%s", err)
				}
				jwt, err := s.TokenJWT(ctx, n.ID, id.ID)
				if err != nil {
					return err
				}
				reg = delivery.Registration{To: addr, IdentityName: id.Name, NetworkName: n.Name, JWT: jwt,
					ExpiresAt: id.Enrollment.ExpiresAt, Location: time.Local}
				return nil
			})
			if err != nil {
				return err
			}
			// The database is closed while the mail server is talked to.
			ctx, cancel := context.WithTimeout(context.Background(), delivery.DefaultSendTimeout)
			defer cancel()
			if err := delivery.Send(ctx, smtp, reg); err != nil {
				return ran(err)
			}
			_, err = fmt.Fprintf(a.stdout, "sent the registration email of %s to %s\n", displayName(reg.IdentityName), displayName(reg.To))
			return err
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	f.StringVar(&to, "to", "", "send to this address instead of the identity's")
	return cmd
}
