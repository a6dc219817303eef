package cli

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/audit"
	"github.com/idcon/idcon/backend/openziti/zitilab"
)

// labAPI is the tests' own client of the real cluster's management API
// (an oracle apart from idcon's): a legacy session on one node.
type labAPI struct {
	t    *testing.T
	hc   *http.Client
	base string
	tok  string
}

func newLabAPI(t *testing.T, cl zitilab.Cluster, node int) *labAPI {
	t.Helper()
	pem, err := os.ReadFile(cl.CAFile())
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	a := &labAPI{t: t, base: cl.Nodes[node].URL + "/edge/management/v1",
		hc: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, MaxIdleConnsPerHost: 16}}}
	var out struct{ Data struct{ Token string } }
	if st := a.do("POST", "/authenticate?method=password", map[string]string{"username": cl.Username, "password": cl.Password}, &out); st != 200 {
		t.Fatalf("login on %s: %d", cl.Nodes[node].Name, st)
	}
	a.tok = out.Data.Token
	return a
}

func (a *labAPI) do(method, path string, in, out any) int {
	var body *bytes.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		body = bytes.NewReader(b)
	} else {
		body = bytes.NewReader(nil)
	}
	req, _ := http.NewRequest(method, a.base+path, body)
	req.Header.Set("Content-Type", "application/json")
	if a.tok != "" {
		req.Header.Set("zt-session", a.tok)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		a.t.Errorf("%s %s: %v", method, path, err)
		return 0
	}
	defer resp.Body.Close()
	if out != nil {
		_ = json.NewDecoder(resp.Body).Decode(out)
	}
	return resp.StatusCode
}

// parallel runs fn for 0..n-1, 8 at a time.
func parallel(n int, fn func(i int)) {
	var wg sync.WaitGroup
	ch := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range ch {
				fn(i)
			}
		})
	}
	for i := range n {
		ch <- i
	}
	close(ch)
	wg.Wait()
}

type labIdentity struct {
	ID, Name string
}

// seed makes n identities named prefix+N, each enrolled with a password
// (updb) authenticator, and deletes them when the test ends.
func (a *labAPI) seed(prefix string, n int) []labIdentity {
	a.t.Helper()
	a.cleanup(prefix)
	out := make([]labIdentity, n)
	parallel(n, func(i int) {
		name := fmt.Sprintf("%s%04d", prefix, i)
		var created struct{ Data struct{ ID string } }
		if st := a.do("POST", "/identities", map[string]any{"name": name, "type": "Default", "isAdmin": false}, &created); st != 201 {
			a.t.Errorf("create %s: %d", name, st)
			return
		}
		if st := a.do("POST", "/authenticators", map[string]any{"method": "updb", "identityId": created.Data.ID, "username": name, "password": "pw-" + name}, nil); st != 201 {
			a.t.Errorf("authenticator of %s: %d", name, st)
		}
		out[i] = labIdentity{created.Data.ID, name}
	})
	a.t.Cleanup(func() { a.cleanup(prefix) })
	return out
}

// cleanup deletes every identity whose name starts with prefix.
func (a *labAPI) cleanup(prefix string) {
	for {
		var page struct{ Data []labIdentity }
		a.do("GET", "/identities?filter="+url.QueryEscape(fmt.Sprintf("name contains %q limit 500", prefix)), nil, &page)
		if len(page.Data) == 0 {
			return
		}
		parallel(len(page.Data), func(i int) { a.do("DELETE", "/identities/"+page.Data[i].ID, nil, nil) })
	}
}

// enrollments maps each identity whose name starts with prefix to the
// JWTs of its outstanding enrollments.
func (a *labAPI) enrollments(prefix string) map[string][]string {
	out := map[string][]string{}
	for off := 0; ; off += 500 {
		var page struct {
			Data []struct {
				JWT      string `json:"jwt"`
				Identity struct {
					Name string `json:"name"`
				} `json:"identity"`
			}
		}
		a.do("GET", fmt.Sprintf("/enrollments?limit=500&offset=%d", off), nil, &page)
		for _, e := range page.Data {
			if strings.HasPrefix(e.Identity.Name, prefix) {
				out[e.Identity.Name] = append(out[e.Identity.Name], e.JWT)
			}
		}
		if len(page.Data) < 500 {
			return out
		}
	}
}

// labHome is clusterHome for the real cluster: a config naming the nodes
// given (all when none) under controllers:.
func labHome(t *testing.T, cl zitilab.Cluster, nodes ...int) (func(args ...string) runResult, string) {
	t.Helper()
	home := t.TempDir()
	if len(nodes) == 0 {
		nodes = []int{0, 1, 2}
	}
	var urls []string
	for _, i := range nodes {
		urls = append(urls, cl.Nodes[i].URL)
	}
	cfgPath := filepath.Join(home, "config.yaml")
	cfg := fmt.Sprintf("networks:\n  - name: ha\n    controllers: [%s]\n    ca: %s\n    username: %s\n    passwordEnv: IDCON_HA_PASSWORD\n", strings.Join(urls, ", "), cl.CAFile(), cl.Username)
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return func(args ...string) runResult {
		var out, errOut bytes.Buffer
		env := environment{
			stdout: &out, stderr: &errOut, stdin: strings.NewReader(""),
			getenv: func(k string) string {
				switch k {
				case "HOME":
					return home
				case "XDG_DATA_HOME":
					return filepath.Join(home, "data")
				case "IDCON_HA_PASSWORD":
					return cl.Password
				}
				return ""
			},
			now:     time.Now,
			console: func(context.Context, ConsoleEnv) error { return failf("no console in this test") },
		}
		code := run(context.Background(), append([]string{"--config", cfgPath}, args...), env)
		return runResult{code: code, stdout: out.String(), stderr: errOut.String()}
	}, home
}

// TestLabClusterBulkResetWhoseNodeIsKilledIsExactlyOnce: the bulk reset
// of 1,000 identities (IDCON_LAB_BULK changes the number) through node 1
// of the real cluster, node 1 killed with SIGKILL a third of the way:
// every identity is reset exactly once (done = 1,000, none failed: a
// blind second re-enroll would fail on the authenticator the first one
// removed), the output file holds each identity's one outstanding
// enrollment, and the audit log one reset per identity.
func TestLabClusterBulkResetWhoseNodeIsKilledIsExactlyOnce(t *testing.T) {
	cl := zitilab.RequireCluster(t)
	cl.Restore(t)
	n := 1000
	if v := os.Getenv("IDCON_LAB_BULK"); v != "" {
		fmt.Sscanf(v, "%d", &n)
	}
	api := newLabAPI(t, cl, 1)
	const prefix = "haidc-bulk-"
	start := time.Now()
	ids := api.seed(prefix, n)
	t.Logf("seeded %d identities with a updb authenticator in %s", n, time.Since(start).Round(time.Millisecond))
	if t.Failed() {
		t.FailNow()
	}
	idcon, home := labHome(t, cl, 0)
	killed := make(chan time.Duration, 1)
	runStart := time.Now()
	go func() {
		for time.Since(runStart) < 20*time.Minute {
			if got := len(api.enrollments(prefix)); got >= n/3 {
				cl.Kill(t, "ctrl1")
				killed <- time.Since(runStart)
				return
			}
			time.Sleep(200 * time.Millisecond)
		}
		killed <- 0
	}()
	out := filepath.Join(t.TempDir(), "tokens.jsonl")
	r := idcon("enrollment", "reset", "--all", "--filter", prefix, "--network", "ha", "--expires", "+7d", "--yes", "-o", out, "--json")
	took := time.Since(runStart)
	at := <-killed
	if at == 0 {
		t.Fatal("ctrl1 was never killed")
	}
	t.Logf("bulk reset of %d: %s; ctrl1 killed (SIGKILL) %s into it", n, took.Round(time.Millisecond), at.Round(time.Millisecond))
	if r.code != exitOK {
		t.Fatalf("bulk reset: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	var rep bulkReport
	if err := json.Unmarshal([]byte(strings.TrimSpace(r.stdout)), &rep); err != nil {
		t.Fatalf("summary %q: %v", r.stdout, err)
	}
	if rep.Done != n || rep.Failed != 0 {
		t.Errorf("summary %+v, want %d done, none failed", rep, n)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	file := map[string]string{}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	for _, l := range lines {
		var tok bulkTokenJSON
		if err := json.Unmarshal([]byte(l), &tok); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if _, dup := file[tok.Identity]; dup {
			t.Errorf("%s has two tokens in the file", tok.Identity)
		}
		file[tok.Identity] = tok.JWT
	}
	enr := newLabAPI(t, cl, 2).enrollments(prefix)
	bad := 0
	for _, x := range ids {
		// The enrollment (jti), not the JWT's bytes (jwtClaims).
		if e := enr[x.Name]; len(e) != 1 || jwtClaims(e[0]) != jwtClaims(file[x.Name]) || jwtClaims(e[0]) == "" {
			if bad++; bad <= 3 {
				tail := func(s string) string { return jwtClaims(s) }
				var got []string
				for _, j := range e {
					got = append(got, tail(j))
				}
				t.Errorf("%s: outstanding enrollments on the controller %q, the file's %q", x.Name, got, tail(file[x.Name]))
			}
		}
	}
	if len(lines) != n || bad > 0 {
		t.Errorf("the file holds %d lines; %d identities don't hold exactly its token", len(lines), bad)
	}
	logData, err := os.ReadFile(filepath.Join(home, "data", "idcon", "audit.log"))
	if err != nil {
		t.Fatal(err)
	}
	audited := map[string]int{}
	for _, l := range strings.Split(strings.TrimSpace(string(logData)), "\n") {
		var e audit.Entry
		if json.Unmarshal([]byte(l), &e) == nil && e.Network.Name == "ha" && strings.Contains(e.Action, "reset") && e.Result == "ok" {
			audited[e.Identity.Name]++
		}
	}
	twice := 0
	for _, x := range ids {
		if audited[x.Name] != 1 {
			twice++
		}
	}
	if len(audited) != n || twice > 0 {
		t.Errorf("the audit log records resets of %d identities, %d not exactly once; want %d once each", len(audited), twice, n)
	}
}

// TestLabClusterWithoutQuorumCLI: two of the three real nodes killed:
// `enrollment reset X --yes` exits non-zero within its deadline with the
// one no-leader line; `identity list` answers from the live node.
func TestLabClusterWithoutQuorumCLI(t *testing.T) {
	cl := zitilab.RequireCluster(t)
	cl.Restore(t)
	api := newLabAPI(t, cl, 2)
	ids := api.seed("haidc-quorum-", 1)
	idcon, _ := labHome(t, cl)
	if r := idcon("identity", "list", "--network", "ha", "--filter", "haidc-quorum-"); r.code != exitOK {
		t.Fatalf("list with every node up: %d %s", r.code, r.stderr)
	}
	cl.Kill(t, "ctrl1")
	cl.Kill(t, "ctrl2")
	start := time.Now()
	r := idcon("enrollment", "reset", ids[0].Name, "--network", "ha", "--expires", "+7d", "--yes")
	took := time.Since(start)
	t.Logf("reset without quorum: exit %d after %s: %s", r.code, took.Round(time.Millisecond), strings.TrimSpace(r.stderr))
	if r.code == exitOK {
		t.Fatalf("reset without quorum exited 0:\n%s", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
	if len(lines) != 1 || !strings.Contains(lines[0], "no leader") || !strings.Contains(lines[0], "1 of 3 nodes answer") {
		t.Errorf("reset without quorum says %q, want one line with 'no leader' and '1 of 3 nodes answer'", r.stderr)
	}
	if took > 15*time.Second {
		t.Errorf("took %s, past the call's deadline of 15 s", took)
	}
	start = time.Now()
	r = idcon("identity", "list", "--network", "ha", "--filter", "haidc-quorum-")
	t.Logf("list without quorum: exit %d after %s", r.code, time.Since(start).Round(time.Millisecond))
	if r.code != exitOK || !strings.Contains(r.stdout, ids[0].Name) {
		t.Errorf("identity list without quorum: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	cl.Start(t, "ctrl1", "ctrl2")
	// The identity left as it was: its password authenticator still there.
	var auths struct{ Data []any }
	if st := newLabAPI(t, cl, 2).do("GET", "/authenticators?filter="+url.QueryEscape(fmt.Sprintf("identity=%q", ids[0].ID)), nil, &auths); st != 200 || len(auths.Data) != 1 {
		t.Errorf("after the refused reset: %d, %d authenticators, want the one it had (nothing half done)", st, len(auths.Data))
	}
}

// jwtClaims is the enrollment a token stands for: its jti claim (the
// enrollment's token), "" if it is no JWT. Not the whole JWT: each node
// mints an enrollment's JWT when it is read, with itself as iss and its
// own signature (seen on the real cluster: the same enrollment read
// through ctrl1 and ctrl3, iss https://127.0.0.1:2281 and :2283, one jti).
func jwtClaims(jwt string) string {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return ""
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return ""
	}
	var c struct {
		JTI string `json:"jti"`
	}
	if json.Unmarshal(b, &c) != nil {
		return ""
	}
	return c.JTI
}
