// Package audit keeps idcon's audit trail: one JSON line per mutation and per
// token delivery (who, from where, on what, with which result), appended to a
// file that many sessions and processes share. It never holds a token.
package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/idcon/idcon/safetext"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/idcon/idcon/config"
)

// The actions the audit trail records.
const (
	ActionCreate        = "create"
	ActionReset         = "reset"
	ActionReissue       = "reissue"
	ActionDelete        = "delete"
	ActionEmailSent     = "email sent"
	ActionJWTDownloaded = "jwt downloaded"
	ActionQRShown       = "qr shown"
	// ActionTokenRead is a token fetched through the plain Backend method
	// TokenJWT rather than for a named delivery.
	ActionTokenRead = "token read"
)

// ResultOK is the result of an action that succeeded.
const ResultOK = "ok"

// Actor is who did it.
type Actor struct {
	Name string `json:"name"`
	// Fingerprint is the SHA256 fingerprint of the SSH key the actor signed
	// in with ("SHA256:…"); empty for a local run.
	Fingerprint string `json:"fingerprint,omitempty"`
	Role        string `json:"role,omitempty"`
	Via         string `json:"via"` // "ssh" or "local"
}

// Ref names a network or an identity: its ID and, when known, its name.
type Ref struct {
	ID   string `json:"id,omitempty"`
	Name string `json:"name,omitempty"`
}

// Entry is one line of the audit log.
type Entry struct {
	Time     time.Time `json:"time"`
	Actor    Actor     `json:"actor"`
	Network  Ref       `json:"network"`
	Identity Ref       `json:"identity"`
	Action   string    `json:"action"`
	// Result is "ok" or what went wrong, in words.
	Result string `json:"result"`
}

// maxLine keeps every line within PIPE_BUF (4096 on Linux), the size up to
// which an O_APPEND write lands whole even when several processes append.
const maxLine = 4000

// maxWrite is the most AppendAll writes at once, whole lines only:
// PIPE_BUF, as a line.
const maxWrite = 4096

// Log appends entries to an audit file. It is safe for concurrent use, and
// several processes may append to the same file.
type Log struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// Open opens (creating if missing, mode 0600) the audit log at path for
// appending.
func Open(path string) (*Log, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	// A file someone else created more open than 0600 is tightened: names and
	// e-mail addresses of identities are not for every local user.
	if st, err := f.Stat(); err == nil && st.Mode().Perm()&0o077 != 0 {
		if err := f.Chmod(0o600); err != nil {
			_ = f.Close()
			return nil, fmt.Errorf("audit log %s is readable by others and can't be made 0600: %w", path, err)
		}
	}
	return &Log{f: f, path: path}, nil
}

// Path is the file the log appends to.
func (l *Log) Path() string { return l.path }

// Append writes e as one line with one write, then syncs the file. A zero
// Time is set to now; every time is stored in UTC. Anything that looks like
// a JWT in the entry is replaced by "[token]" so a careless error message
// can't leak one into the log.
func (l *Log) Append(e Entry) error {
	if l == nil {
		return errors.New("audit log is not open")
	}
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	e.Time = e.Time.UTC()
	line, err := encodeLine(e)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit log is closed")
	}
	if _, err := l.f.Write(line); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// AppendAll writes each entry as one line (whole lines in each write, at
// most maxWrite bytes, so concurrent writers never tear a line) and syncs
// the file once at the end: a bulk action of thousands of identities
// costs one sync, not thousands.
func (l *Log) AppendAll(entries []Entry) error {
	if l == nil {
		return errors.New("audit log is not open")
	}
	lines := make([][]byte, 0, len(entries))
	for _, e := range entries {
		if e.Time.IsZero() {
			e.Time = time.Now()
		}
		e.Time = e.Time.UTC()
		line, err := encodeLine(e)
		if err != nil {
			return err
		}
		lines = append(lines, line)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return errors.New("audit log is closed")
	}
	// Whole lines, as many as fit in maxWrite, go in one write: a write
	// that size lands whole too, and a bulk action's thousands of lines
	// cost a write system call per dozen rather than one each.
	buf := make([]byte, 0, maxWrite)
	for _, line := range lines {
		if len(buf)+len(line) > maxWrite {
			if _, err := l.f.Write(buf); err != nil {
				return fmt.Errorf("audit log: %w", err)
			}
			buf = buf[:0]
		}
		buf = append(buf, line...)
	}
	if len(buf) > 0 {
		if _, err := l.f.Write(buf); err != nil {
			return fmt.Errorf("audit log: %w", err)
		}
	}
	if err := l.f.Sync(); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	return nil
}

// Close closes the file; later Appends fail.
func (l *Log) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// jwtLike matches a compact JWS: three base64url parts, the first a JSON
// header ("eyJ" is the encoding of `{"`).
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)

func scrub(s string) string {
	if !bytes.Contains([]byte(s), []byte("eyJ")) {
		return s
	}
	return jwtLike.ReplaceAllString(s, "[token]")
}

// encodeLine marshals e to one newline-terminated line of at most maxLine
// bytes, cutting the free-text fields shorter until it fits.
func encodeLine(e Entry) ([]byte, error) {
	fields := []*string{
		&e.Actor.Name, &e.Actor.Fingerprint, &e.Actor.Role, &e.Actor.Via,
		&e.Network.ID, &e.Network.Name, &e.Identity.ID, &e.Identity.Name,
		&e.Action, &e.Result,
	}
	for _, f := range fields {
		*f = scrub(*f)
	}
	for _, limit := range []int{-1, 1024, 256, 64, 16} {
		if limit >= 0 {
			for _, f := range fields {
				*f = cut(*f, limit)
			}
		}
		b, err := json.Marshal(e)
		if err != nil {
			return nil, fmt.Errorf("audit entry: %w", err)
		}
		b = safetext.JSON(b)
		if len(b)+1 <= maxLine {
			return append(b, '\n'), nil
		}
	}
	return nil, errors.New("audit entry too long")
}

// cut shortens s to at most n runes, marking the cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// DefaultPath is where the audit log lives unless configured otherwise:
// audit.log in idcon's data directory.
func DefaultPath() string { return filepath.Join(config.DataDir(), "audit.log") }

// Scrub replaces anything in s shaped like a token (a compact JWT) with
// "[token]", for text bound for a log.
func Scrub(s string) string { return scrub(s) }
