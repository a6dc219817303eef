package e2e

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	pmodel "github.com/prometheus/common/model"

	"github.com/idcon/idcon/backend/openziti/zitifake"
)

// switchProxy is a reverse proxy in front of the fake controller, on a
// fixed loopback port, with the fake's own certificate (so the fake sees
// its own host in each request, which its spec check wants), that can be
// switched off (the port refuses, connections cut) and on again on the
// same port: a controller going away and coming back, as idcon sees it.
type switchProxy struct {
	t    *testing.T
	fake *zitifake.Controller
	addr string

	mu  sync.Mutex
	srv *http.Server
}

func newSwitchProxy(t *testing.T, fake *zitifake.Controller) *switchProxy {
	p := &switchProxy{t: t, fake: fake, addr: "127.0.0.1:0"}
	p.on()
	t.Cleanup(p.off)
	return p
}

func (p *switchProxy) on() {
	p.t.Helper()
	var ln net.Listener
	var err error
	for range 50 { // the port may take a moment to be free again
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("proxy: %v", err)
	}
	target, _ := url.Parse(p.fake.URL)
	rp := httputil.NewSingleHostReverseProxy(target)
	pool := x509.NewCertPool()
	pool.AddCert(p.fake.CA)
	rp.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	director := rp.Director
	rp.Director = func(r *http.Request) { director(r); r.Host = target.Host }
	srv := &http.Server{Handler: rp, ErrorLog: log.New(io.Discard, "", 0)}
	p.mu.Lock()
	p.srv, p.addr = srv, ln.Addr().String()
	p.mu.Unlock()
	go srv.Serve(tls.NewListener(ln, p.fake.TLSConfig().Clone()))
}

func (p *switchProxy) off() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.srv != nil {
		p.srv.Close()
		p.srv = nil
	}
}

var healthRE = regexp.MustCompile(`"msg":"serving health and metrics","addr":"(127\.0\.0\.1:\d+)"`)

type healthReport struct {
	Status string `json:"status"`
	SSH    struct {
		Up bool `json:"up"`
	} `json:"ssh"`
	Backends []struct {
		Name      string  `json:"name"`
		OK        bool    `json:"ok"`
		LatencyMS float64 `json:"latency_ms"`
		Error     string  `json:"error"`
	} `json:"backends"`
}

func getHealth(t *testing.T, addr string) (int, healthReport) {
	t.Helper()
	c := http.Client{Timeout: 10 * time.Second}
	resp, err := c.Get("http://" + addr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz: %v", err)
	}
	defer resp.Body.Close()
	var r healthReport
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("/healthz is not JSON: %v", err)
	}
	return resp.StatusCode, r
}

// TestServeHealthMetricsAndLogs runs `idcon serve --health-listen` (the
// real binary) with the embedded network office and a controller network
// (the fake controller, reached through a proxy that can be switched off):
// /healthz is 200 with both backends and their latency, 503 within 5 s of
// the controller going away, 200 again once it is back; /metrics parses
// with Prometheus's own text parser and counts the console session, the
// refused key and the backend calls; the log is JSON lines, one per
// session start and end with the admin, role, address and duration, one
// per auth failure, and holds no token though one was downloaded.
func TestServeHealthMetricsAndLogs(t *testing.T) {
	fake := zitifake.Start(t, zitifake.AdminUnlisted())
	proxy := newSwitchProxy(t, fake)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	yaml := fmt.Sprintf("networks:\n  - name: ctrl\n    controller: https://%s\n    ca: %s\n    username: %s\n    passwordEnv: IDCON_CTRL_PASSWORD\n",
		proxy.addr, fake.CAFile, fake.Username)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServeWith(t, []string{"IDCON_CTRL_PASSWORD=" + fake.Password},
		"--config", cfg, "--health-listen", "127.0.0.1:0")
	var m []string
	Eventually(t, 10*time.Second, "the health listener", func() bool {
		m = healthRE.FindStringSubmatch(s.proc.Stderr())
		return m != nil
	})
	addr := m[1]

	code, r := getHealth(t, addr)
	if code != 200 || r.Status != "ok" || !r.SSH.Up || len(r.Backends) != 2 {
		t.Fatalf("/healthz at the start: %d %+v", code, r)
	}
	for i, want := range []string{"embedded", "ctrl"} {
		if b := r.Backends[i]; b.Name != want || !b.OK || b.LatencyMS <= 0 {
			t.Errorf("backend %d: %+v, want %s reachable with a latency", i, b, want)
		}
	}

	proxy.off()
	gone := time.Now()
	for {
		code, r = getHealth(t, addr)
		if code == http.StatusServiceUnavailable {
			break
		}
		if time.Since(gone) > 5*time.Second {
			t.Fatalf("/healthz still %d %+v 5 s after the controller went away", code, r)
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("/healthz unhealthy %s after the controller went away", time.Since(gone).Round(time.Millisecond))
	if r.Status != "unhealthy" || !r.Backends[0].OK || r.Backends[1].OK || r.Backends[1].Error == "" {
		t.Errorf("/healthz with the controller away: %+v; want embedded ok, ctrl failing with why", r)
	}
	proxy.on()
	back := time.Now()
	Eventually(t, 10*time.Second, "/healthz healthy again", func() bool {
		code, r = getHealth(t, addr)
		return code == 200
	})
	t.Logf("/healthz healthy %s after the controller came back", time.Since(back).Round(time.Millisecond))

	// A console session, a refused key, a token downloaded.
	// With two networks the console opens on the picker.
	term := StartTermCmd(t, t.TempDir(), 100, 30, s.sshArgv(s.alice, "-tt")...)
	term.WaitFor(20*time.Second, "office", "alice · admin")
	term.Send("q")
	Eventually(t, 10*time.Second, "the session's end in the log", func() bool {
		return strings.Contains(s.proc.Stderr(), `"msg":"session ended","kind":"console"`)
	})
	if code, _, _ := execRun(t, s.sshArgv(s.mallory, "-T")...); code != 255 {
		t.Errorf("mallory's key: exit %d, want 255", code)
	}
	dest := filepath.Join(t.TempDir(), "bob.jwt")
	if code, stderr := s.scp(s.alice, "office/phone-bob.jwt", dest); code != 0 {
		t.Fatalf("scp: %d %s", code, stderr)
	}
	token, _ := os.ReadFile(dest)

	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(pmodel.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v", err)
	}
	value := func(name string, labels map[string]string) (float64, bool) {
		f := fams[name]
		if f == nil {
			return 0, false
		}
		total, found := 0.0, false
	metrics:
		for _, mt := range f.GetMetric() {
			have := map[string]string{}
			for _, l := range mt.GetLabel() {
				have[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if have[k] != v {
					continue metrics
				}
			}
			found = true
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				total += mt.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				total += mt.GetGauge().GetValue()
			}
		}
		return total, found
	}
	for _, c := range []struct {
		name   string
		labels map[string]string
		ok     func(float64) bool
		want   string
	}{
		{"idcon_ssh_sessions_total", map[string]string{"kind": "console"}, func(v float64) bool { return v == 1 }, "1"},
		{"idcon_ssh_sessions_total", map[string]string{"kind": "sftp"}, func(v float64) bool { return v == 1 }, "1"},
		{"idcon_ssh_sessions_open", nil, func(v float64) bool { return v == 0 }, "0"},
		{"idcon_ssh_auth_failures_total", map[string]string{"reason": "unknown_key"}, func(v float64) bool { return v >= 1 }, ">= 1"},
		{"idcon_backend_calls_total", map[string]string{"network": "*", "op": "networks"}, func(v float64) bool { return v >= 1 }, ">= 1"},
		{"idcon_backend_calls_total", map[string]string{"network": "office", "op": "token"}, func(v float64) bool { return v == 1 }, "1"},
	} {
		v, found := value(c.name, c.labels)
		if !found || !c.ok(v) {
			t.Errorf("%s%v = %v (found %v), want %s", c.name, c.labels, v, found, c.want)
		}
	}

	// The log: JSON lines only.
	var started, ended, authFail bool
	for _, line := range strings.Split(strings.TrimSpace(s.proc.Stderr()), "\n") {
		var e map[string]any
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Errorf("a log line is not JSON: %q", line)
			continue
		}
		remote, _ := e["remote"].(string)
		switch e["msg"] {
		case "session started":
			if e["kind"] == "console" {
				started = e["admin"] == "alice" && e["role"] == "admin" && strings.HasPrefix(remote, "127.0.0.1:")
			}
		case "session ended":
			if e["kind"] == "console" {
				d, isNum := e["duration_s"].(float64)
				ended = e["admin"] == "alice" && e["role"] == "admin" && strings.HasPrefix(remote, "127.0.0.1:") && isNum && d > 0
			}
		}
		if msg, _ := e["msg"].(string); strings.HasPrefix(msg, "auth failure") && e["fingerprint"] == s.mallory.fp {
			authFail = strings.HasPrefix(remote, "127.0.0.1:")
		}
	}
	if !started || !ended || !authFail {
		t.Errorf("log lines: session started %v, ended (with duration) %v, auth failure %v; want all\n%s", started, ended, authFail, s.proc.Stderr())
	}
	if tok := strings.TrimSpace(string(token)); tok == "" || strings.Contains(s.proc.Stderr(), tok) || strings.Contains(s.proc.Stderr(), "eyJ") {
		t.Error("the log holds the token downloaded (or a JWT)")
	}
}

// TestSSHSIGHUPReloadsKeysKeepingConsoles: `systemctl reload` (SIGHUP to
// the real binary) lets in a key added to the file, shuts out one taken
// away, and alice's open console goes on. The file keeps its size and
// mtime, so only the signal (not the once-a-second check) can notice.
func TestSSHSIGHUPReloadsKeysKeepingConsoles(t *testing.T) {
	s := startServe(t)
	term := s.console(s.alice, 100, 30)
	ak := filepath.Join(dataDir(s.home), "authorized_keys")
	before, err := os.Stat(ak)
	if err != nil {
		t.Fatal(err)
	}
	old, _ := os.ReadFile(ak)
	erin := newKey(t, t.TempDir(), "erin")
	// carol's line becomes erin's, of the same length (the comment padded).
	carolLine := `role="viewer",name="carol" ` + s.carol.pub
	erinLine := `role="viewer",name="erin" ` + erin.pub
	if pad := len(carolLine) - len(erinLine); pad > 0 {
		erinLine += strings.Repeat("s", pad)
	}
	if len(erinLine) != len(carolLine) {
		t.Fatalf("test setup: %d != %d", len(erinLine), len(carolLine))
	}
	if err := os.WriteFile(ak, []byte(strings.Replace(string(old), carolLine, erinLine, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(ak, before.ModTime(), before.ModTime()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // two checks pass, and must not reload
	if code, _, _ := execRun(t, s.sshArgv(erin, "-T")...); code != 255 {
		t.Fatal("the key was taken in without SIGHUP")
	}
	if err := s.proc.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	Eventually(t, 10*time.Second, "erin's key to be let in after SIGHUP", func() bool {
		code, _, _ := execRun(t, s.sshArgv(erin, "-T")...)
		return code == 1 // signed in, refused for want of a terminal
	})
	if code, _, _ := execRun(t, s.sshArgv(s.carol, "-T")...); code != 255 {
		t.Error("carol's key, taken away, still signs in after SIGHUP")
	}
	if s.proc.Exited() {
		t.Fatal("SIGHUP stopped the server")
	}
	openFirst(term) // alice's console still answers
}
