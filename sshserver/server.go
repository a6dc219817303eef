// Package sshserver serves idcon's console over SSH (`idcon serve`): each
// session authorised by a key in the authorized keys file gets its own
// console program, with the role the file gives the key enforced in front
// of the backend; `scp HOST:NETWORK/IDENTITY.jwt .` downloads a token. It
// is built on wish and its bubbletea middleware.
package sshserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2"
	"charm.land/wish/v2/bubbletea"
	gossh "golang.org/x/crypto/ssh"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/safetext"
)

// Defaults for the zero values of Config.
const (
	DefaultListen          = "127.0.0.1:2222"
	DefaultIdleTimeout     = 15 * time.Minute
	DefaultMaxSessions     = 50
	DefaultShutdownTimeout = 30 * time.Second
	DefaultShutdownGrace   = 10 * time.Second
)

// handshakeTimeout bounds how long a connection may take to authenticate,
// so unauthenticated connections can't pile up.
const handshakeTimeout = 30 * time.Second

// keyPollInterval is how often the authorized keys file is checked for
// changes (SIGHUP reloads at once).
const keyPollInterval = time.Second

// Config configures a Server.
type Config struct {
	Listen             string // "host:port"; empty means DefaultListen
	HostKeyPath        string // generated (0600) on first start if missing
	AuthorizedKeysPath string
	// IdleTimeout closes a console that received no input for this long; 0
	// means DefaultIdleTimeout, negative disables it.
	IdleTimeout time.Duration
	// MaxSessions is how many sessions (consoles and downloads) may be open
	// at once; 0 means DefaultMaxSessions.
	MaxSessions int
	// ShutdownTimeout bounds the graceful shutdown; 0 means
	// DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// ShutdownGrace is how long open consoles may go on after the
	// shutdown begins (each is told at once, with a countdown) before they
	// are closed; 0 means DefaultShutdownGrace, negative none.
	ShutdownGrace time.Duration
	// Backend is the shared raw backend; each session wraps it in its own
	// access.Backend. The server does not close it.
	Backend backend.Backend
	Audit   *audit.Log
	// Changes is the hub sessions publish their changes to; nil makes one.
	Changes *access.Changes
	// NewConsole builds the console of one session.
	NewConsole func(s ssh.Session, b *access.Backend, actor access.Actor) tea.Model
	// Logger receives the server's log (never a token); nil logs text to
	// stderr.
	Logger *slog.Logger
	// Now is the clock of audit entries; nil means time.Now.
	Now func() time.Time
	// Observer is told of sessions and refused sign-ins (the metrics);
	// nil tells no one.
	Observer Observer
}

// Observer is told what the server does, for its metrics.
type Observer interface {
	SessionStarted(kind string)
	SessionEnded(kind string, d time.Duration)
	// AuthFailed: a sign-in refused, with why ("unknown_key",
	// "key_removed").
	AuthFailed(reason string)
}

type noObserver struct{}

func (noObserver) SessionStarted(string)              {}
func (noObserver) SessionEnded(string, time.Duration) {}
func (noObserver) AuthFailed(string)                  {}

// Server is an SSH server for idcon's console.
type Server struct {
	cfg     Config
	log     *slog.Logger
	ssh     *ssh.Server
	ln      net.Listener
	keys    *keyring
	hostKey gossh.PublicKey

	inflight access.Inflight
	active   atomic.Int64 // open sessions
	closing  atomic.Bool
	started  atomic.Bool
	serving  atomic.Bool // the listener accepts connections

	mu       sync.Mutex
	sessions map[*session]struct{}
}

// New checks cfg, loads (or generates) the host key, reads the authorized
// keys and binds the listen address, so that errors in any of them come out
// before serving starts and Addr is known at once.
func New(cfg Config) (*Server, error) {
	if cfg.Backend == nil {
		return nil, errors.New("sshserver: no backend")
	}
	if cfg.Audit == nil {
		return nil, errors.New("sshserver: no audit log: every change made over SSH must be audited")
	}
	if cfg.NewConsole == nil {
		return nil, errors.New("sshserver: no console")
	}
	if cfg.Listen == "" {
		cfg.Listen = DefaultListen
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.ShutdownGrace == 0 {
		cfg.ShutdownGrace = DefaultShutdownGrace
	}
	if cfg.Changes == nil {
		cfg.Changes = access.NewChanges()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Observer == nil {
		cfg.Observer = noObserver{}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	signer, err := ensureHostKey(cfg.HostKeyPath, log)
	if err != nil {
		return nil, err
	}
	keys, err := loadKeyring(cfg.AuthorizedKeysPath, log)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: log, keys: keys, hostKey: signer.PublicKey(), sessions: map[*session]struct{}{}}

	opts := []ssh.Option{
		// The path, always: without a host key wish writes id_ed25519 into
		// the current directory.
		wish.WithHostKeyPath(cfg.HostKeyPath),
		// Public keys only: with no password or keyboard-interactive
		// handler, the server doesn't offer those methods at all.
		wish.WithPublicKeyAuth(s.authorize),
		wish.WithSubsystem("sftp", s.sftpSubsystem),
		// Middlewares run last to first: enter, then scp, then the checks,
		// then the console.
		wish.WithMiddleware(
			s.afterConsole,
			bubbletea.MiddlewareWithProgramHandler(s.newProgram),
			requirePty,
			refuseCommands,
			scpMiddleware,
			s.enterMiddleware,
		),
		func(srv *ssh.Server) error {
			srv.HandshakeTimeout = handshakeTimeout
			srv.ConnectionFailedCallback = func(c net.Conn, err error) {
				log.Info("ssh connection refused", "remote", c.RemoteAddr().String(), "err", err)
			}
			return nil
		},
	}
	if cfg.IdleTimeout > 0 {
		// A connection-level backstop for connections that carry no console
		// (a stalled download); consoles get their own input-based timeout
		// and a message first.
		opts = append(opts, wish.WithIdleTimeout(cfg.IdleTimeout+time.Minute))
	}
	srv, err := wish.NewServer(opts...)
	if err != nil {
		return nil, fmt.Errorf("ssh server: %w", err)
	}
	s.ssh = srv
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return nil, fmt.Errorf("can't listen on %s: %w", cfg.Listen, err)
	}
	s.ln = ln
	return s, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() net.Addr { return s.ln.Addr() }

// HostKey is the server's public host key (for known_hosts, or to print its
// fingerprint at start).
func (s *Server) HostKey() gossh.PublicKey { return s.hostKey }

// Sessions is the number of sessions open now.
func (s *Server) Sessions() int { return int(s.active.Load()) }

// Serving reports whether the listener accepts connections: from
// ListenAndServe's start until the shutdown begins or serving fails.
func (s *Server) Serving() bool { return s.serving.Load() }

// Inflight is the number of changes and token deliveries under way now.
func (s *Server) Inflight() int { return s.inflight.Running() }

// ReloadKeys re-reads the authorized keys file now (as SIGHUP does).
func (s *Server) ReloadKeys() { s.keys.reloadIfChanged(true) }

// Close stops a server whose ListenAndServe was never called.
func (s *Server) Close() error {
	if s.started.Load() {
		return errors.New("sshserver: serving: cancel ListenAndServe's context instead")
	}
	return s.ln.Close()
}

// ListenAndServe serves until ctx is cancelled, then shuts down gracefully:
// it stops accepting, refuses new changes, waits for the changes under way
// (up to ShutdownTimeout), tells every console the server is going and waits
// for the sessions to end. It also reloads the authorized keys when the file
// changes or on SIGHUP.
func (s *Server) ListenAndServe(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("sshserver: ListenAndServe called twice")
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go s.watchKeys(watchCtx, hup)

	served := make(chan error, 1)
	s.serving.Store(true)
	go func() {
		err := s.ssh.Serve(s.ln)
		s.serving.Store(false)
		served <- err
	}()
	s.log.Info("serving the console over SSH", "addr", s.Addr().String(),
		"host_key", gossh.FingerprintSHA256(s.hostKey), "authorized_keys", s.cfg.AuthorizedKeysPath)

	var serveErr error
	select {
	case err := <-served:
		serveErr = fmt.Errorf("ssh server: %w", err)
		served = nil
	case <-ctx.Done():
	}
	s.shutdown()
	if served != nil {
		<-served
	}
	return serveErr
}

func (s *Server) watchKeys(ctx context.Context, hup <-chan os.Signal) {
	t := time.NewTicker(keyPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-hup:
			s.keys.reloadIfChanged(true)
		case <-t.C:
			s.keys.reloadIfChanged(false)
		}
	}
}

// shutdown stops accepting, tells every open console the server is
// stopping and lets the consoles go on for the grace period (changes are
// still made and audited), then refuses new changes, waits for those under
// way (up to ShutdownTimeout), ends the consoles left, and waits for the
// connections to close.
func (s *Server) shutdown() {
	s.closing.Store(true)
	s.serving.Store(false)
	grace := max(s.cfg.ShutdownGrace, 0)
	s.log.Info("shutting down: open consoles have the grace period to finish", "sessions", s.Sessions(),
		"in_flight", s.inflight.Running(), "grace_s", grace.Seconds())
	ctx, cancel := context.WithTimeout(context.Background(), grace+s.cfg.ShutdownTimeout)
	defer cancel()
	conns := make(chan error, 1)
	go func() { conns <- s.ssh.Shutdown(ctx) }()
	_ = s.ln.Close() // in case Serve had not registered it yet
	if grace > 0 && s.Sessions() > 0 {
		s.warnConsoles(time.Now().Add(grace))
		s.waitSessions(grace)
	}
	flight, cancelFlight := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	defer cancelFlight()
	if err := s.inflight.Close(flight); err != nil {
		s.log.Warn("gave up waiting for changes in flight", "in_flight", s.inflight.Running())
	}
	s.endConsoles("the server is shutting down")
	if err := <-conns; err != nil {
		s.log.Warn("closing the connections still open", "sessions", s.Sessions())
	}
	_ = s.ssh.Close()
	s.log.Info("stopped")
}

// waitSessions waits up to d for every session to end.
func (s *Server) waitSessions(d time.Duration) {
	deadline := time.NewTimer(d)
	defer deadline.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for s.Sessions() > 0 {
		select {
		case <-deadline.C:
			s.log.Info("the grace period is out: closing the consoles left", "sessions", s.Sessions())
			return
		case <-tick.C:
		}
	}
}

// warnConsoles tells every console the server stops at deadline.
func (s *Server) warnConsoles(deadline time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.sessions {
		if st.kind == kindConsole {
			st.warnStopping(deadline)
		}
	}
}

// authorize lets in the keys of the authorized keys file, nothing else.
func (s *Server) authorize(ctx ssh.Context, key ssh.PublicKey) bool {
	if _, ok := s.keys.lookup(key); ok {
		return true
	}
	s.cfg.Observer.AuthFailed("unknown_key")
	s.log.Warn("auth failure: refused an unknown key", "fingerprint", gossh.FingerprintSHA256(key),
		"remote", ctx.RemoteAddr().String(), "user", safetext.Line(ctx.User(), 64))
	return false
}

func (s *Server) track(st *session, add bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if add {
		s.sessions[st] = struct{}{}
	} else {
		delete(s.sessions, st)
	}
}

// endConsoles asks every console to close, saying why.
func (s *Server) endConsoles(reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for st := range s.sessions {
		if st.kind == kindConsole {
			st.end(reason)
		}
	}
}
