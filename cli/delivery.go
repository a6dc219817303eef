package cli

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/charmbracelet/colorprofile"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// The deliveries from scripts: the QR code on stdout and the registration
// email. (The token itself, to stdout or a file, is 'enrollment jwt'.)

func (a *app) qrCommand() *cobra.Command {
	var network, format, outFile string
	cmd := &cobra.Command{
		Use:   "qr NAME [--format FORM] [--format png -o FILE]",
		Short: "Show a pending identity's token as a QR code, for a phone to scan",
		Long: `Print the current enrollment token of a pending identity as a QR code,
dark on light whatever the terminal's theme, with the identity's name and
the token's expiry under it. The mobile edge client scans it.

On a terminal idcon picks the form the console would, asking the terminal
as the console does: an image where the terminal answers the kitty graphics
query or says sixel (and for iTerm2, WezTerm, foot by name), else half
blocks, or sextants where the terminal is known to draw them (kitty,
WezTerm, foot, Ghostty, Windows Terminal, VTE 0.76 and later). Where none
of those fits, it draws the densest form that does (sextants) and warns
that the terminal may not draw it. Inside tmux or screen it draws text. It
says on stderr which form it used; only when no form fits does it refuse,
naming the smallest size that would do.
--format forces a form: text (half blocks), quadrant, sextant, kitty,
iterm2 or sixel (for an image through tmux, turn its allow-passthrough on).
IDCON_QR sets the same for the console and the CLI.

Not on a terminal (a pipe, a file) it prints half blocks without escape
sequences, dark glyphs for a light page. Colours are reduced to what the
terminal shows; with NO_COLOR the code is drawn without colours: in reverse
video on a terminal (dark background assumed; COLORFGBG can say light),
plain glyphs elsewhere.

--format png -o FILE writes a PNG (8 pixels a module, full quiet zone),
readable by you only, instead (-o - writes it to standard output; -o never
replaces a link or anything but a regular file, as for 'enrollment jwt').`,
		Example: "  idcon enrollment qr phone-bob\n  idcon enrollment qr phone-bob --format sextant\n  idcon enrollment qr phone-bob --format png -o phone-bob.png",
		Args:    exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			format = strings.ToLower(strings.TrimSpace(format))
			if err := checkQRFormat(format, outFile); err != nil {
				return err
			}
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
				var tf *tokenFile
				if outFile != "" {
					// The file's folder is checked before the token is
					// fetched (an audited read).
					if tf, err = a.prepareTokenFile(outFile); err != nil {
						return err
					}
					defer tf.discard()
				}
				jwt, err := tokenFor(ctx, s, n.ID, id.ID, model.ActionQR) // audited as a QR code shown (audit.go)
				if err != nil {
					return err
				}
				q, err := delivery.QR(jwt)
				if err != nil {
					return err
				}
				if tf != nil {
					return a.writeQRPNG(q, id, tf)
				}
				return a.printQR(q, id, format)
			})
		},
	}
	f := cmd.Flags()
	f.StringVar(&network, "network", "", "the network (may be left out when there is only one)")
	f.StringVar(&format, "format", "auto", "auto, text, quadrant, sextant, kitty, iterm2, sixel, or png (with -o)")
	f.StringVarP(&outFile, "output", "o", "", "with --format png: write the PNG to this file (mode 0600)")
	return cmd
}

// qrPNGScale is the PNG's pixels a module: about 900 pixels square for a
// 1 kB token, sharp on a screen and on paper.
const qrPNGScale = 8

func checkQRFormat(format, outFile string) error {
	switch {
	case format == "png" && outFile == "":
		return usagef("--format png writes a file: give it with -o FILE")
	case format != "png" && outFile != "":
		return usagef("-o writes a PNG: add --format png")
	case format == "png", format == "auto":
		return nil
	}
	if _, ok := delivery.TextFormNamed(format); ok {
		return nil
	}
	if delivery.GraphicsNamed(format) != delivery.NoGraphics {
		return nil
	}
	return usagef("unknown QR code format %q: use auto, text, quadrant, sextant, kitty, iterm2, sixel or png", format)
}

func (a *app) writeQRPNG(q delivery.QRCode, id model.Identity, tf *tokenFile) error {
	data, err := q.PNG(qrPNGScale)
	if err != nil {
		return err
	}
	// Written as is (tokenFile.commit would add a newline on a stream).
	if _, err := tf.Write(data); err != nil {
		tf.Discard()
		return fmt.Errorf("can't write %s: %w", tf.Path(), pathErr(err))
	}
	if err := tf.Commit(); err != nil {
		return err
	}
	if tf.IsStdout() {
		return nil // the PNG is the output
	}
	_, err = fmt.Fprintf(a.stdout, "wrote the QR code of %s %s\n", displayName(id.Name), safetext.Clean(tf.where()))
	return err
}

// printQR writes the code in the form the terminal suits (or format) with
// the identity's name and the token's expiry.
func (a *app) printQR(q delivery.QRCode, id model.Identity, format string) error {
	name, expiry := displayName(id.Name), ""
	if id.Enrollment != nil {
		expiry = "token expires " + fmtWhen(id.Enrollment.ExpiresAt, a.now())
	}
	t := delivery.TerminalFromEnv(a.getenv)
	if format != "auto" {
		t.Force = format
		if g := delivery.GraphicsNamed(format); g != delivery.NoGraphics {
			t = forcedGraphics(t, g)
		}
	}
	noColor := a.getenv("NO_COLOR") != ""
	f, isFile := a.stdout.(*os.File)
	if !isFile || !term.IsTerminal(int(f.Fd())) {
		// A pipe or a file: text, without colours unless forced
		// (colorprofile decides), dark glyphs for a light page, the name
		// and the expiry under it.
		under := name + "\n"
		if expiry != "" {
			under += expiry + "\n"
		}
		form := delivery.HalfBlocks
		if tf, ok := delivery.TextFormNamed(format); ok {
			form = tf
		} else if delivery.GraphicsNamed(format) != delivery.NoGraphics {
			choices, def := q.Choices(t, 80, 22)
			if def < 0 || !choices[def].IsImage() {
				nc, nr := q.Needs(t)
				return failf("the QR code image needs %d×%d; an 80×24 terminal is assumed: use --format png -o FILE", nc, nr+2)
			}
			return a.printQRImage(q, t, choices[def], "", under)
		}
		if noColor {
			_, err := io.WriteString(a.stdout, q.Text(form, delivery.InkPlain)+"\n"+under)
			return err
		}
		_, err := io.WriteString(colorprofile.NewWriter(a.stdout, a.colorEnviron()), q.Text(form, delivery.InkColor)+"\n"+under)
		return err
	}
	// On a terminal: the console's choice for its size (delivery.Pick),
	// from what the terminal answers as well as what its environment says.
	// The line about the form (stderr) and the name go above the code, so
	// that when the code takes the whole terminal they are what scrolls
	// away, not its quiet zone.
	cols, rows, err := term.GetSize(int(f.Fd()))
	if err != nil {
		cols, rows = 80, 24
	}
	if t.Force == "" {
		askTerminal(&t, qrAskTimeout)
	}
	choices, def, _ := q.Pick(t, cols, rows)
	var caveat string
	if def < 0 {
		// Nothing the terminal is known to draw fits, and there is no +
		// to press: the densest form that fits, saying so.
		if def = delivery.Densest(choices); def < 0 {
			form, nc, nr := q.Smallest(t)
			return failf("the QR code needs %d×%d (in %s); this terminal is %d×%d: enlarge it, or use %s",
				nc, nr+1, form, cols, rows, a.netHint("enrollment", "qr", id.Name, "--format", "png", "-o", "FILE"))
		}
		nc, nr := q.Needs(t)
		caveat = fmt.Sprintf(", which this terminal may not draw: if you see boxes, enlarge it to %d×%d or use --format png -o FILE", nc, nr+1)
	}
	c := choices[def]
	fmt.Fprintf(a.stderr, "idcon: the QR code in %s (%d×%d)%s\n", c, c.Cols, c.Rows, caveat)
	info := name
	if expiry != "" {
		info += " · " + expiry
	}
	above := safetext.Line(info, cols) + "\n"
	if c.IsImage() {
		return a.printQRImage(q, t, c, above, "")
	}
	ink := delivery.InkColor
	var w io.Writer = colorprofile.NewWriter(a.stdout, a.colorEnviron())
	if noColor {
		ink, w = delivery.MonochromeInk(!lightBackground(a.getenv("COLORFGBG"))), a.stdout
	}
	_, err = io.WriteString(w, above+q.Text(c.Form, ink)+"\n")
	return err
}

// forcedGraphics is t drawing g, through the multiplexer's passthrough if
// there is one.
func forcedGraphics(t delivery.Terminal, g delivery.Graphics) delivery.Terminal {
	t.Kitty, t.ITerm2, t.Sixel = g == delivery.Kitty, g == delivery.ITerm2, g == delivery.Sixel
	t.Passthrough = t.Mux != ""
	return t
}

// printQRImage draws the code as image c at the cursor, with above before
// it and under after it, and moves below it.
func (a *app) printQRImage(q delivery.QRCode, t delivery.Terminal, c delivery.QRChoice, above, under string) error {
	var img string
	var err error
	below := "\n"
	switch c.Graphics {
	case delivery.Kitty:
		// The cursor stays at the image's top left: the newlines below
		// move past it.
		img, err = q.KittyImage(1, c.Scale, c.Cols, c.Rows)
		below = strings.Repeat("\n", c.Rows)
	case delivery.ITerm2:
		img, err = q.ITerm2Image(c.Scale, c.Cols, c.Rows)
	case delivery.Sixel:
		img, err = q.SixelImage(c.Scale)
	}
	if err != nil {
		return err
	}
	_, err = io.WriteString(a.stdout, above+t.Wrap(img)+below+under)
	return err
}

// lightBackground reads COLORFGBG ("15;0": light text on a dark
// background), which rxvt, Konsole and others set.
func lightBackground(colorfgbg string) bool {
	parts := strings.Split(colorfgbg, ";")
	bg, err := strconv.Atoi(parts[len(parts)-1])
	return err == nil && (bg == 7 || bg == 15)
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
