package ui

import (
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

// Options is everything one console session needs. Nothing in ui is global:
// the same code serves a local terminal and many SSH sessions, each with its
// own Options.
type Options struct {
	Backend backend.Backend
	// Now is the clock (tests pass a fixed one); nil means time.Now.
	Now func() time.Time
	// Location is the admin's time zone for dates; nil means time.Local.
	Location *time.Location
	// Policy bounds how far ahead a token may expire.
	Policy model.ExpiryPolicy
	// DefaultExpiry is how far ahead the date picker starts; zero means 7 days.
	DefaultExpiry time.Duration
	// StateFile is where the last chosen network is remembered; "" means
	// don't remember. It is read and written only inside tea.Cmds.
	StateFile string
	// SignedIn names who this console acts for and their role, as the
	// SSH server authorized the session's key ("carol · viewer"); shown in
	// the sidebar. "" shows nothing (the local console).
	SignedIn string
	// NoColor is set when NO_COLOR is: the console then draws no colours and
	// relies on words and markers alone.
	NoColor bool
	// Downloads is the folder Download JWT offers; "" means the process's
	// current folder. The admin may change it in the dialog. Under the SSH
	// server it is a folder of the server.
	Downloads string
	// RemoteDownload is set under the SSH server: it returns the scp
	// command that fetches ident's token to the admin's own machine through
	// this server ("" when scp can't name it). Download JWT then offers that
	// and the clipboard instead of a folder of the server's.
	RemoteDownload func(n model.Network, ident model.Identity) string
	// SMTP is the mail server for registration emails as the config file
	// sets it (the password comes from the environment). The IDCON_SMTP_*
	// variables read through Getenv override it, field by field, when the
	// admin asks to send.
	SMTP delivery.SMTPConfig
	// Getenv reads the environment for the IDCON_SMTP_* overrides and HOME
	// (for a "~/" folder); nil means none. Under the SSH server it must read
	// the server's environment, never the client's.
	Getenv func(string) string
	// Terminal reads the environment of the terminal the admin sits at:
	// TERM, TERM_PROGRAM, LC_TERMINAL, VTE_VERSION, WT_SESSION, TMUX, STY
	// and IDCON_QR (a QR code form to use), which say how Show QR code can
	// draw. Locally it is the process's environment; under the SSH server
	// the session's (its pty's TERM and what the client sent). nil means
	// none.
	Terminal func(string) string
	// Timeout bounds every backend call; zero means 15 seconds.
	Timeout time.Duration
	// SendTimeout bounds sending one email; zero means
	// delivery.DefaultSendTimeout.
	SendTimeout time.Duration
	// CreateNetwork is the command that creates a network in this
	// console's database, shown when it has none; "" means "idcon network
	// create NAME".
	CreateNetwork string
	// Warnings are shown as notes when the console opens: what the admin
	// should know about the configuration (plain HTTP to a controller).
	Warnings []string
	// Changes carries what other sessions of the same server change (the
	// SSH server feeds it from its hub); nil means none. The console reads
	// it until it is closed; its owner closes it when the session ends.
	Changes <-chan Change
	// PollInterval is how often the identity open in Edit Identity is
	// reloaded to catch changes made outside this process (the CLI in
	// another terminal, a controller's web console): zero means 1 s on an
	// embedded network and 5 s on a remote one; negative means never.
	PollInterval time.Duration
	// SignIn, when set, answers controller logins' questions (a password,
	// a TOTP code) with a dialog, and feeds the requests pane (R). nil
	// under the SSH server: no admin is asked for a controller password
	// there.
	SignIn *SignIn
	// Clusters, when set, holds the controllers' clients whose HA nodes
	// the sidebar shows (nodes.go); nil shows none.
	Clusters *Clusters
}

func (o Options) withDefaults() Options {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.DefaultExpiry <= 0 {
		o.DefaultExpiry = 7 * 24 * time.Hour
	}
	if o.Timeout <= 0 {
		o.Timeout = 15 * time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = delivery.DefaultSendTimeout
	}
	if o.Getenv == nil {
		o.Getenv = func(string) string { return "" }
	}
	if o.Terminal == nil {
		o.Terminal = func(string) string { return "" }
	}
	return o
}
