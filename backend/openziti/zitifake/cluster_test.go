package zitifake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"testing"
)

// haExchange is one exchange of testdata/ha-v2.0.3, recorded from a real
// three-node v2.0.3 cluster by record.py.
type haExchange struct {
	Node    string `json:"node"`
	Request struct {
		Method, Path string
	} `json:"request"`
	Response struct {
		Status int            `json:"status"`
		Body   map[string]any `json:"body"`
	} `json:"response"`
	Note string `json:"note"`
}

func haRecorded(t *testing.T, file, note string) haExchange {
	t.Helper()
	b, err := os.ReadFile("testdata/ha-v2.0.3/" + file)
	if err != nil {
		t.Fatal(err)
	}
	var all []haExchange
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		if e.Note == note {
			return e
		}
	}
	t.Fatalf("%s has no exchange noted %q", file, note)
	return haExchange{}
}

func errorOf(body map[string]any) (code, message string) {
	e, _ := body["error"].(map[string]any)
	code, _ = e["code"].(string)
	message, _ = e["message"].(string)
	return code, message
}

// TestClusterAsRecorded holds the fake's cluster mode to what the real
// cluster answered: the node list, a legacy session refused on the other
// nodes, a write seen on every node, a stopped node refusing connections,
// and writes refused without a majority while reads go on.
func TestClusterAsRecorded(t *testing.T) {
	cl := StartCluster(t, 3, At(epoch))
	c := client(t, cl.Controller)
	tok := login(t, cl.Controller, c)

	// The node list: every node, online, with its management address.
	rec := haRecorded(t, "01-cluster.json", "the node list, all three up")
	if got := len(rec.Response.Body["data"].([]any)); got != 3 {
		t.Fatalf("the recording lists %d nodes, want 3", got)
	}
	status, out := do(t, c, "GET", cl.Nodes[0].URL+apiPath+"/controllers", tok, "")
	if status != rec.Response.Status {
		t.Fatalf("GET /controllers: %d, recorded %d", status, rec.Response.Status)
	}
	nodes := out["data"].([]any)
	if len(nodes) != 3 {
		t.Fatalf("GET /controllers lists %d nodes, want 3", len(nodes))
	}
	for i, n := range nodes {
		m := n.(map[string]any)
		urls := m["apiAddresses"].(map[string]any)["edge-management"].([]any)
		want := cl.Nodes[i].URL + apiPath
		if m["isOnline"] != true || urls[0].(map[string]any)["url"] != want || m["name"] != fmt.Sprintf("ctrl%d", i+1) {
			t.Errorf("node %d listed as %v online=%v at %v, want ctrl%d online at %s", i, m["name"], m["isOnline"], urls, i+1, want)
		}
	}

	// Node 1's legacy session: 200 on node 1, 401 UNAUTHORIZED elsewhere.
	rec = haRecorded(t, "01-cluster.json", "node 1's legacy zt-session on node 2")
	wantCode, _ := errorOf(rec.Response.Body)
	for i, nd := range cl.Nodes {
		status, out := do(t, c, "GET", nd.URL+apiPath+"/identities?limit=1", tok, "")
		code, _ := errorOf(out)
		switch {
		case i == 0 && status != http.StatusOK:
			t.Errorf("node 1's session on node 1: %d %v", status, out)
		case i > 0 && (status != rec.Response.Status || code != wantCode):
			t.Errorf("node 1's session on %s: %d %s, recorded %d %s", nd.Name, status, code, rec.Response.Status, wantCode)
		}
	}

	// A write through node 2 is listed by node 3.
	tok2 := loginAt(t, c, cl, 1)
	tok3 := loginAt(t, c, cl, 2)
	status, out = do(t, c, "POST", cl.Nodes[1].URL+apiPath+"/identities", tok2, `{"name":"ha-one","type":"Default","isAdmin":false}`)
	if status != http.StatusCreated {
		t.Fatalf("create through node 2: %d %v", status, out)
	}
	status, out = do(t, c, "GET", cl.Nodes[2].URL+apiPath+`/identities?filter=name%3D%22ha-one%22`, tok3, "")
	if status != http.StatusOK || len(out["data"].([]any)) != 1 {
		t.Fatalf("node 3 lists %v (%d), want the identity made through node 2", out["data"], status)
	}

	// A stopped node refuses connections and is listed offline; it comes back.
	cl.Nodes[0].Stop()
	if _, err := c.Get(cl.Nodes[0].URL + apiPath + "/version"); err == nil {
		t.Fatal("a stopped node answered")
	}
	_, out = do(t, c, "GET", cl.Nodes[1].URL+apiPath+"/controllers", tok2, "")
	if on := out["data"].([]any)[0].(map[string]any)["isOnline"]; on != false {
		t.Errorf("stopped ctrl1 listed isOnline=%v", on)
	}
	cl.Nodes[0].Start()
	if status, _ := do(t, c, "GET", cl.Nodes[0].URL+apiPath+"/version", "", ""); status != http.StatusOK {
		t.Errorf("restarted node 1 answers /version with %d", status)
	}

	// Without a majority: writes 503 CLUSTER_NO_LEADER as recorded, reads 200.
	rec = haRecorded(t, "02-failure.json", "create on ctrl3 without quorum (+5s)")
	wantCode, wantMsg := errorOf(rec.Response.Body)
	cl.LoseQuorum(true)
	status, out = do(t, c, "POST", cl.Nodes[2].URL+apiPath+"/identities", tok3, `{"name":"ha-two","type":"Default","isAdmin":false}`)
	if code, msg := errorOf(out); status != rec.Response.Status || code != wantCode || msg != wantMsg {
		t.Errorf("write without quorum: %d %s %q, recorded %d %s %q", status, code, msg, rec.Response.Status, wantCode, wantMsg)
	}
	if status, _ := do(t, c, "GET", cl.Nodes[2].URL+apiPath+"/identities?limit=1", tok3, ""); status != http.StatusOK {
		t.Errorf("read without quorum: %d, recorded 200", status)
	}
	cl.LoseQuorum(false)
	if status, out := do(t, c, "POST", cl.Nodes[2].URL+apiPath+"/identities", tok3, `{"name":"ha-two","type":"Default","isAdmin":false}`); status != http.StatusCreated {
		t.Errorf("write once the majority is back: %d %v", status, out)
	}
}

func loginAt(t *testing.T, c *http.Client, cl *Cluster, i int) string {
	t.Helper()
	status, out := do(t, c, "POST", cl.Nodes[i].URL+apiPath+"/authenticate?method=password", "", fmt.Sprintf(`{"username":%q,"password":%q}`, cl.Username, cl.Password))
	if status != http.StatusOK {
		t.Fatalf("login on %s: %d %v", cl.Nodes[i].Name, status, out)
	}
	return out["data"].(map[string]any)["token"].(string)
}

// TestSingleNodeListsItselfAsRecorded: a controller that is no cluster
// lists one node, itself, as the real single v2.0.3 lab does.
func TestSingleNodeListsItselfAsRecorded(t *testing.T) {
	f := Start(t, At(epoch))
	c := client(t, f)
	tok := login(t, f, c)
	rec := haRecorded(t, "03-single-node.json", "the node list of a single (non-HA) v2.0.3 controller (the shared lab, https://127.0.0.1:1280): one entry, itself")
	recNodes := rec.Response.Body["data"].([]any)
	status, out := do(t, c, "GET", f.URL+apiPath+"/controllers", tok, "")
	if status != rec.Response.Status {
		t.Fatalf("GET /controllers: %d, recorded %d", status, rec.Response.Status)
	}
	nodes := out["data"].([]any)
	if len(nodes) != len(recNodes) {
		t.Fatalf("%d nodes listed, recorded %d", len(nodes), len(recNodes))
	}
	got, want := nodes[0].(map[string]any), recNodes[0].(map[string]any)
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("the entry lacks %q, which the real one has", k)
		}
	}
	url := got["apiAddresses"].(map[string]any)["edge-management"].([]any)[0].(map[string]any)["url"]
	if got["isOnline"] != true || url != f.URL+apiPath || got["name"] != want["name"] {
		t.Errorf("listed %v online=%v at %v, want %v online at its own address %s", got["name"], got["isOnline"], url, want["name"], f.URL+apiPath)
	}
}
