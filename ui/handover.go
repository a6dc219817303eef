package ui

import (
	"fmt"
	"path/filepath"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// The handover flow: the token's deliveries from Edit Identity, each
// fetching the token when it is about to be used, through the backend's
// audited Token where it has one (delivery.go):
//
//	c → the QR code, full screen (qrview.go)
//	j → the folder (download.go) → the file, and the token on the clipboard
//	m → the address (email.go) → the registration email
//
// Under the SSH server j is the clipboard flow's (clipboard.go).
type handoverFlow struct {
	st  *stage
	seq int // the latest QR code asked for
}

func newHandoverFlow(st *stage) *handoverFlow { return &handoverFlow{st: st} }

func (f *handoverFlow) update(msg tea.Msg) (tea.Cmd, bool) {
	switch msg := msg.(type) {
	case actionRequestedMsg:
		if !msg.action.Delivers() {
			return nil, false
		}
		return f.start(msg.action), true
	case qrReadyMsg:
		return f.qrReady(msg), true
	case downloadRequestedMsg:
		return f.download(msg), true
	case downloadDoneMsg:
		return f.downloadDone(msg), true
	case emailRequestedMsg:
		return f.sendEmail(msg), true
	case emailDoneMsg:
		return f.emailDone(msg), true
	}
	return nil, false
}

func (f *handoverFlow) start(act model.Action) tea.Cmd {
	v, cmd := allowedAction(f.st, act) // action.go
	if v == nil {
		return cmd
	}
	s := f.st.s
	switch act {
	case model.ActionQR:
		f.seq = s.nextSeq()
		v.setBusy("Preparing the QR code")
		return qrCmd(s.opts.Backend, s.opts.Timeout, f.st.network.ID, v.ident, f.seq)
	case model.ActionJWT:
		f.st.openDialog(newDownloadDialog(s, v.ident))
	case model.ActionEmail:
		cfg, err := smtpConfig(s.opts)
		if err != nil {
			return f.st.toast(describeDeliveryErr("The email can't be sent", err), toastProblem)
		}
		f.st.openDialog(newEmailDialog(s, v.ident, cfg))
	}
	return nil
}

// qrReady opens the QR code fetched for the identity still being edited.
func (f *handoverFlow) qrReady(msg qrReadyMsg) tea.Cmd {
	v := f.st.editing()
	if msg.seq != f.seq || v == nil || v.ident.ID != msg.identity.ID {
		return nil
	}
	v.setBusy("")
	if msg.err != nil {
		return f.st.toast(describeDeliveryErr("The QR code can't be shown", msg.err), toastProblem)
	}
	qv := newQRView(f.st.s, msg.identity, msg.code)
	f.st.openDialog(qv)
	return qv.redraw()
}

func (f *handoverFlow) download(msg downloadRequestedMsg) tea.Cmd {
	d, ok := f.st.dialog.(*downloadDialog)
	if !ok || d.Busy() {
		return nil
	}
	o := f.st.s.opts
	d.running(f.st.s.nextSeq())
	// The folder proposed is made on first use; one the admin typed isn't.
	proposed := msg.dir != "" && filepath.Clean(msg.dir) == filepath.Clean(expandHome(o.Downloads, o.Getenv))
	return downloadCmd(o.Backend, o.Timeout, f.st.network.ID, d.ident, msg.dir, msg.overwrite, proposed, d.seq)
}

// downloadDone closes the dialog with the path in a toast and the token on
// the admin's clipboard (OSC 52: it reaches the admin's terminal through
// SSH and tmux), or shows the dialog what went wrong.
func (f *handoverFlow) downloadDone(msg downloadDoneMsg) tea.Cmd {
	d, ok := f.st.dialog.(*downloadDialog)
	if !ok || !d.settled(msg.seq, msg.err) {
		return nil
	}
	f.st.closeDialog()
	text := fmt.Sprintf("Token of %s saved to %s and %s", safetext.Line(d.ident.Name, 40), msg.path, f.st.s.clipboardWords())
	return tea.Batch(f.st.toast(text, toastDone), tea.SetClipboard(string(msg.Token)))
}

func (f *handoverFlow) sendEmail(msg emailRequestedMsg) tea.Cmd {
	d, ok := f.st.dialog.(*emailDialog)
	if !ok || d.Busy() {
		return nil
	}
	d.running(f.st.s.nextSeq())
	o := f.st.s.opts
	return emailCmd(o.Backend, o.Timeout, o.SendTimeout, d.smtp, f.st.network, d.ident, msg.to, o.Location, d.seq)
}

func (f *handoverFlow) emailDone(msg emailDoneMsg) tea.Cmd {
	d, ok := f.st.dialog.(*emailDialog)
	if !ok || !d.settled(msg.seq, msg.err) {
		return nil
	}
	f.st.closeDialog()
	return f.st.toast("Registration email sent to "+msg.to, toastDone)
}
