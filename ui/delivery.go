package ui

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

// The deliveries get an identity's current token to its user: Show QR code,
// Download JWT and Send registration email. Their I/O (the token itself, the
// file, the SMTP exchange) runs in the tea.Cmds below, off the Update loop,
// each with a deadline.

// purposeTokens is what a backend that checks roles and audits deliveries
// offers (backend/access does): the token fetched for one purpose, refused
// to those who may not deliver it, and recorded. Without it the console
// falls back to Backend.TokenJWT.
type purposeTokens interface {
	Token(ctx context.Context, network, id string, purpose model.Action) (string, error)
}

// deliveryRecorder records the outcome of a delivery known only after the
// token was fetched (an email sent or not). backend/access offers it.
type deliveryRecorder interface {
	Record(ctx context.Context, network, identity string, action model.Action, result string)
}

// fetchToken gets the identity's current token for a delivery.
func fetchToken(ctx context.Context, b backend.Backend, network, id string, purpose model.Action) (secret, error) {
	if t, ok := b.(purposeTokens); ok {
		tok, err := t.Token(ctx, network, id, purpose)
		return secret(tok), err
	}
	tok, err := b.TokenJWT(ctx, network, id)
	return secret(tok), err
}

// secret is a token held in memory on its way to the admin's clipboard. It
// never prints itself, so a message logged with %v or %+v can't leak it.
type secret string

func (secret) String() string   { return "[token]" }
func (secret) GoString() string { return "[token]" }

// Results of the delivery commands. seq is the request's: the dialog or
// screen that asked ignores an answer to an older request.
type (
	// qrReadyMsg: the token was fetched and drawn as a QR code.
	qrReadyMsg struct {
		seq      int
		identity model.Identity
		code     delivery.QRCode
		err      error
	}
	// downloadDoneMsg: the token was written to path (and is in token, for
	// the clipboard), or err says why not.
	downloadDoneMsg struct {
		seq   int
		path  string
		Token secret // exported so that fmt calls its String method
		err   error
	}
	// emailDoneMsg: the registration email went to to, or err says why not.
	emailDoneMsg struct {
		seq int
		to  string
		err error
	}
)

// qrCmd fetches the token and renders it, once: the view keeps the strings.
func qrCmd(b backend.Backend, timeout time.Duration, network string, ident model.Identity, seq int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		msg := qrReadyMsg{seq: seq, identity: ident}
		tok, err := fetchToken(ctx, b, network, ident.ID, model.ActionQR)
		if err == nil {
			// The expiry shown under the code must be this token's.
			msg.identity, err = currentIdentity(ctx, b, network, ident)
		}
		if err != nil {
			msg.err = err
			return msg
		}
		msg.code, msg.err = delivery.QR(string(tok))
		return msg
	}
}

// downloadCmd writes the token to dir. Without overwrite it first checks
// that the file can be created, so that the token is fetched (an audited
// read) only when it is about to be written; WriteJWT still refuses a file
// that appears meanwhile.
func downloadCmd(b backend.Backend, timeout time.Duration, network string, ident model.Identity, dir string, overwrite, makeDir bool, seq int) tea.Cmd {
	return func() tea.Msg {
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		msg := downloadDoneMsg{seq: seq}
		if makeDir {
			// The default downloads folder, on first use: the admin's only.
			if err := os.MkdirAll(dir, 0o700); err != nil {
				var pe *fs.PathError
				if errors.As(err, &pe) {
					err = pe.Err // the folder is said below
				}
				msg.err = fmt.Errorf("the folder %s can't be made (%w): choose another", dir, err)
				return msg
			}
		}
		if !overwrite {
			if _, err := delivery.JWTTarget(dir, ident.Name); err != nil {
				msg.err = err
				return msg
			}
		}
		tok, err := fetchToken(ctx, b, network, ident.ID, model.ActionJWT)
		if err != nil {
			msg.err = err
			return msg
		}
		msg.path, msg.err = delivery.WriteJWT(dir, ident.Name, string(tok), overwrite)
		if msg.err == nil {
			msg.Token = tok
		}
		return msg
	}
}

// emailCmd fetches the token and sends the registration email: one
// attempt, never retried here (a retry is the admin's explicit choice), and
// its outcome recorded where the backend audits deliveries.
func emailCmd(b backend.Backend, timeout, sendTimeout time.Duration, cfg delivery.SMTPConfig, network model.Network,
	ident model.Identity, to string, loc *time.Location, seq int) tea.Cmd {
	return func() tea.Msg {
		msg := emailDoneMsg{seq: seq, to: to}
		ctx, cancel := context.WithTimeout(context.Background(), timeout)
		tok, err := fetchToken(ctx, b, network.ID, ident.ID, model.ActionEmail)
		if err == nil {
			// The email states the expiry: it must be this token's.
			ident, err = currentIdentity(ctx, b, network.ID, ident)
		}
		cancel()
		if err != nil {
			msg.err = err
			return msg
		}
		reg := delivery.Registration{
			To:           to,
			IdentityName: ident.Name,
			NetworkName:  network.Name,
			JWT:          string(tok),
			Location:     loc,
		}
		reg.ExpiresAt = ident.Enrollment.ExpiresAt
		sctx, scancel := context.WithTimeout(context.Background(), sendTimeout)
		msg.err = delivery.Send(sctx, cfg, reg)
		scancel()
		if r, ok := b.(deliveryRecorder); ok {
			result := "" // recorded as ok
			if msg.err != nil {
				result = msg.err.Error() // plain words, never the token
			}
			rctx, rcancel := context.WithTimeout(context.Background(), timeout)
			r.Record(rctx, network.ID, ident.ID, model.ActionEmail, result)
			rcancel()
		}
		return msg
	}
}

// currentIdentity reloads ident, which must still hold a token.
func currentIdentity(ctx context.Context, b backend.Backend, network string, ident model.Identity) (model.Identity, error) {
	cur, err := b.Identity(ctx, network, ident.ID)
	if err != nil {
		return ident, err
	}
	if cur.Enrollment == nil {
		return ident, backend.Conflict("%s has no token any more", ident.Name)
	}
	return cur, nil
}

// smtpConfig is the config file's SMTP settings with the environment's
// overrides, checked: the error says how to set them up.
func smtpConfig(o Options) (delivery.SMTPConfig, error) {
	c, err := delivery.SMTPFromEnv(o.SMTP, o.Getenv)
	if err != nil {
		return c, err
	}
	return c, c.Validate()
}

// expandHome turns a leading "~/" into the home folder, as a shell would:
// admins type folders that way.
func expandHome(dir string, getenv func(string) string) string {
	home := getenv("HOME")
	if home == "" {
		return dir
	}
	if dir == "~" {
		return home
	}
	if rest, ok := strings.CutPrefix(dir, "~/"); ok {
		return filepath.Join(home, rest)
	}
	return dir
}

// isConfigErr reports an SMTP settings problem: retrying won't help.
func isConfigErr(err error) bool { return errors.Is(err, delivery.ErrSMTPConfig) }
