package zitifake

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// Cluster mode: N nodes of one HA (raft) cluster over one store, as a real
// v2.0.3 cluster of three behaves (testdata/ha-v2.0.3, recorded by its
// record.py): every node serves the same identities; GET /controllers lists
// every node with isOnline; a legacy zt-session works only on the node that
// issued it (401 UNAUTHORIZED elsewhere) while an OIDC access token works
// on every node; a stopped node refuses connections; without a majority
// every write gets 503 CLUSTER_NO_LEADER while reads and logins go on.

// Cluster is a running fake cluster. Controller is its store (and node 0);
// Nodes are its nodes, Nodes[0].URL == Controller.URL.
type Cluster struct {
	*Controller
	Nodes []*Node

	mu sync.Mutex
}

// Node is one node of a Cluster.
type Node struct {
	Name string // ctrl1, ctrl2, ...
	URL  string // https://127.0.0.1:PORT, which stays the same across restarts

	c    *Cluster
	i    int
	addr string
	srv  *httptest.Server
	up   bool
	kill string // "METHOD /path-prefix": die right after applying such a request, before answering
	// proxied is how many more requests a proxy in front of the node
	// answers itself with proxyStatus (its upstream is gone), as nginx
	// or a load balancer does: a plain HTML page, not an API error.
	proxied, proxyStatus int
}

type nodeKey struct{}

// nodeOf is the node a request came in on (0 outside a cluster).
func nodeOf(r *http.Request) int {
	i, _ := r.Context().Value(nodeKey{}).(int)
	return i
}

// nodeHandler serves requests as node i.
func (f *Controller) nodeHandler(i int) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.WithContext(context.WithValue(r.Context(), nodeKey{}, i))
		f.mu.Lock()
		cl := f.cluster
		f.mu.Unlock()
		if cl == nil {
			f.serve(w, r)
			return
		}
		n := cl.Nodes[i]
		cl.mu.Lock()
		kill := n.kill != "" && strings.HasPrefix(r.Method+" "+strings.TrimPrefix(r.URL.Path, apiPath), n.kill)
		if kill {
			n.kill = ""
		}
		proxy := 0
		if n.proxied > 0 {
			n.proxied--
			proxy = n.proxyStatus
		}
		cl.mu.Unlock()
		if proxy != 0 {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(proxy)
			fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>\n", proxy, http.StatusText(proxy))
			return
		}
		if !kill {
			f.serve(w, r)
			return
		}
		// Apply the request, then die before the answer leaves.
		f.serve(discard{h: http.Header{}}, r)
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
		go n.Stop()
	})
}

type discard struct{ h http.Header }

func (d discard) Header() http.Header         { return d.h }
func (d discard) Write(b []byte) (int, error) { return len(b), nil }
func (d discard) WriteHeader(int)             {}

// stampNode gives the session a login just made the node it came in on.
func (f *Controller) stampNode(r *http.Request) {
	if f.lastSess != nil {
		f.lastSess.node = nodeOf(r)
		f.lastSess = nil
	}
}

// StartCluster starts a fake cluster of n nodes (n ≥ 1) sharing one store.
func StartCluster(t testing.TB, n int, opts ...Option) *Cluster {
	t.Helper()
	f := Start(t, opts...)
	c := &Cluster{Controller: f}
	first := &Node{Name: "ctrl1", URL: f.URL, c: c, i: 0, addr: f.Addr(), srv: f.srv, up: true}
	c.Nodes = append(c.Nodes, first)
	for i := 1; i < n; i++ {
		nd := &Node{Name: fmt.Sprintf("ctrl%d", i+1), c: c, i: i}
		c.Nodes = append(c.Nodes, nd)
	}
	f.mu.Lock()
	f.cluster = c
	f.mu.Unlock()
	for _, nd := range c.Nodes[1:] {
		nd.start("127.0.0.1:0")
		nd.URL = "https://" + nd.addr
	}
	t.Cleanup(func() {
		for _, nd := range c.Nodes {
			nd.Stop()
		}
	})
	return c
}

func (n *Node) start(addr string) {
	f := n.c.Controller
	var l net.Listener
	var err error
	for range 50 { // the port of a node just stopped may take a moment to free
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		f.t.Fatalf("zitifake: restart %s on %s: %v", n.Name, addr, err)
	}
	srv := httptest.NewUnstartedServer(f.nodeHandler(n.i))
	srv.Listener.Close()
	srv.Listener = l
	srv.Config.ErrorLog = f.srv.Config.ErrorLog
	srv.TLS = f.srv.TLS.Clone()
	srv.StartTLS()
	n.c.mu.Lock()
	n.srv, n.addr, n.up = srv, l.Addr().String(), true
	n.c.mu.Unlock()
}

// Stop stops the node, as a controller process killed: connections to it
// are refused until Start. Its legacy sessions are kept (a real node's
// survive its restart only if they were persisted; idcon logs in again
// on a 401 either way).
func (n *Node) Stop() {
	n.c.mu.Lock()
	srv, up := n.srv, n.up
	n.up = false
	n.c.mu.Unlock()
	if up && srv != nil {
		srv.CloseClientConnections()
		srv.Close()
	}
}

// Up says whether the node is running (not stopped, not killed).
func (n *Node) Up() bool {
	n.c.mu.Lock()
	defer n.c.mu.Unlock()
	return n.up
}

// Start restarts a stopped node on its address.
func (n *Node) Start() {
	n.c.mu.Lock()
	up := n.up
	n.c.mu.Unlock()
	if !up {
		n.start(n.addr)
	}
}

// KillDuring makes the node apply the next request whose "METHOD /path"
// (path below /edge/management/v1) starts with prefix, then die before
// answering it: the client sees the connection drop, the change is made.
func (n *Node) KillDuring(prefix string) {
	n.c.mu.Lock()
	n.kill = prefix
	n.c.mu.Unlock()
}

// FailAsProxy makes a proxy in front of the node answer its next times
// requests itself with status (502, 503, 504: its upstream is gone) and a
// plain HTML page; the node sees none of them.
func (n *Node) FailAsProxy(status, times int) {
	n.c.mu.Lock()
	n.proxied, n.proxyStatus = times, status
	n.c.mu.Unlock()
}

// LoseQuorum makes every write on every node answer 503 CLUSTER_NO_LEADER
// (a majority of nodes down), or stops doing so.
func (c *Cluster) LoseQuorum(lost bool) {
	c.Controller.mu.Lock()
	c.Controller.noQuorum = lost
	c.Controller.mu.Unlock()
}

// LoseLeader makes every write on every node answer what a real follower
// answered in the first seconds after its leader and another node died
// (ha-v2.0.3/04-quorum-lost-follower.json): 429 SERVER_TOO_MANY_REQUESTS
// whose cause is the failed dial to the dead leader, before raft noticed
// and CLUSTER_NO_LEADER began (LoseQuorum). Or stops doing so.
func (c *Cluster) LoseLeader(lost bool) {
	c.Controller.mu.Lock()
	c.Controller.leaderGone = lost
	c.Controller.mu.Unlock()
}

// leaderUnreachable is that recorded answer.
func leaderUnreachable() reply {
	return apiErr(http.StatusTooManyRequests, "SERVER_TOO_MANY_REQUESTS", "Too many requests to alter state have been issued. Please slow your request rate or try again later.",
		map[string]any{"code": "UNHANDLED", "message": "error dialing peer tls:127.0.0.1:2282: dial tcp 127.0.0.1:2282: connect: connection refused"})
}

// noLeader is the recorded answer to a write without a majority.
func noLeader() reply {
	return apiErr(http.StatusServiceUnavailable, "CLUSTER_NO_LEADER", "Cluster has no leader, unable to make model updates.", nil)
}

// list answers GET /controllers (called with the store's lock held).
func (c *Cluster) list(r *http.Request) reply {
	c.mu.Lock()
	defer c.mu.Unlock()
	var data []any
	for _, n := range c.Nodes {
		data = append(data, c.Controller.controllerEntry(n.Name, n.addr, n.up))
	}
	return controllerList(data)
}

// singleNodeList is GET /controllers of a controller that is no cluster:
// one entry, itself (testdata/ha-v2.0.3/03-single-node.json).
func (f *Controller) singleNodeList() reply {
	return controllerList([]any{f.controllerEntry("instance-1", f.Addr(), true)})
}

func controllerList(data []any) reply {
	return ok(map[string]any{"data": data, "meta": map[string]any{
		"filterableFields": []any{}, "pagination": map[string]any{"limit": len(data), "offset": 0, "totalCount": len(data)}}})
}

// controllerEntry is one node of GET /controllers.
func (f *Controller) controllerEntry(name, hostPort string, up bool) map[string]any {
	now := stampJSON(f.now())
	root := "https://" + hostPort
	addr := func(p string) []any { return []any{map[string]any{"url": root + p, "version": "v1"}} }
	return map[string]any{
		"_links": links("./controllers/" + name),
		"id":     name, "name": name, "isOnline": up,
		"createdAt": now, "updatedAt": now, "lastJoinedAt": now, "tags": map[string]any{},
		"ctrlAddress": "tls:" + hostPort, "certPem": string(PEM(f.leaf)), "fingerprint": certFingerprint(f.leaf.Raw),
		"apiAddresses": map[string]any{
			"edge-client":     addr("/edge/client/v1"),
			"edge-management": addr(apiPath),
			"edge-oidc":       addr("/oidc"),
			"fabric":          addr("/fabric/v1"),
		},
	}
}
