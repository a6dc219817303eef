// Package smtptest runs a real SMTP server for tests: aiosmtpd (Debian's
// python3-aiosmtpd) driven by smtpd.py, which writes every message it
// accepts to a folder. It also takes received messages apart. delivery's
// tests, the console's tests and the end-to-end tests share it.
package smtptest

import (
	"bufio"
	"bytes"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

//go:embed smtpd.py
var script []byte

// Options change how the server runs.
type Options struct {
	// Auth, as "user:password", makes the server require that login.
	Auth string
	// TLS is "implicit" or "starttls" (with CertFile and KeyFile); empty
	// means plain SMTP.
	TLS               string
	CertFile, KeyFile string
}

// Server is a running smtpd.py.
type Server struct {
	Port int
	Dir  string // where it writes what it receives
}

// Message is one message the server accepted.
type Message struct {
	MailFrom string   `json:"mail_from"`
	RcptTos  []string `json:"rcpt_tos"`
	Raw      []byte   `json:"-"`
}

// Python finds a python3 that can import aiosmtpd: Debian's
// /usr/bin/python3 first, since another python3 (pyenv, a venv) may come
// first on PATH without Debian's modules.
func Python() (string, bool) {
	candidates := []string{"/usr/bin/python3"}
	if p, err := exec.LookPath("python3"); err == nil {
		candidates = append(candidates, p)
	}
	for _, py := range candidates {
		if exec.Command(py, "-c", "import aiosmtpd").Run() == nil {
			return py, true
		}
	}
	return "", false
}

// Start starts the server and stops it when the test ends. Without
// python3-aiosmtpd the test is skipped, except in CI (CI set), where it
// fails.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	py, ok := Python()
	if !ok {
		const how = "python3-aiosmtpd is not installed (apt-get install -y python3-aiosmtpd)"
		if os.Getenv("CI") != "" {
			t.Fatal(how + ": CI must run the SMTP tests")
		}
		t.Skip(how + ": skipping the SMTP tests")
	}
	dir := t.TempDir()
	scriptFile := filepath.Join(t.TempDir(), "smtpd.py")
	if err := os.WriteFile(scriptFile, script, 0o600); err != nil {
		t.Fatal(err)
	}
	args := []string{scriptFile, "--dir", dir}
	if o.Auth != "" {
		args = append(args, "--auth", o.Auth)
	}
	if o.TLS != "" {
		args = append(args, "--tls", o.TLS, "--cert", o.CertFile, "--key", o.KeyFile)
	}
	cmd := exec.Command(py, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &lockedBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stdin.Close() // smtpd.py stops when its stdin closes
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})

	// The server prints "PORT n" once it accepts connections.
	portc := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		portc <- line
		io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-portc:
	case <-time.After(30 * time.Second):
		t.Fatalf("the SMTP server did not start within 30 s: %s", stderr.String())
	}
	port, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "PORT ")))
	if err != nil {
		t.Fatalf("the SMTP server said %q, not its port: %s", line, stderr.String())
	}
	return &Server{Port: port, Dir: dir}
}

// Messages returns what the server has accepted so far, oldest first. The
// server writes each message before it acknowledges it, so after a
// successful send the message is there.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	metas, err := filepath.Glob(filepath.Join(s.Dir, "msg-*.json"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(metas, func(i, j int) bool { return msgNumber(metas[i]) < msgNumber(metas[j]) })
	var out []Message
	for _, m := range metas {
		var r Message
		data, err := os.ReadFile(m)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, &r); err != nil {
			t.Fatal(err)
		}
		if r.Raw, err = os.ReadFile(strings.TrimSuffix(m, ".json") + ".eml"); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func msgNumber(path string) int {
	n, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), "msg-"), ".json"))
	return n
}

// ClosedPort returns a loopback port with nothing listening.
func ClosedPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// Mail is a received message taken apart with net/mail and mime/multipart.
type Mail struct {
	Header      mail.Header
	Subject     string
	Plain, HTML string
	Attachments map[string]Attachment
}

// Attachment is one attached file, decoded.
type Attachment struct {
	ContentType string
	Data        []byte
}

// Parse takes a raw message apart: its decoded subject, its text and HTML
// parts, and its attachments by file name.
func Parse(raw []byte) (Mail, error) {
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return Mail{}, fmt.Errorf("not a mail message: %w", err)
	}
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		return Mail{}, err
	}
	p := Mail{Header: m.Header, Subject: subject, Attachments: map[string]Attachment{}}
	err = p.walk(m.Header.Get("Content-Type"), m.Header.Get("Content-Transfer-Encoding"), "", m.Body)
	return p, err
}

func (p *Mail) walk(contentType, encoding, filename string, body io.Reader) error {
	mediaType, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return fmt.Errorf("Content-Type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		r := multipart.NewReader(body, params["boundary"])
		for {
			part, err := r.NextPart() // decodes quoted-printable itself
			if err == io.EOF {
				return nil
			}
			if err != nil {
				return err
			}
			if err := p.walk(part.Header.Get("Content-Type"), part.Header.Get("Content-Transfer-Encoding"), part.FileName(), part); err != nil {
				return err
			}
		}
	}
	if strings.EqualFold(encoding, "base64") {
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	data, err := io.ReadAll(body)
	if err != nil {
		return fmt.Errorf("%s part: %w", mediaType, err)
	}
	switch {
	case filename != "":
		p.Attachments[filename] = Attachment{ContentType: mediaType, Data: data}
	case mediaType == "text/plain":
		p.Plain = string(data)
	case mediaType == "text/html":
		p.HTML = string(data)
	default:
		return fmt.Errorf("unexpected part %s", mediaType)
	}
	return nil
}

type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}
