// Package zitilab finds the real OpenZiti v2.0.3 lab that
// ../shared/lab/build.sh (one controller) and ../shared/lab/ha.sh (a
// three-node HA cluster) lay out, for the tests that drive it under
// `make test-lab`. Every such test is named TestLab…; without a lab it
// skips, saying what to set.
package zitilab

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"encoding/base32"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Lab is the single-node lab of build.sh.
type Lab struct {
	Dir      string // $ZITI_LAB
	URL      string // https://127.0.0.1:1280
	CAFile   string // the quickstart's root CA
	Ziti     string // the lab's ziti binary
	Username string
	Password string
}

// Require returns the lab named by ZITI_LAB, or skips the test saying why.
func Require(t testing.TB) Lab {
	t.Helper()
	dir := os.Getenv("ZITI_LAB")
	if dir == "" {
		t.Skip("ZITI_LAB is not set: build the lab with ../shared/lab/build.sh and run make test-lab ZITI_LAB=<its LAB folder>")
	}
	l := Lab{
		Dir:      dir,
		URL:      "https://127.0.0.1:1280",
		CAFile:   filepath.Join(dir, "qs", "pki", "root-ca", "certs", "root-ca.cert"),
		Ziti:     filepath.Join(dir, "bin", "ziti"),
		Username: "admin",
		Password: "admin123",
	}
	if _, err := os.Stat(l.Ziti); err != nil {
		t.Skipf("ZITI_LAB=%s holds no bin/ziti: run ../shared/lab/build.sh with LAB=%s", dir, dir)
	}
	if !Answers(l.URL) {
		t.Skipf("the lab controller at %s doesn't answer: run %s", l.URL, filepath.Join(dir, "start-ctrl.sh"))
	}
	return l
}

// Node is one controller of the HA cluster.
type Node struct {
	Name    string // ctrl1, ctrl2, ctrl3
	URL     string // https://127.0.0.1:2281 …
	PidFile string
}

// Cluster is the three-node cluster of ha.sh.
type Cluster struct {
	Dir      string // $ZITI_HA
	Script   string // ha.sh
	Lab      string // $ZITI_LAB, whose bin/ziti the nodes run
	Nodes    []Node
	Username string
	Password string
}

// RequireCluster returns the cluster named by ZITI_HA (set up with
// `ha.sh setup`), or skips the test saying why.
func RequireCluster(t testing.TB) Cluster {
	t.Helper()
	lab, dir := os.Getenv("ZITI_LAB"), os.Getenv("ZITI_HA")
	if lab == "" || dir == "" {
		t.Skip("ZITI_LAB and ZITI_HA are not both set: set up the cluster with LAB=<lab> HA=<folder> ../shared/lab/ha.sh setup and run make test-lab ZITI_LAB=<lab> ZITI_HA=<folder>")
	}
	script := os.Getenv("ZITI_HA_SCRIPT")
	if script == "" {
		script = findUp("shared/lab/ha.sh")
	}
	if script == "" {
		t.Skip("ha.sh not found above the working directory: set ZITI_HA_SCRIPT to it")
	}
	c := Cluster{Dir: dir, Script: script, Lab: lab, Username: "admin", Password: "admin123"}
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("ctrl%d", i)
		c.Nodes = append(c.Nodes, Node{Name: name, URL: fmt.Sprintf("https://127.0.0.1:228%d", i), PidFile: filepath.Join(dir, name+".pid")})
	}
	for _, n := range c.Nodes {
		if !Answers(n.URL) {
			t.Skipf("cluster node %s at %s doesn't answer: run LAB=%s HA=%s %s start", n.Name, n.URL, lab, dir, script)
		}
	}
	return c
}

// Answers says whether a controller answers /version at url within 3 s.
// It skips certificate checks: it only asks whether something listens.
func Answers(url string) bool {
	hc := &http.Client{Timeout: 3 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // liveness probe only
	resp, err := hc.Get(url + "/edge/management/v1/version")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// findUp looks for rel in the working directory and each parent, and in
// their shared/ siblings (the repository sits beside ../shared).
func findUp(rel string) string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		for _, p := range []string{filepath.Join(dir, rel), filepath.Join(dir, "..", rel)} {
			if _, err := os.Stat(p); err == nil {
				return p
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// MFAAdmin is an admin identity of the lab with TOTP enrolled, under an
// auth policy of its own that requires it (never `admin`, never the
// default policy). The test's cleanup deletes both.
type MFAAdmin struct {
	ID, Username, Password string
	Secret                 string   // the TOTP secret (base32): zitifake.TOTPCode(Secret, time.Now())
	Recovery               []string // its recovery codes
}

// NewMFAAdmin makes an MFA admin named prefix-<random>: the identity, its
// password, TOTP enrolled (POST /current-identity/mfa, then verified with a
// code computed from the secret) and the policy requiring it.
func (l Lab) NewMFAAdmin(t testing.TB, prefix string) MFAAdmin {
	t.Helper()
	hc := l.client(t)
	admin := l.legacyToken(t, hc, l.Username, l.Password)
	a := MFAAdmin{Username: fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9), Password: "pw-" + rand.Text()[:16]}
	var created struct {
		Data struct{ ID string } `json:"data"`
	}
	l.call(t, hc, admin, "POST", mgmtPath+"/identities", map[string]any{"name": a.Username, "type": "Default", "isAdmin": true}, 201, &created)
	a.ID = created.Data.ID
	policyID := ""
	t.Cleanup(func() {
		l.call(t, hc, admin, "DELETE", mgmtPath+"/identities/"+a.ID, nil, 200, nil)
		if policyID != "" {
			l.call(t, hc, admin, "DELETE", mgmtPath+"/auth-policies/"+policyID, nil, 200, nil)
		}
	})
	l.call(t, hc, admin, "POST", mgmtPath+"/authenticators", map[string]any{"method": "updb", "identityId": a.ID, "username": a.Username, "password": a.Password}, 201, nil)
	own := l.legacyToken(t, hc, a.Username, a.Password)
	l.call(t, hc, own, "POST", clientPath+"/current-identity/mfa", nil, 201, nil)
	var mfa struct {
		Data struct {
			ProvisioningURL string   `json:"provisioningUrl"`
			RecoveryCodes   []string `json:"recoveryCodes"`
		} `json:"data"`
	}
	l.call(t, hc, own, "GET", clientPath+"/current-identity/mfa", nil, 200, &mfa)
	u, err := url.Parse(mfa.Data.ProvisioningURL)
	if err != nil || u.Query().Get("secret") == "" {
		t.Fatalf("zitilab: no TOTP secret in the enrolment")
	}
	a.Secret, a.Recovery = u.Query().Get("secret"), mfa.Data.RecoveryCodes
	l.call(t, hc, own, "POST", clientPath+"/current-identity/mfa/verify", map[string]string{"code": TOTPCode(a.Secret, time.Now())}, 200, nil)
	l.call(t, hc, own, "DELETE", clientPath+"/current-api-session", nil, 200, nil)
	var pol struct {
		Data struct{ ID string } `json:"data"`
	}
	l.call(t, hc, admin, "POST", mgmtPath+"/auth-policies", map[string]any{
		"name": a.Username + "-policy",
		"primary": map[string]any{
			"cert":   map[string]any{"allowed": false, "allowExpiredCerts": false},
			"extJwt": map[string]any{"allowed": false, "allowedSigners": []string{}},
			"updb":   map[string]any{"allowed": true, "lockoutDurationMinutes": 0, "maxAttempts": 0, "minPasswordLength": 5, "requireMixedCase": false, "requireNumberChar": false, "requireSpecialChar": false},
		},
		"secondary": map[string]any{"requireTotp": true},
	}, 201, &pol)
	policyID = pol.Data.ID
	l.call(t, hc, admin, "PATCH", mgmtPath+"/identities/"+a.ID, map[string]any{"authPolicyId": policyID}, 200, nil)
	return a
}

const (
	mgmtPath   = "/edge/management/v1"
	clientPath = "/edge/client/v1"
)

// TOTPCode is RFC 6238 as the controller checks it (SHA-1, 6 digits, 30 s).
func TOTPCode(secret string, at time.Time) string {
	key, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.TrimRight(strings.ToUpper(secret), "="))
	if err != nil {
		return ""
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(at.Unix()/30))
	m := hmac.New(sha1.New, key)
	m.Write(msg[:])
	sum := m.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	return fmt.Sprintf("%06d", (binary.BigEndian.Uint32(sum[off:off+4])&0x7fffffff)%1000000)
}

func (l Lab) client(t testing.TB) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(l.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	return &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}}}
}

func (l Lab) legacyToken(t testing.TB, hc *http.Client, user, pass string) string {
	t.Helper()
	var s struct {
		Data struct{ Token string } `json:"data"`
	}
	l.call(t, hc, "", "POST", clientPath+"/authenticate?method=password", map[string]string{"username": user, "password": pass}, 200, &s)
	return s.Data.Token
}

func (l Lab) call(t testing.TB, hc *http.Client, session, method, path string, in any, want int, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, l.URL+path, body)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		req.Header.Set("zt-session", session)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("zitilab: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("zitilab: %s %s: HTTP %d, want %d: %.300s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("zitilab: %s %s: %v", method, path, err)
		}
	}
}

// CAFile is the cluster's root CA (every node's chain ends in it).
func (c Cluster) CAFile() string {
	return filepath.Join(c.Dir, "qs", "pki", "root-ca", "certs", "root-ca.cert")
}

// Pid is the pid of node name's ziti process, found by its command line
// (ha.sh's pid file names the subshell that started it); 0 if none runs.
func (c Cluster) Pid(name string) int {
	cfg := filepath.Join(c.Dir, "qs", name, "ctrl.yaml")
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "cmdline"))
		if err != nil {
			continue
		}
		args := strings.Split(strings.TrimRight(string(b), "\x00"), "\x00")
		if len(args) >= 4 && strings.HasSuffix(args[0], "/ziti") && args[1] == "controller" && args[2] == "run" && args[3] == cfg {
			var pid int
			fmt.Sscanf(filepath.Base(d), "%d", &pid)
			return pid
		}
	}
	return 0
}

// Kill kills node name's ziti process with SIGKILL (as a crash) and waits
// until it is gone.
func (c Cluster) Kill(t testing.TB, name string) {
	t.Helper()
	pid := c.Pid(name)
	if pid == 0 {
		t.Fatalf("no ziti process runs node %s", name)
	}
	p, err := os.FindProcess(pid)
	if err == nil {
		err = p.Signal(syscall.SIGKILL)
	}
	if err != nil {
		t.Fatalf("kill %s (pid %d): %v", name, pid, err)
	}
	for range 100 {
		if c.Pid(name) == 0 {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("%s (pid %d) still runs after SIGKILL", name, pid)
}

// Start starts nodes with ha.sh start (which waits until they answer).
func (c Cluster) Start(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if c.Pid(n) == 0 {
			// ha.sh's pid file names a wrapper that may outlive ziti:
			// without this it would say "already running".
			_ = os.Remove(filepath.Join(c.Dir, n+".pid"))
		}
	}
	cmd := exec.Command(c.Script, append([]string{"start"}, names...)...)
	cmd.Env = append(os.Environ(), "LAB="+c.Lab, "HA="+c.Dir)
	// Its output to a file, not a pipe: the subshell it leaves running
	// would hold a pipe open, and the wait would never end.
	log, err := os.CreateTemp("", "ha-start-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer os.Remove(log.Name())
	defer log.Close()
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		out, _ := os.ReadFile(log.Name())
		t.Fatalf("ha.sh start %v: %v\n%s", names, err, out)
	}
}

// Restore starts, when the test ends, every node it killed.
func (c Cluster) Restore(t testing.TB) {
	t.Cleanup(func() {
		var down []string
		for _, n := range c.Nodes {
			if c.Pid(n.Name) == 0 {
				down = append(down, n.Name)
			}
		}
		if len(down) > 0 {
			c.Start(t, down...)
		}
	})
}
