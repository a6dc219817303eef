package ui

import (
	"errors"
	"strings"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// emailRequestedMsg: the admin asked to send the registration email to to.
type emailRequestedMsg struct{ to string }

// emailDialog is Send registration email: the address (the identity's,
// editable), then one attempt to send. A failure is shown in plain words
// and retried only when the admin presses r; when the server may already
// have the message, r asks first, so nothing goes out twice by accident.
type emailDialog struct {
	*fieldDialog
	ident     model.Identity
	smtp      delivery.SMTPConfig
	maybeSent bool // the last failure may have delivered the message
}

func newEmailDialog(s *session, ident model.Identity, cfg delivery.SMTPConfig) *emailDialog {
	d := &emailDialog{ident: ident, smtp: cfg}
	d.fieldDialog = newFieldDialog(s, fieldDialogSpec{
		Name:  model.ActionEmail.Title(),
		Title: "Registration email for " + ident.Name,
		Field: fieldSpec{Label: "To", Placeholder: "name@example.org", Value: safetext.Clean(ident.Email),
			Limit: 254, // the longest address SMTP carries
			Check: func(v string) (string, error) {
				to := strings.TrimSpace(v)
				if to == "" {
					return "", errors.New("Type the address to send the email to: " + safetext.Line(ident.Name, 40) + " has none.")
				}
				if err := model.ValidateEmail(to); err != nil {
					return "", errors.New(safetext.Clean(err.Error()) + ".")
				}
				return to, nil
			}},
		Hint: func() string {
			return "From " + safetext.Clean(cfg.From) + " through " + safetext.Clean(cfg.Addr()) +
				", with the token attached as a file and as a QR code."
		},
		Request:  func(to string, _ bool) tea.Msg { return emailRequestedMsg{to: to} },
		Progress: func(to string, w int) string { return "Sending to " + safetext.Line(to, w-14) + "…" },
		Failed: func(err error) fieldFailure {
			var se *delivery.SendError
			d.maybeSent = errors.As(err, &se) && se.MaybeSent
			f := fieldFailure{text: describeDeliveryErr("The email was not sent", err), state: stateFailed, back: stateFailed}
			if d.maybeSent {
				f.ask = "the server may have received it: send again? y/n"
			}
			return f
		},
		SubmitHelp: "send", EditHelp: "change the address", AgainHelp: "send again", KeepHelp: "don't send",
	})
	return d
}
