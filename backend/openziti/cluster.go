package openziti

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/idcon/idcon/backend"
)

// A controller network may be an HA (raft) cluster: several nodes over
// one replicated store (docs/CONTROLLERS.md). What a real v2.0.3 cluster
// does (zitifake/testdata/ha-v2.0.3): every node lists every node in GET
// /controllers; a write on any node is applied cluster-wide; a legacy
// zt-session works only on the node that issued it (401 elsewhere) while
// an OIDC access token works on every node; without a majority, writes get
// 503 CLUSTER_NO_LEADER (the first one may get 500 "leadership lost while
// committing log") while reads and legacy logins go on.

// nodeRefresh is how often the node list is read again.
const nodeRefresh = time.Minute

// downFor is how long a node that failed is passed over before it is
// tried again (when every other node failed too it is tried at once).
const downFor = 5 * time.Second

// node is one controller of the network.
type node struct {
	name   string // as /controllers names it ("" until listed)
	root   string // scheme://host
	down   bool   // the last exchange with it failed in transport or with 502/503/504
	downAt time.Time
	legacy *apiSession // its own legacy session (a zt-session works on its node only)
}

// NodeStatus is what the console shows of one controller node.
type NodeStatus struct {
	Name  string // the node's name, or its address before the list is read
	URL   string
	Up    bool // the last exchange with it worked (or none was made)
	InUse bool // calls go to this node now
}

// nodeSet is the client's view of the cluster.
type nodeSet struct {
	mu        sync.Mutex
	nodes     []*node
	cur       int
	refreshed time.Time // when /controllers was last read
	changed   func()    // Config.OnNodes
}

func newNodeSet(roots []string, changed func()) *nodeSet {
	s := &nodeSet{changed: changed}
	for _, r := range roots {
		s.add("", r)
	}
	return s
}

// add appends a node unless its root is known; it returns it.
func (s *nodeSet) add(name, root string) *node {
	for _, n := range s.nodes {
		if n.root == root {
			if name != "" {
				n.name = name
			}
			return n
		}
	}
	n := &node{name: name, root: root}
	s.nodes = append(s.nodes, n)
	return n
}

// count is how many nodes are known.
func (s *nodeSet) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.nodes)
}

func (s *nodeSet) current() *node {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nodes[s.cur]
}

// failed marks n down and moves on to the next node that isn't known to
// be down (or, when all are, the next one). It says whether there is
// another node to try.
func (s *nodeSet) failed(n *node, now time.Time) bool {
	s.mu.Lock()
	was := n.down
	n.down, n.downAt = true, now
	moved := false
	if s.nodes[s.cur] == n && len(s.nodes) > 1 {
		best := -1
		for i := 1; i < len(s.nodes); i++ {
			j := (s.cur + i) % len(s.nodes)
			if c := s.nodes[j]; !c.down || now.Sub(c.downAt) > downFor {
				best = j
				break
			}
		}
		if best < 0 {
			best = (s.cur + 1) % len(s.nodes)
		}
		s.cur, moved = best, true
	}
	others := len(s.nodes) > 1
	s.refreshed = time.Time{} // read the list again after a failure
	s.mu.Unlock()
	if (!was || moved) && s.changed != nil {
		s.changed()
	}
	return others
}

// worked marks n up.
func (s *nodeSet) worked(n *node) {
	s.mu.Lock()
	was := n.down
	n.down = false
	s.mu.Unlock()
	if was && s.changed != nil {
		s.changed()
	}
}

func (s *nodeSet) status() []NodeStatus {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]NodeStatus, len(s.nodes))
	for i, n := range s.nodes {
		name := n.name
		if name == "" {
			name = strings.TrimPrefix(strings.TrimPrefix(n.root, "https://"), "http://")
		}
		out[i] = NodeStatus{Name: name, URL: n.root, Up: !n.down, InUse: i == s.cur}
	}
	return out
}

// Nodes says which controller nodes the client knows, which are up and
// which one it uses. One node for a network that isn't a cluster.
func (c *Client) Nodes() []NodeStatus { return c.nodes.status() }

// rootURL is the root of the node calls go to now.
func (c *Client) rootURL() string { return c.nodes.current().root }

// attemptTimeout bounds one attempt on one node when there are others to
// fail over to, so that a node that hangs leaves time for the next.
func (c *Client) attemptTimeout() time.Duration {
	if c.nodes.count() <= 1 {
		return c.timeout
	}
	return max(c.timeout/3, time.Second)
}

// transportFail is a failed exchange: refused means the node never got the
// request (nothing can have been done).
type transportFail struct {
	refused bool
	err     error
}

func (e *transportFail) Error() string { return e.err.Error() }
func (e *transportFail) Unwrap() error { return e.err }

// MaybeDoneError is a change whose node stopped answering after it got the
// request: it may or may not have been made. Callers read the state back
// (on another node) before doing it again.
type MaybeDoneError struct {
	Node string
	Err  error
}

func (e *MaybeDoneError) Error() string {
	return fmt.Sprintf("controller node %s stopped answering during the change (%v): it may or may not have been made", e.Node, e.Err)
}

func (e *MaybeDoneError) Unwrap() []error { return []error{backend.ErrUnavailable, e.Err} }

// idempotent requests may be repeated on another node whatever happened
// to the first attempt: a DELETE repeated gets 404 (then taken as done), a
// PATCH sets the same values, a refresh makes the token's JWT anew (the
// last one is the one read back), a revocation is the same revocation.
func idempotent(method, path string) bool {
	return method != http.MethodPost || strings.HasSuffix(path, "/refresh") || path == "/revocations"
}

// refused says whether err is a refused connection.
func refused(err error) bool { return errors.Is(err, syscall.ECONNREFUSED) }

// noLeader is the one line for a change refused for want of a leader.
func (c *Client) noLeader(up, all int, words string) error {
	return &noLeaderError{backend.Unavailable("the %s cluster has no leader (%d of %d nodes answer; the controller says: %s): changes are refused until a majority is back; reads still work", c.cfg.Name, up, all, words)}
}

// maxElectionWaits bounds how often one call waits for a leader while a
// majority of nodes answers (electionWait each).
const maxElectionWaits = 20

// electionWait waits a moment for a leader to be elected; false if the
// call's deadline leaves no time for it.
func (c *Client) electionWait(ctx context.Context) bool {
	const wait = 500 * time.Millisecond
	if d, ok := ctx.Deadline(); ok && time.Until(d) < 2*wait {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// ErrNoLeader is matched (with errors.Is) by the error of a change the
// cluster refused for want of a leader: it says all there is to say.
var ErrNoLeader = errors.New("the cluster has no leader")

type noLeaderError struct{ err error }

func (e *noLeaderError) Error() string   { return e.err.Error() }
func (e *noLeaderError) Unwrap() []error { return []error{e.err, ErrNoLeader} }

// probeNodes asks every known node for /version (at most a second each,
// all at once) and counts those that answer.
func (c *Client) probeNodes(ctx context.Context) (up, all int) {
	c.nodes.mu.Lock()
	nodes := slices.Clone(c.nodes.nodes)
	c.nodes.mu.Unlock()
	var wg sync.WaitGroup
	var mu sync.Mutex
	for _, n := range nodes {
		wg.Go(func() {
			if c.answers(ctx, n) {
				mu.Lock()
				up++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return up, len(nodes)
}

// controllerWire is one node of GET /controllers.
type controllerWire struct {
	Name         string `json:"name"`
	IsOnline     bool   `json:"isOnline"`
	APIAddresses map[string][]struct {
		URL string `json:"url"`
	} `json:"apiAddresses"`
}

// refreshNodes reads the node list when it is older than nodeRefresh (or a
// failure asked for it), and asks the nodes known to be down whether they
// answer again. A controller that doesn't serve /controllers leaves the
// list as configured; one that lists only itself (no cluster: recorded,
// 03-single-node.json) stays one node, whatever address it gives itself.
func (c *Client) refreshNodes(ctx context.Context, sess *apiSession) {
	s := c.nodes
	s.mu.Lock()
	due := c.now().Sub(s.refreshed) >= nodeRefresh
	if due {
		s.refreshed = c.now() // one reader at a time
	}
	s.mu.Unlock()
	if due {
		c.readNodes(ctx, sess)
	}
}

// CheckNodes reads the node list now and asks each node known to be down
// whether it answers again; it returns how things stand (Nodes). The
// console calls it now and then to show a node coming back while its
// calls go elsewhere.
func (c *Client) CheckNodes(ctx context.Context) []NodeStatus {
	ctx, cancel := context.WithTimeout(ctx, min(c.timeout, 5*time.Second))
	defer cancel()
	if sess, err := c.session(ctx); err == nil {
		c.nodes.mu.Lock()
		c.nodes.refreshed = c.now()
		c.nodes.mu.Unlock()
		c.readNodes(ctx, sess)
	}
	return c.Nodes()
}

func (c *Client) readNodes(ctx context.Context, sess *apiSession) {
	s := c.nodes
	status, _, resp, err := c.send(ctx, http.MethodGet, "/controllers", nil, nil, sess)
	var page listEnvelope[controllerWire]
	if err == nil && status == http.StatusOK && json.Unmarshal(resp, &page) == nil {
		s.mu.Lock()
		changed := false
		if len(page.Data) == 1 && len(s.nodes) == 1 {
			// No cluster: the one node is the one asked.
			s.nodes[0].name = page.Data[0].Name
		} else {
			for _, w := range page.Data {
				for _, a := range w.APIAddresses["edge-management"] {
					u, err := url.Parse(a.URL)
					if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
						continue
					}
					before := len(s.nodes)
					n := s.add(w.Name, u.Scheme+"://"+u.Host)
					changed = changed || len(s.nodes) > before
					if !w.IsOnline && !n.down && n != s.nodes[s.cur] {
						n.down, n.downAt, changed = true, c.now(), true
					}
					break
				}
			}
		}
		roots := make([]string, len(s.nodes))
		for i, n := range s.nodes {
			roots[i] = n.root
		}
		s.mu.Unlock()
		writeNodeCache(c.cfg.NodeCache, roots)
		if changed && s.changed != nil {
			s.changed()
		}
	}
	c.probeDown(ctx)
}

// probeDown asks each node known to be down for /version (at most a
// second each, all at once): one that answers is up again.
func (c *Client) probeDown(ctx context.Context) {
	s := c.nodes
	s.mu.Lock()
	var down []*node
	for _, n := range s.nodes {
		if n.down {
			down = append(down, n)
		}
	}
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, n := range down {
		wg.Go(func() {
			if c.answers(ctx, n) {
				s.worked(n)
			}
		})
	}
	wg.Wait()
}

// answers says whether node n answers GET /version within a second.
func (c *Client) answers(ctx context.Context, n *node) bool {
	pctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(pctx, http.MethodGet, n.root+apiPath+"/version", nil)
	if err != nil {
		return false
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}
