package sshserver

import (
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"charm.land/ssh"
	"charm.land/wish/v2/bubbletea"
	"charm.land/wish/v2/scp"
	gossh "golang.org/x/crypto/ssh"

	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/safetext"
)

// The kinds of session.
const (
	kindConsole = "console"
	kindSCP     = "scp"
	kindSFTP    = "sftp"
)

// session is one SSH session of an authorised key: the ssh.Session, passed
// down the middlewares in its place, plus who is acting, their
// access.Backend and the console program. Reads are watched for the idle
// timeout.
type session struct {
	ssh.Session
	srv     *Server
	kind    string
	actor   access.Actor
	acc     *access.Backend
	started time.Time
	done    chan struct{} // closed when the session's handler returns

	lastInput atomic.Int64 // UnixNano of the last byte read from the client

	mu      sync.Mutex
	program *tea.Program
	reason  string    // why the server ended the session, if it did
	stopAt  time.Time // when the server stops, once it has said so
}

// stateOf is the session behind s (nil if s did not come through enter).
func stateOf(s ssh.Session) *session {
	st, _ := s.(*session)
	return st
}

// Read is the client's input; it counts as activity.
func (st *session) Read(p []byte) (int, error) {
	n, err := st.Session.Read(p)
	if n > 0 {
		st.lastInput.Store(time.Now().UnixNano())
	}
	return n, err
}

// end asks the session's console to close, giving reason. The first reason
// wins.
func (st *session) end(reason string) {
	st.mu.Lock()
	if st.reason == "" {
		st.reason = reason
	}
	p := st.program
	st.mu.Unlock()
	if p != nil {
		go p.Quit() // Quit waits for the program's loop: don't hold anyone up
	}
}

// warnStopping tells the console the server stops at deadline: its
// screen carries a countdown (guard.go) until then.
func (st *session) warnStopping(deadline time.Time) {
	st.mu.Lock()
	st.stopAt = deadline
	p := st.program
	st.mu.Unlock()
	if p != nil {
		go p.Send(stoppingMsg{})
	}
}

// stopping is when the server stops, if it has said so.
func (st *session) stopping() (time.Time, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.stopAt, !st.stopAt.IsZero()
}

func (st *session) endReason() string {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.reason
}

func (st *session) setProgram(p *tea.Program) {
	st.mu.Lock()
	st.program = p
	ending := st.reason != ""
	st.mu.Unlock()
	if ending {
		go p.Quit()
	}
}

// watchIdle ends the console once it has had no input for d.
func (st *session) watchIdle(d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-st.done:
			return
		case <-t.C:
			idle := time.Since(time.Unix(0, st.lastInput.Load()))
			if idle >= d {
				st.srv.log.Info("closing an idle console", "admin", st.actor.Name, "idle", idle.Round(time.Second).String())
				st.end(fmt.Sprintf("closed after %s without input", d))
				return
			}
			t.Reset(d - idle)
		}
	}
}

// fail tells the client why in one line on stderr and exits non-zero.
func fail(s ssh.Session, format string, args ...any) {
	fmt.Fprintf(s.Stderr(), "idcon: "+format+"\n", args...)
	_ = s.Exit(1)
}

// enterMiddleware runs first for every session that isn't a subsystem.
func (s *Server) enterMiddleware(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		kind := kindConsole
		if scp.GetInfo(sess.Command()).Ok {
			kind = kindSCP
		}
		s.enter(sess, kind, func(st *session) { next(st) })
	}
}

// sftpSubsystem serves the "sftp" subsystem (what scp speaks by default).
func (s *Server) sftpSubsystem(sess ssh.Session) {
	s.enter(sess, kindSFTP, s.serveSFTP)
}

// enter admits a session: it contains panics to this session, enforces the
// session limit, finds the key's actor (the key may have been removed since
// it authenticated), builds the session's access.Backend and logs the
// session's start and end.
func (s *Server) enter(sess ssh.Session, kind string, next func(*session)) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("panic in a session: closed it; the others go on", "kind", kind, "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			fail(sess, "internal error: this session was closed; please report it")
		}
	}()
	if s.closing.Load() {
		fail(sess, "the server is shutting down: try again in a moment")
		return
	}
	if n := s.active.Add(1); n > int64(s.cfg.MaxSessions) {
		s.active.Add(-1)
		s.log.Warn("refused a session: server full", "max_sessions", s.cfg.MaxSessions, "remote", sess.RemoteAddr().String())
		fail(sess, "the server is full (%d sessions open): try again later", s.cfg.MaxSessions)
		return
	}
	defer s.active.Add(-1)
	key, ok := s.keys.lookup(sess.PublicKey())
	if !ok {
		fp := ""
		if pk := sess.PublicKey(); pk != nil {
			fp = gossh.FingerprintSHA256(pk)
		}
		s.cfg.Observer.AuthFailed("key_removed")
		s.log.Warn("auth failure: key no longer authorized", "fingerprint", fp, "remote", sess.RemoteAddr().String())
		fail(sess, "your key is no longer in the authorized keys file")
		return
	}
	actor := access.Actor{Name: key.Name, Fingerprint: key.Fingerprint, Role: key.Role, Via: access.ViaSSH}
	st := &session{
		Session: sess,
		srv:     s,
		kind:    kind,
		actor:   actor,
		started: time.Now(),
		done:    make(chan struct{}),
		acc: access.New(s.cfg.Backend, actor, s.cfg.Audit, s.cfg.Now,
			access.WithChanges(s.cfg.Changes), access.WithInflight(&s.inflight)),
	}
	st.lastInput.Store(st.started.UnixNano())
	s.track(st, true)
	defer s.track(st, false)
	defer close(st.done)
	remote := sess.RemoteAddr().String()
	s.cfg.Observer.SessionStarted(kind)
	s.log.Info("session started", "kind", kind, "admin", actor.Name, "role", string(actor.Role),
		"fingerprint", actor.Fingerprint, "remote", remote)
	defer func() {
		d := time.Since(st.started)
		s.cfg.Observer.SessionEnded(kind, d)
		attrs := []any{"kind", kind, "admin", actor.Name, "role", string(actor.Role), "remote", remote,
			"duration_s", d.Round(time.Millisecond).Seconds()}
		if reason := st.endReason(); reason != "" {
			attrs = append(attrs, "ended_by_server", reason)
		}
		s.log.Info("session ended", attrs...)
	}()
	next(st)
}

// refuseCommands turns away `ssh HOST some command` (scp has been served
// before this).
func refuseCommands(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if cmd := sess.RawCommand(); cmd != "" {
			fail(sess, "commands are not supported (you sent %q): ssh -t HOST opens the console; scp HOST:NETWORK/IDENTITY.jwt . downloads a token", safetext.Line(cmd, 60))
			return
		}
		next(sess)
	}
}

// requirePty turns away a session without a terminal, before any console
// is built.
func requirePty(next ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		if _, _, ok := sess.Pty(); !ok {
			fail(sess, "the console needs a terminal: connect with ssh -t HOST (to download a token: scp HOST:NETWORK/IDENTITY.jwt .)")
			return
		}
		next(sess)
	}
}

// newProgram builds the console program of one session, sized to its pty
// (resizes follow through the bubbletea middleware) and with the colour
// profile of its own terminal.
func (s *Server) newProgram(sess ssh.Session) *tea.Program {
	st := stateOf(sess)
	if st == nil {
		return nil
	}
	model := s.cfg.NewConsole(st, st.acc, st.actor)
	if model == nil {
		fail(sess, "no console is available")
		return nil
	}
	opts := append(bubbletea.MakeOptions(st),
		// Signals belong to the server (SIGTERM shuts it down gracefully),
		// not to each session's program.
		tea.WithoutSignalHandler(),
	)
	p := tea.NewProgram(guard(model, st), opts...)
	st.setProgram(p)
	if s.cfg.IdleTimeout > 0 {
		go st.watchIdle(s.cfg.IdleTimeout)
	}
	return p
}

// afterConsole runs once the console program has ended: if the server ended
// it, it says why and exits non-zero.
func (s *Server) afterConsole(ssh.Handler) ssh.Handler {
	return func(sess ssh.Session) {
		st := stateOf(sess)
		if st == nil {
			return
		}
		if reason := st.endReason(); reason != "" {
			fmt.Fprintf(sess, "\nidcon: %s\n", reason)
			_ = sess.Exit(1)
		}
	}
}
