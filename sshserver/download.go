package sshserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"time"

	"charm.land/ssh"
	"charm.land/wish/v2/scp"
	"github.com/pkg/sftp"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/safetext"
)

// Downloads: `scp HOST:NETWORK/IDENTITY.jwt .` fetches an identity's current
// token. Today's scp speaks SFTP (the "sftp" subsystem); `scp -O` and older
// clients run the legacy `scp -f` command. Both are served read-only from
// the backend, through the session's access.Backend, so only admins get a
// token and every attempt is audited as "jwt downloaded".

// errUploadsRefused answers every attempt to write.
var errUploadsRefused = errors.New("uploads are refused: this server only hands out tokens (scp HOST:NETWORK/IDENTITY.jwt .)")

// clientError words err for the scp client's terminal: scp's legacy mode
// prints whatever the server writes to stderr.
func clientError(p string, err error) error {
	return fmt.Errorf("idcon: %s: %s\n", safetext.Line(p, 80), safetext.Clean(err.Error()))
}

// scpAckTimeout bounds how long a finished legacy scp waits for the
// client's last acknowledgement.
const scpAckTimeout = 10 * time.Second

// scpAcks is how many acknowledgement bytes OpenSSH's scp sends when it
// receives one file: one to start, one after the "C" header, one after the
// data.
const scpAcks = 3

// scpMiddleware serves legacy `scp -f` / `scp -t` commands with wish's scp
// middleware. That middleware writes the file and returns without reading
// the client's acknowledgements, so the channel could close while
// OpenSSH's scp still has an ack to write, and it would fail with "lost
// connection". Waiting for EOF instead doesn't work: scp shares one socket
// for ssh's stdin and stdout, so it never sees the half-close. So, once
// wish is done, the session reads the acks one file brings (the server
// only ever sends one) before it exits; after an error wish has already
// closed the session and the read ends at once.
func scpMiddleware(next ssh.Handler) ssh.Handler {
	serve := scp.Middleware(scpHandler{}, scpHandler{})(next)
	return func(sess ssh.Session) {
		info := scp.GetInfo(sess.Command())
		if !info.Ok {
			next(sess)
			return
		}
		serve(sess)
		if info.Op != scp.OpCopyToClient {
			return
		}
		acked := make(chan struct{})
		go func() {
			_, _ = io.ReadFull(sess, make([]byte, scpAcks))
			close(acked)
		}()
		select {
		case <-acked:
		case <-time.After(scpAckTimeout):
		}
	}
}

// scpHandler serves the legacy SCP protocol, read-only.
type scpHandler struct{}

var (
	_ scp.CopyToClientHandler   = scpHandler{}
	_ scp.CopyFromClientHandler = scpHandler{}
)

// Glob does no globbing: a token path is always one exact name.
func (scpHandler) Glob(_ ssh.Session, p string) ([]string, error) { return []string{p}, nil }

func (scpHandler) WalkDir(_ ssh.Session, p string, _ fs.WalkDirFunc) error {
	return clientError(p, errors.New("recursive copies are not supported: ask for one NETWORK/IDENTITY.jwt"))
}

func (scpHandler) NewDirEntry(_ ssh.Session, p string) (*scp.DirEntry, error) {
	return nil, clientError(p, errors.New("directories are not served: ask for one NETWORK/IDENTITY.jwt"))
}

func (scpHandler) NewFileEntry(s ssh.Session, p string) (*scp.FileEntry, func() error, error) {
	st := stateOf(s)
	if st == nil {
		return nil, nil, clientError(p, errors.New("session not set up"))
	}
	f, jwt, err := fetchToken(s.Context(), st.acc, p)
	if err != nil {
		st.srv.log.Info("scp download refused", "admin", st.actor.Name, "path", safetext.Line(p, 80), "err", err)
		return nil, nil, clientError(p, err)
	}
	st.srv.log.Info("scp download", "admin", st.actor.Name, "network", f.network.Name, "identity", f.identity.Name)
	return &scp.FileEntry{
		Name:     f.fileName(),
		Filepath: p,
		Mode:     0o600,
		Size:     int64(len(jwt)),
		Reader:   strings.NewReader(jwt),
	}, nil, nil
}

func (scpHandler) Mkdir(_ ssh.Session, e *scp.DirEntry) error {
	return clientError(e.Filepath, errUploadsRefused)
}

func (scpHandler) Write(_ ssh.Session, e *scp.FileEntry) (int64, error) {
	return 0, clientError(e.Filepath, errUploadsRefused)
}

// sftpHandler serves one SFTP session, read-only. It fetches each token
// once (at the first stat or open of its path) and keeps it for the
// session, so one scp is one audited download.
type sftpHandler struct {
	st  *session
	ctx context.Context

	mu      sync.Mutex
	fetched map[string]fetchResult
}

type fetchResult struct {
	f   tokenFile
	jwt []byte
	err error
}

func newSFTPHandler(st *session) *sftpHandler {
	return &sftpHandler{st: st, ctx: st.Context(), fetched: map[string]fetchResult{}}
}

func (h *sftpHandler) handlers() sftp.Handlers {
	return sftp.Handlers{FileGet: h, FilePut: h, FileCmd: h, FileList: h}
}

// fetch resolves and fetches the token at p once per session. Errors are
// also written to the session's stderr, which the ssh client under scp
// shows, since SFTP status codes alone can only say "permission denied".
func (h *sftpHandler) fetch(p string) fetchResult {
	p = path.Clean("/" + p)
	h.mu.Lock()
	defer h.mu.Unlock()
	if r, ok := h.fetched[p]; ok {
		return r
	}
	f, jwt, err := fetchToken(h.ctx, h.st.acc, p)
	r := fetchResult{f: f, jwt: []byte(jwt), err: err}
	if err != nil {
		h.st.srv.log.Info("sftp download refused", "admin", h.st.actor.Name, "path", safetext.Line(p, 80), "err", err)
		fmt.Fprint(h.st.Stderr(), clientError(strings.TrimPrefix(p, "/"), err).Error())
		r.err = sftpError(err)
	} else {
		h.st.srv.log.Info("sftp download", "admin", h.st.actor.Name, "network", f.network.Name, "identity", f.identity.Name)
	}
	h.fetched[p] = r
	return r
}

// sftpError keeps err's words and gives it the SFTP status code that fits.
func sftpError(err error) error {
	code := sftp.ErrSSHFxFailure
	switch backend.Kind(err) {
	case backend.ErrNotFound, backend.ErrInvalid:
		code = sftp.ErrSSHFxNoSuchFile
	case backend.ErrForbidden:
		code = sftp.ErrSSHFxPermissionDenied
	}
	return fmt.Errorf("%s: %w", safetext.Clean(err.Error()), code)
}

// Fileread serves a token's bytes.
func (h *sftpHandler) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	res := h.fetch(r.Filepath)
	if res.err != nil {
		return nil, res.err
	}
	return bytes.NewReader(res.jwt), nil
}

// Filewrite refuses: the server is read-only.
func (h *sftpHandler) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return nil, h.refuse(r.Filepath, errUploadsRefused)
}

// Filecmd refuses renames, removals, mkdir and the like.
func (h *sftpHandler) Filecmd(r *sftp.Request) error {
	return h.refuse(r.Filepath, fmt.Errorf("%s is refused: this server is read-only", strings.ToLower(r.Method)))
}

func (h *sftpHandler) refuse(p string, err error) error {
	fmt.Fprint(h.st.Stderr(), clientError(strings.TrimPrefix(p, "/"), err).Error())
	return fmt.Errorf("%v: %w", err, sftp.ErrSSHFxPermissionDenied)
}

// Filelist answers stat for "/" (a directory) and token paths; listing is
// refused (browse in the console instead).
func (h *sftpHandler) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	switch r.Method {
	case "Stat", "Lstat":
		if path.Clean(r.Filepath) == "/" {
			return listerAt{fileInfo{name: "/", mode: fs.ModeDir | 0o500, mtime: time.Now()}}, nil
		}
		res := h.fetch(r.Filepath)
		if res.err != nil {
			return nil, res.err
		}
		return listerAt{fileInfo{name: res.f.fileName(), size: int64(len(res.jwt)), mode: 0o600, mtime: time.Now()}}, nil
	case "List":
		return nil, h.refuse(r.Filepath, errors.New("listing is not served: browse in the console (ssh -t HOST), then fetch NETWORK/IDENTITY.jwt"))
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

type listerAt []os.FileInfo

func (l listerAt) ListAt(out []os.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(out, l[off:])
	if n+int(off) == len(l) {
		return n, io.EOF
	}
	return n, nil
}

// fileInfo describes a token file or the root directory.
type fileInfo struct {
	name  string
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (f fileInfo) Name() string       { return f.name }
func (f fileInfo) Size() int64        { return f.size }
func (f fileInfo) Mode() fs.FileMode  { return f.mode }
func (f fileInfo) ModTime() time.Time { return f.mtime }
func (f fileInfo) IsDir() bool        { return f.mode.IsDir() }
func (f fileInfo) Sys() any           { return nil }

// serveSFTP runs the SFTP subsystem for one session.
func (s *Server) serveSFTP(st *session) {
	h := newSFTPHandler(st)
	rs := sftp.NewRequestServer(st, h.handlers())
	if err := rs.Serve(); err != nil && !errors.Is(err, io.EOF) {
		s.log.Debug("sftp session ended", "admin", st.actor.Name, "err", err)
	}
	// No rs.Close: it closes the channel, and the exit status sent after
	// this handler returns would never reach the client (scp then fails).
}
