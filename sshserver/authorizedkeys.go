package sshserver

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gossh "golang.org/x/crypto/ssh"

	"github.com/idcon/idcon/backend/access"
	"github.com/idcon/idcon/safetext"
)

// AuthorizedKey is one line of the authorized keys file: a public key, the
// role it signs in with and the name its actions are audited under.
type AuthorizedKey struct {
	Key         gossh.PublicKey
	Fingerprint string // "SHA256:…"
	Role        access.Role
	Name        string
	Line        int
}

// LineError is what is wrong with one line of the authorized keys file.
type LineError struct {
	Line int
	Msg  string
}

func (e *LineError) Error() string { return fmt.Sprintf("line %d: %s", e.Line, e.Msg) }

// example is the shape of a line, quoted in errors.
const example = `role="admin",name="alice" ssh-ed25519 AAAA… comment`

// maxNameLen bounds an actor's name (it goes into every audit line).
const maxNameLen = 64

// harmless are OpenSSH options that only take away what idcon never offers
// (forwarding, rc files), so honouring them means ignoring them. Any other
// option (from=, command=, expiry-time=, …) restricts something idcon does
// not enforce: such a line is refused rather than silently widened.
var harmless = map[string]bool{
	"restrict": true, "no-port-forwarding": true, "no-agent-forwarding": true,
	"no-x11-forwarding": true, "no-user-rc": true,
}

// ParseAuthorizedKeys reads an authorized_keys file whose lines carry the
// role and name in the options field:
//
//	role="admin",name="alice" ssh-ed25519 AAAA… alice@laptop
//
// A line without a role is a viewer; the name defaults to the key's comment
// (then to its fingerprint). Blank lines and # comments are skipped. It
// returns the good lines and, if any line is bad, an error joining one
// *LineError per bad line.
func ParseAuthorizedKeys(data []byte) ([]AuthorizedKey, error) {
	var keys []AuthorizedKey
	var errs []error
	seen := map[string]int{}
	for i, raw := range bytes.Split(data, []byte("\n")) {
		n := i + 1
		line := strings.TrimSpace(string(bytes.TrimSuffix(raw, []byte("\r"))))
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := parseLine(n, line)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		id := string(k.Key.Marshal())
		if first, dup := seen[id]; dup {
			errs = append(errs, &LineError{n, fmt.Sprintf("key %s is already listed on line %d: keep one line per key", k.Fingerprint, first)})
			continue
		}
		seen[id] = n
		keys = append(keys, k)
	}
	return keys, errors.Join(errs...)
}

func parseLine(n int, line string) (AuthorizedKey, error) {
	if !utf8.ValidString(line) {
		return AuthorizedKey{}, &LineError{n, "is not valid UTF-8"}
	}
	pub, comment, options, rest, err := gossh.ParseAuthorizedKey([]byte(line))
	if err != nil {
		return AuthorizedKey{}, &LineError{n, fmt.Sprintf("not a public key line (%v): write it as %s", err, example)}
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return AuthorizedKey{}, &LineError{n, "holds more than one key: put each key on its own line"}
	}
	if _, ok := pub.(*gossh.Certificate); ok {
		return AuthorizedKey{}, &LineError{n, "certificates are not supported: list the plain public key"}
	}
	k := AuthorizedKey{Key: pub, Fingerprint: gossh.FingerprintSHA256(pub), Role: access.RoleViewer, Line: n}
	var haveRole, haveName bool
	for _, opt := range options {
		name, value, hasValue := strings.Cut(opt, "=")
		name = strings.ToLower(name)
		switch {
		case name == "role" || name == "name":
			if !hasValue {
				return AuthorizedKey{}, &LineError{n, fmt.Sprintf("option %s needs a value, e.g. %s", name, example)}
			}
			v, err := unquote(value)
			if err != nil {
				return AuthorizedKey{}, &LineError{n, fmt.Sprintf("option %s: %v", name, err)}
			}
			if name == "role" {
				if haveRole {
					return AuthorizedKey{}, &LineError{n, "role is given twice"}
				}
				haveRole = true
				r, err := access.ParseRole(v)
				if err != nil {
					return AuthorizedKey{}, &LineError{n, err.Error()}
				}
				k.Role = r
			} else {
				if haveName {
					return AuthorizedKey{}, &LineError{n, "name is given twice"}
				}
				haveName = true
				if v == "" {
					return AuthorizedKey{}, &LineError{n, `name is empty: give one, e.g. name="alice", or leave the option out to use the key's comment`}
				}
				k.Name = v
			}
		case harmless[name] && !hasValue:
		default:
			return AuthorizedKey{}, &LineError{n, fmt.Sprintf("option %q is not supported by idcon, which would not enforce it: use only role=, name= (and restrict/no-* options)", safetext.Line(name, 40))}
		}
	}
	if k.Name == "" {
		k.Name = strings.TrimSpace(comment)
	}
	if k.Name == "" {
		k.Name = k.Fingerprint
	}
	if safetext.Clean(k.Name) != k.Name {
		return AuthorizedKey{}, &LineError{n, "the name holds control or invisible characters: use plain text"}
	}
	if utf8.RuneCountInString(k.Name) > maxNameLen {
		return AuthorizedKey{}, &LineError{n, fmt.Sprintf("the name is longer than %d characters", maxNameLen)}
	}
	return k, nil
}

// unquote reads an option value, which OpenSSH writes in double quotes with
// \" for a quote inside.
func unquote(v string) (string, error) {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return "", fmt.Errorf("the value must be in double quotes, e.g. role=\"admin\"")
	}
	return strings.ReplaceAll(v[1:len(v)-1], `\"`, `"`), nil
}

// keySet is one parsed version of the file, keyed by the marshalled key.
type keySet map[string]AuthorizedKey

// keyring holds the authorized keys in force and reloads them when the file
// changes. Lookups never block on a reload.
type keyring struct {
	path string
	log  *slog.Logger
	cur  atomic.Pointer[keySet]

	mu    sync.Mutex // serialises reloads
	mtime time.Time
	size  int64
}

// loadKeyring reads the file for the first time: any bad line is an error,
// since a server starting with half its keys silently ignored would be worse
// than one that doesn't start.
func loadKeyring(path string, log *slog.Logger) (*keyring, error) {
	if path == "" {
		return nil, errors.New("no authorized keys file given: pass --authorized-keys PATH")
	}
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("authorized keys file %s does not exist: create it with one line per key, e.g. %s", path, example)
		}
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("authorized keys: %w", err)
	}
	keys, err := ParseAuthorizedKeys(data)
	if err != nil {
		return nil, fmt.Errorf("authorized keys file %s:\n%w", path, err)
	}
	if len(keys) == 0 {
		log.Warn("the authorized keys file lists no keys: nobody can sign in until one is added", "path", path)
	}
	k := &keyring{path: path, log: log, mtime: st.ModTime(), size: st.Size()}
	k.set(keys)
	return k, nil
}

func (k *keyring) set(keys []AuthorizedKey) {
	s := make(keySet, len(keys))
	for _, key := range keys {
		s[string(key.Key.Marshal())] = key
	}
	k.cur.Store(&s)
}

func (k *keyring) lookup(pub gossh.PublicKey) (AuthorizedKey, bool) {
	if pub == nil {
		return AuthorizedKey{}, false
	}
	key, ok := (*k.cur.Load())[string(pub.Marshal())]
	return key, ok
}

// reloadIfChanged reloads when the file's mtime or size moved (or always,
// with force). Bad lines are skipped with a warning each, so one typo does
// not lock everyone out; a missing or unreadable file keeps the keys in
// force (editors replace files by rename, and a moment without the file
// must not revoke every key).
func (k *keyring) reloadIfChanged(force bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	st, err := os.Stat(k.path)
	if err != nil {
		if force {
			k.log.Warn("authorized keys not reloaded: keeping the keys in force", "path", k.path, "err", err)
		}
		return
	}
	if !force && st.ModTime().Equal(k.mtime) && st.Size() == k.size {
		return
	}
	data, err := os.ReadFile(k.path)
	if err != nil {
		k.log.Warn("authorized keys not reloaded: keeping the keys in force", "path", k.path, "err", err)
		return
	}
	k.mtime, k.size = st.ModTime(), st.Size()
	keys, err := ParseAuthorizedKeys(data)
	if err != nil {
		for _, e := range unjoin(err) {
			k.log.Warn("authorized keys: line skipped", "path", k.path, "err", e)
		}
	}
	k.set(keys)
	k.log.Info("authorized keys reloaded", "path", k.path, "keys", len(keys))
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
