package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/backend/multi"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
	"github.com/idcon/idcon/sshserver"
	"github.com/idcon/idcon/telemetry"
	"github.com/idcon/idcon/ui"
)

// serveFlags are idcon serve's options.
type serveFlags struct {
	listen         string
	hostKey        string
	authorizedKeys string
	idleTimeout    time.Duration
	maxSessions    int
	shutdownGrace  time.Duration
	logFormat      string
	healthListen   string
}

func (a *app) serveCommand() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the console over SSH to the admins of the authorized keys file",
		Long: `Serve the console over SSH: each key of the authorized keys file signs in
with its role (admin: everything; viewer: browse only) and its name, under
which its changes are audited. Every session sees the same networks as the
local console (the database and the config file's controllers), and what
one admin changes shows at once in the others' consoles.

  ssh -t -p 2222 HOST                      opens the console
  scp -P 2222 HOST:NETWORK/IDENTITY.jwt .  downloads a pending identity's token (admins)

The authorized keys file has one key per line, with its role and name:

  role="admin",name="alice" ssh-ed25519 AAAA... alice@laptop
  role="viewer",name="carol" ssh-ed25519 AAAA... carol@desk

It is re-read when it changes (or on SIGHUP) without dropping sessions.
The host key is made on the first start. SIGINT or SIGTERM stops the
server gracefully: it stops accepting, tells each console it is stopping
and gives it --shutdown-grace to finish, lets the changes under way end,
then closes what is left. The server logs to stderr (JSON lines unless
stderr is a terminal; --log-format), never a token; --health-listen
serves /healthz and Prometheus /metrics. See docs/SSH.md and
docs/OPERATING.md.`,
		Example: "  idcon serve\n  idcon serve --listen 0.0.0.0:2222 --authorized-keys /etc/idcon/authorized_keys",
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if f.maxSessions < 1 {
				return usagef("--max-sessions must be at least 1, not %d", f.maxSessions)
			}
			if f.idleTimeout < 0 {
				return usagef("--idle-timeout must be a duration such as 15m, or 0 for none")
			}
			if f.shutdownGrace < 0 {
				return usagef("--shutdown-grace must be a duration such as 10s, or 0 to close consoles at once")
			}
			if f.healthListen != "" {
				if _, _, err := net.SplitHostPort(f.healthListen); err != nil {
					return usagef("--health-listen must be host:port, such as 127.0.0.1:9090, not %q", f.healthListen)
				}
			}
			switch f.logFormat {
			case "", "json", "text":
			default:
				return usagef("--log-format is json or text, not %q", f.logFormat)
			}
			return ran(a.serve(cmd.Context(), f))
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", sshserver.DefaultListen, "the address to listen on, host:port")
	fl.StringVar(&f.hostKey, "host-key", "", "the server's host key, made on the first start (default $XDG_DATA_HOME/idcon/ssh_host_ed25519_key)")
	fl.StringVar(&f.authorizedKeys, "authorized-keys", "", "the keys allowed in, with their roles and names (default $XDG_DATA_HOME/idcon/authorized_keys)")
	fl.DurationVar(&f.idleTimeout, "idle-timeout", sshserver.DefaultIdleTimeout, "close a console after this long without input (0: never)")
	fl.IntVar(&f.maxSessions, "max-sessions", sshserver.DefaultMaxSessions, "how many sessions may be open at once")
	fl.DurationVar(&f.shutdownGrace, "shutdown-grace", sshserver.DefaultShutdownGrace, "on SIGTERM, how long open consoles may go on (each is told) before they are closed")
	fl.StringVar(&f.logFormat, "log-format", "", "json or text (default json when stderr is not a terminal, else text)")
	fl.StringVar(&f.healthListen, "health-listen", "", "serve /healthz and /metrics on this address, host:port (default: off)")
	return cmd
}

// serve runs the SSH server until SIGINT or SIGTERM. One backend serves
// every session: the database and the config file's controllers, joined,
// each session reaching it through its own access.Backend (its key's role,
// audited under its name), all publishing to one hub of changes.
func (a *app) serve(ctx context.Context, f serveFlags) error {
	cfg, err := a.loadConfig()
	if err != nil {
		return err
	}
	dir, err := a.dataDir()
	if err != nil {
		return err
	}
	if f.hostKey == "" {
		f.hostKey = filepath.Join(dir, "ssh_host_ed25519_key")
	}
	if f.authorizedKeys == "" {
		f.authorizedKeys = filepath.Join(dir, "authorized_keys")
	}
	s, dbPath, err := a.open()
	if err != nil {
		return err
	}
	defer s.Close()
	if a.demo {
		dctx, cancel := context.WithTimeout(ctx, demoTimeout)
		err := ensureDemo(dctx, s)
		cancel()
		if err != nil {
			return err
		}
	}
	trail, err := a.openAudit()
	if err != nil {
		return err
	}
	defer trail.Close()
	members, warnings, closeControllers := a.serveMembers(cfg, s)
	defer closeControllers()

	logger := a.serveLogger(f.logFormat)
	for _, w := range warnings {
		logger.Warn(w)
	}
	metrics := telemetry.NewMetrics()
	bs := make([]backend.Backend, len(members))
	probes := make([]telemetry.Probe, len(members))
	for i, m := range members {
		bs[i] = m.Backend
		probes[i] = telemetry.Probe{Name: m.Name, Check: reachable(m.Backend)}
	}
	// Every session's calls are counted and their errors logged, once,
	// below the sessions' access.Backends.
	raw := telemetry.Instrument(multi.New(bs...), metrics, logger)

	hub := access.NewChanges()
	smtp := smtpSettings(cfg)
	idle := f.idleTimeout
	if idle == 0 {
		idle = -1 // sshserver's "never"
	}
	srv, err := sshserver.New(sshserver.Config{
		Listen:             f.listen,
		HostKeyPath:        f.hostKey,
		AuthorizedKeysPath: f.authorizedKeys,
		IdleTimeout:        idle,
		MaxSessions:        f.maxSessions,
		ShutdownGrace:      graceOrNone(f.shutdownGrace),
		Observer:           metrics,
		Backend:            raw,
		Audit:              trail,
		Changes:            hub,
		Logger:             logger,
		Now:                a.now,
		NewConsole: func(sess ssh.Session, b *access.Backend, actor access.Actor) tea.Model {
			return ui.New(ui.Options{
				Backend:   b,
				Now:       a.now,
				Policy:    model.ExpiryPolicy{},
				StateFile: filepath.Join(dir, "state", fileName(actor.Name)+".json"),
				// Colours follow the session's own terminal; NO_COLOR only
				// if the client sent it (SendEnv), never the server's.
				NoColor:  hasEnv(sess.Environ(), "NO_COLOR"),
				SignedIn: actor.Name + " · " + string(actor.Role),
				// Download JWT offers scp to the admin's machine, not a
				// folder of the server's.
				RemoteDownload: func(n model.Network, id model.Identity) string { return scpCommand(sess, n, id) },
				SMTP:           smtp,
				Getenv:         a.getenv, // the server's environment, never the client's
				// How Show QR code draws, and whether the clipboard takes
				// the token, follow the admin's terminal: the session's pty
				// and what the client sent, never the server's terminal.
				Terminal: sessionTerminal(sess),
				Warnings: warnings,
				Changes:  uiChanges(hub, sess.Context().Done()),
			})
		},
	})
	if err != nil {
		return failf("%s", strings.ReplaceAll(trimAdvice(err.Error()), "\n", "; "))
	}
	logger.Info("idcon serve", "version", Version, "commit", Commit, "db", dbPath, "audit", trail.Path())
	if f.healthListen != "" {
		h := &telemetry.Health{Listening: srv.Serving, Addr: srv.Addr().String(), Probes: probes}
		l, err := telemetry.Listen(f.healthListen, h, metrics, logger)
		if err != nil {
			_ = srv.Close()
			return failf("%v; choose another --health-listen", err)
		}
		go func() {
			if err := l.Serve(); err != nil {
				logger.Error("health and metrics stopped", "err", err)
			}
		}()
		// Closed after the SSH server has stopped: /healthz says so
		// through the drain.
		defer l.Close()
		logger.Info("serving health and metrics", "addr", l.Addr().String(), "paths", "/healthz /metrics")
	}
	sctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	return srv.ListenAndServe(sctx)
}

// graceOrNone is --shutdown-grace in sshserver's terms (0 there is its
// default; here it means none).
func graceOrNone(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// serveLogger is the server's log on stderr: JSON lines, or text when
// format says so or (format unset) stderr is a terminal.
func (a *app) serveLogger(format string) *slog.Logger {
	if format == "" {
		format = "json"
		if f, ok := a.stderr.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			format = "text"
		}
	}
	if format == "text" {
		return slog.New(slog.NewTextHandler(a.stderr, nil))
	}
	return slog.New(slog.NewJSONHandler(a.stderr, nil))
}

// reachable is the health check of one member: it lists its networks
// (a controller's answer carries why it can't be reached in the network's
// status).
func reachable(b backend.Backend) func(context.Context) error {
	return func(ctx context.Context) error {
		nets, err := b.Networks(ctx)
		if err != nil {
			return err
		}
		for _, n := range nets {
			if n.Status != "" {
				return errors.New(n.Name + ": " + n.Status)
			}
		}
		return nil
	}
}

// uiChanges feeds one console the hub's changes, in the console's own
// type, until done (the session's end) closes it.
func uiChanges(hub *access.Changes, done <-chan struct{}) <-chan ui.Change {
	events, cancel := hub.Subscribe()
	out := make(chan ui.Change)
	go func() {
		defer close(out)
		defer cancel()
		for {
			select {
			case <-done:
				return
			case ev, ok := <-events:
				if !ok {
					return
				}
				select {
				case out <- ui.Change{Network: ev.Network, IdentityID: ev.IdentityID, By: ev.By}:
				case <-done:
					return
				}
			}
		}
	}()
	return out
}

// fileName makes an admin's name (any text the authorized keys file gives)
// a safe file name: letters, digits, dot, dash and underscore kept, and a
// short hash of the name added when anything else was replaced, so that
// two names never share a file.
func fileName(name string) string {
	var b strings.Builder
	clean := name != "" && !strings.HasPrefix(name, ".")
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
			clean = false
		}
	}
	if clean {
		return b.String()
	}
	sum := sha256.Sum256([]byte(name))
	return fmt.Sprintf("%s-%s", strings.TrimLeft(b.String(), "."), hex.EncodeToString(sum[:4]))
}

// hasEnv reports whether environ (KEY=VALUE lines) sets key to something.
func hasEnv(environ []string, key string) bool {
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok && k == key && v != "" {
			return true
		}
	}
	return false
}

// sessionTerminal reads the SSH session's terminal environment: the pty's
// TERM, then the variables the client sent (TERM_PROGRAM, LC_TERMINAL,
// IDCON_QR… where its SendEnv and the server's AcceptEnv allow).
func sessionTerminal(sess ssh.Session) func(string) string {
	env := map[string]string{}
	for _, kv := range sess.Environ() {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	if pty, _, ok := sess.Pty(); ok && pty.Term != "" {
		env["TERM"] = pty.Term
	}
	return func(k string) string { return env[k] }
}

// scpCommand is the command that downloads id's token through this SSH
// server to the admin's own machine: the login the session used (its user,
// and the address and port it reached), and the server's token path
// NETWORK/IDENTITY.jwt, quoted for the admin's shell. It is "" when the
// path can't name the identity (a name holding a slash, or characters a
// terminal would act on).
func scpCommand(sess ssh.Session, n model.Network, id model.Identity) string {
	host, port, err := net.SplitHostPort(sess.LocalAddr().String())
	if err != nil {
		return ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]" // IPv6
	}
	netPart := n.Name
	if strings.Contains(netPart, "/") || safetext.Clean(netPart) != netPart {
		netPart = n.ID // the server's paths take a network's ID too
	}
	if id.Name == "" || strings.Contains(id.Name, "/") || safetext.Clean(id.Name) != id.Name {
		return ""
	}
	login := sess.User() + "@" + host + ":" + netPart + "/" + id.Name + ".jwt"
	args := []string{"scp"}
	if port != "22" {
		args = append(args, "-P", port)
	}
	return strings.Join(append(args, shellQuote(login), "."), " ")
}
