package openziti

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/openziti/zitifake"
	"github.com/idcon/idcon/model"
)

// clusterClient starts a fake cluster of three nodes and a client that is
// told of node 1 only (as a network naming one URL): the others it must
// learn from GET /controllers.
func clusterClient(t *testing.T, opts ...zitifake.Option) (*Client, *zitifake.Cluster) {
	t.Helper()
	cl := zitifake.StartCluster(t, 3, append([]zitifake.Option{zitifake.At(testEpoch), zitifake.AdminUnlisted()}, opts...)...)
	c, err := New(configFor(cl.Controller))
	if err != nil {
		t.Fatal(err)
	}
	c.rateWait = time.Millisecond
	t.Cleanup(func() { _ = c.Close() })
	return c, cl
}

// count is how many entries of list start with prefix.
func count(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// TestClusterFailsOverFromTheOneNodeNamed: a network naming node 1 only
// goes on through the others once node 1 is down, without logging in
// again (an OIDC token is valid on every node).
func TestClusterFailsOverFromTheOneNodeNamed(t *testing.T) {
	c, cl := clusterClient(t)
	ctx := context.Background()
	id := cl.CreateIdentity("ha-alice", "", time.Time{})
	if _, err := c.Identity(ctx, c.NetworkID(), id); err != nil {
		t.Fatal(err)
	}
	logins := count(cl.Requests(), "POST /oidc/")
	cl.Nodes[0].Stop()
	for i := range 3 {
		got, err := c.Identity(ctx, c.NetworkID(), id)
		if err != nil {
			t.Fatalf("call %d with node 1 down: %v", i, err)
		}
		if got.Name != "ha-alice" {
			t.Fatalf("call %d: got %q", i, got.Name)
		}
	}
	if n := count(cl.Requests(), "POST /oidc/"); n != logins {
		t.Errorf("%d OIDC requests after the failover, want none (%d before): the token carries over", n-logins, logins)
	}
}

// TestClusterLegacySessionLogsInOnceOnTheNewNode: a legacy zt-session is
// valid on its own node only: after the failover idcon logs in on the new
// node once, and keeps that session.
func TestClusterLegacySessionLogsInOnceOnTheNewNode(t *testing.T) {
	c, cl := clusterClient(t, zitifake.LegacyOnly())
	ctx := context.Background()
	id := cl.CreateIdentity("ha-bob", "", time.Time{})
	if _, err := c.Identity(ctx, c.NetworkID(), id); err != nil {
		t.Fatal(err)
	}
	if n := count(cl.Requests(), "POST /edge/management/v1/authenticate"); n != 1 {
		t.Fatalf("%d logins before the failover, want 1", n)
	}
	cl.Nodes[0].Stop()
	for i := range 4 {
		if _, err := c.Identity(ctx, c.NetworkID(), id); err != nil {
			t.Fatalf("call %d with node 1 down: %v", i, err)
		}
	}
	if n := count(cl.Requests(), "POST /edge/management/v1/authenticate"); n != 2 {
		t.Errorf("%d logins in all, want 2 (node 1, then once on the new node)", n)
	}
}

// TestClusterFailsOverOnGatewayErrors: 502, 503 (a proxy's, not the
// cluster's CLUSTER_NO_LEADER) and 504 from a node move the call on.
func TestClusterFailsOverOnGatewayErrors(t *testing.T) {
	for _, status := range []int{502, 503, 504} {
		c, cl := clusterClient(t)
		ctx := context.Background()
		id := cl.CreateIdentity("ha-gw", "", time.Time{})
		if _, err := c.Identity(ctx, c.NetworkID(), id); err != nil {
			t.Fatal(err)
		}
		cl.Nodes[0].FailAsProxy(status, 1000)
		if _, err := c.Identity(ctx, c.NetworkID(), id); err != nil {
			t.Errorf("%d from node 1's proxy: %v, want the call answered by another node", status, err)
		}
	}
}

// TestClusterFailsOverOnTimeout: a node that takes the connection and
// never answers costs part of the call's deadline, not all of it.
func TestClusterFailsOverOnTimeout(t *testing.T) {
	cl := zitifake.StartCluster(t, 3, zitifake.At(testEpoch), zitifake.AdminUnlisted())
	hang, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer hang.Close()
	go func() {
		for {
			conn, err := hang.Accept()
			if err != nil {
				return
			}
			defer conn.Close() // held open, never answered
		}
	}()
	cfg := configFor(cl.Controller)
	cfg.Controller = "https://" + hang.Addr().String()
	cfg.Controllers = []string{cl.Nodes[1].URL}
	cfg.Timeout = 6 * time.Second
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	id := cl.CreateIdentity("ha-slow", "", time.Time{})
	if _, err := c.Identity(context.Background(), c.NetworkID(), id); err != nil {
		t.Fatalf("first node hangs: %v, want the call answered by the next", err)
	}
}

// TestClusterOneNodeKeepsTheWholeDeadline: a network of one node (no
// cluster) stays one node, named as it lists itself, and gives its one
// attempt the call's whole deadline: there is no other node to keep time
// for.
func TestClusterOneNodeKeepsTheWholeDeadline(t *testing.T) {
	f := newFake(t)
	cfg := configFor(f)
	cfg.Timeout = 9 * time.Second
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Identities(context.Background(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if n := c.CheckNodes(context.Background()); len(n) != 1 || n[0].Name != "instance-1" {
		t.Errorf("nodes %+v, want the one node, named as it lists itself", n)
	}
	if got := c.attemptTimeout(); got != 9*time.Second {
		t.Errorf("one node: an attempt gets %s, want the whole %s", got, 9*time.Second)
	}
}

// TestClusterNodesShowDownAndBack: the client lists the cluster's nodes
// by name, which one it uses, a node going down and coming back.
func TestClusterNodesShowDownAndBack(t *testing.T) {
	c, cl := clusterClient(t)
	ctx := context.Background()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	show := func(ns []NodeStatus) string {
		var b strings.Builder
		for _, n := range ns {
			b.WriteString(n.Name)
			if !n.Up {
				b.WriteString(" down")
			}
			if n.InUse {
				b.WriteString(" (in use)")
			}
			b.WriteString("; ")
		}
		return b.String()
	}
	if got, want := show(c.Nodes()), "ctrl1 (in use); ctrl2; ctrl3; "; got != want {
		t.Errorf("after login: %q, want %q", got, want)
	}
	cl.Nodes[0].Stop()
	if _, err := c.Identities(ctx, c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
		t.Fatal(err)
	}
	if got, want := show(c.Nodes()), "ctrl1 down; ctrl2 (in use); ctrl3; "; got != want {
		t.Errorf("node 1 killed: %q, want %q", got, want)
	}
	if got, want := show(c.CheckNodes(ctx)), "ctrl1 down; ctrl2 (in use); ctrl3; "; got != want {
		t.Errorf("node 1 still down: %q, want %q", got, want)
	}
	cl.Nodes[0].Start()
	if got, want := show(c.CheckNodes(ctx)), "ctrl1; ctrl2 (in use); ctrl3; "; got != want {
		t.Errorf("node 1 restarted: %q, want %q", got, want)
	}
}

// resetSetup makes an enrolled identity on the cluster and reads it.
func resetSetup(t *testing.T, c *Client, cl *zitifake.Cluster, name string) model.Identity {
	t.Helper()
	id := cl.CreateIdentity(name, "", testEpoch.Add(time.Hour))
	cl.Enroll(id)
	m, err := c.Identity(context.Background(), c.NetworkID(), id)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestClusterResetWhoseNodeDiesIsDoneOnce: the node in use dies after
// applying a step of a reset and before answering it. The reset is
// reported done with the identity's one outstanding token, and the
// re-enroll was applied once (not repeated blindly on the next node).
func TestClusterResetWhoseNodeDiesIsDoneOnce(t *testing.T) {
	for _, step := range []string{"POST /authenticators/", "POST /revocations", "PATCH /identities/"} {
		t.Run(step, func(t *testing.T) {
			for _, legacy := range []bool{false, true} {
				var opts []zitifake.Option
				if legacy {
					opts = append(opts, zitifake.LegacyOnly())
				}
				c, cl := clusterClient(t, opts...)
				m := resetSetup(t, c, cl, "ha-reset")
				cl.AddAPISessions(m.ID, 1)
				m, _ = c.Identity(context.Background(), c.NetworkID(), m.ID)
				cl.Nodes[0].KillDuring(step)
				tok, err := c.ResetEnrollment(context.Background(), c.NetworkID(), m.ID, m.Revision, testEpoch.Add(48*time.Hour))
				if cl.Nodes[0].Up() {
					t.Fatalf("legacy=%v: node 1 was not killed: the reset made no %s", legacy, step)
				}
				if err != nil {
					t.Fatalf("legacy=%v: reset: %v, want it done", legacy, err)
				}
				if reEnrolls := count(cl.Writes(), "POST /edge/management/v1/authenticators/"); reEnrolls != 1 {
					t.Errorf("legacy=%v: %d re-enrolls applied, want exactly 1", legacy, reEnrolls)
				}
				after, err := c.Identity(context.Background(), c.NetworkID(), m.ID)
				if err != nil {
					t.Fatal(err)
				}
				if after.State(testEpoch) != model.StatePending {
					t.Errorf("legacy=%v: state %s after the reset, want pending", legacy, after.State(testEpoch))
				}
				jwt, err := c.TokenJWT(context.Background(), c.NetworkID(), m.ID)
				if err != nil || jwt != tok.JWT {
					t.Errorf("legacy=%v: the token reported is not the identity's outstanding one (%v)", legacy, err)
				}
			}
		})
	}
}

// TestClusterReEnrollReadBackRedoesWhenNotMade: a re-enroll whose node
// refuses the connection was never made: it is made (once) on the next
// node.
func TestClusterResetWithNodeStoppedBeforehand(t *testing.T) {
	c, cl := clusterClient(t)
	m := resetSetup(t, c, cl, "ha-reset2")
	cl.Nodes[0].Stop()
	if _, err := c.ResetEnrollment(context.Background(), c.NetworkID(), m.ID, m.Revision, testEpoch.Add(48*time.Hour)); err != nil {
		t.Fatalf("reset with node 1 down: %v", err)
	}
	if n := count(cl.Writes(), "POST /edge/management/v1/authenticators/"); n != 1 {
		t.Errorf("%d re-enrolls, want 1", n)
	}
}

// TestClusterWithoutQuorumRefusesChangesAtOnce: two of three nodes down
// (the cluster answers CLUSTER_NO_LEADER to writes): a reset fails at once
// with one line naming the missing leader and how many nodes answer, and
// changes nothing; reads go on.
func TestClusterWithoutQuorumRefusesChangesAtOnce(t *testing.T) {
	refusedWithoutLeader(t, "ha-quorum", func(cl *zitifake.Cluster) { cl.LoseQuorum(true) })
}

// refusedWithoutLeader stops nodes 2 and 3, has the cluster lose its
// leader as lose says, and checks a reset then: it fails at once with one
// line naming the missing leader and how many nodes answer, tries the one
// re-enroll and nothing after it, and changes nothing; reads go on.
func refusedWithoutLeader(t *testing.T, name string, lose func(*zitifake.Cluster)) {
	t.Helper()
	c, cl := clusterClient(t)
	m := resetSetup(t, c, cl, name)
	cl.Nodes[1].Stop()
	cl.Nodes[2].Stop()
	lose(cl)
	writes := len(cl.Writes())
	start := time.Now()
	_, err := c.ResetEnrollment(context.Background(), c.NetworkID(), m.ID, m.Revision, testEpoch.Add(48*time.Hour))
	took := time.Since(start)
	if !errors.Is(err, backend.ErrUnavailable) || !errors.Is(err, ErrNoLeader) {
		t.Fatalf("reset without a leader: %v, want unavailable, no leader", err)
	}
	msg := err.Error()
	if !strings.Contains(msg, "no leader") || !strings.Contains(msg, "1 of 3 nodes answer") || strings.Contains(msg, "\n") {
		t.Errorf("reset without a leader says %q, want one line with 'no leader' and '1 of 3 nodes answer'", msg)
	}
	if w := cl.Writes()[writes:]; count(w, "POST /edge/management/v1/authenticators/") != 1 || len(w) != 1 {
		t.Errorf("writes tried without a leader: %q, want the one refused re-enroll and nothing after it", w)
	}
	if took > c.timeout {
		t.Errorf("the refusal took %s, longer than the call's deadline %s", took, c.timeout)
	}
	after, err := c.Identity(context.Background(), c.NetworkID(), m.ID)
	if err != nil {
		t.Fatalf("read without a leader: %v, want it answered", err)
	}
	if after.State(testEpoch) != model.StateEnrolled {
		t.Errorf("state %s after the refused reset, want enrolled (nothing half done)", after.State(testEpoch))
	}
	if _, err := c.Identities(context.Background(), c.NetworkID(), model.ListQuery{Limit: 10}); err != nil {
		t.Errorf("list without a leader: %v", err)
	}
}

// TestClusterCreateWhoseNodeDiesIsDoneOnce: the node dies after applying
// the create (or its token) and before answering: the identity is there
// once, with one token, which is the one reported.
func TestClusterCreateWhoseNodeDiesIsDoneOnce(t *testing.T) {
	for _, step := range []string{"POST /identities", "POST /enrollments"} {
		c, cl := clusterClient(t)
		if _, err := c.Identities(context.Background(), c.NetworkID(), model.ListQuery{Limit: 1}); err != nil {
			t.Fatal(err)
		}
		cl.Nodes[0].KillDuring(step)
		tok, err := c.CreateIdentity(context.Background(), c.NetworkID(), model.NewIdentity{Name: "ha-new", ExpiresAt: testEpoch.Add(time.Hour)})
		if cl.Nodes[0].Up() {
			t.Fatalf("%s: node 1 was not killed", step)
		}
		if err != nil {
			t.Fatalf("%s: create: %v, want it done", step, err)
		}
		w := cl.Writes()
		if n := count(w, "POST /edge/management/v1/identities "); n != 1 {
			t.Errorf("%s: %d creates applied, want 1", step, n)
		}
		if n := count(w, "POST /edge/management/v1/enrollments "); n != 1 {
			t.Errorf("%s: %d enrollments made, want 1", step, n)
		}
		jwt, err := c.TokenJWT(context.Background(), c.NetworkID(), tok.Identity.ID)
		if err != nil || jwt != tok.JWT {
			t.Errorf("%s: the token reported is not the identity's outstanding one (%v)", step, err)
		}
	}
}

// TestClusterWaitsForAnElectionWhileAMajorityAnswers: CLUSTER_NO_LEADER
// while two of three nodes answer is an election under way (a leader just
// died): the change waits for the new leader instead of failing.
func TestClusterWaitsForAnElectionWhileAMajorityAnswers(t *testing.T) {
	c, cl := clusterClient(t)
	m := resetSetup(t, c, cl, "ha-elect")
	cl.Nodes[2].Stop()
	cl.LoseQuorum(true)
	go func() {
		time.Sleep(1200 * time.Millisecond)
		cl.LoseQuorum(false) // the new leader
	}()
	if _, err := c.ResetEnrollment(context.Background(), c.NetworkID(), m.ID, m.Revision, testEpoch.Add(48*time.Hour)); err != nil {
		t.Fatalf("reset during an election with 2 of 3 nodes up: %v, want it done once a leader is back", err)
	}
	if n := count(cl.Writes(), "POST /edge/management/v1/authenticators/"); n < 1 {
		t.Errorf("no re-enroll applied")
	}
}

// TestClusterWithoutLeaderAtFirstRefusesChangesAtOnce: in the first
// seconds after the leader and another node die, the live follower answers
// writes 429 SERVER_TOO_MANY_REQUESTS (it can't reach its leader: recorded,
// ha-v2.0.3/04-quorum-lost-follower.json), not yet CLUSTER_NO_LEADER. That
// is no pushback to wait out: a change fails at once with the no-leader
// line, as it does a moment later.
func TestClusterWithoutLeaderAtFirstRefusesChangesAtOnce(t *testing.T) {
	refusedWithoutLeader(t, "ha-leaderless", func(cl *zitifake.Cluster) { cl.LoseLeader(true) })
}

// TestClusterWithAMajorityA429StaysAPushback: the same 429 while a
// majority of nodes answers is the controller's rate limit, not a lost
// leader: it is waited out as before (retried, then the limit's own
// error), never called a missing leader.
func TestClusterWithAMajorityA429StaysAPushback(t *testing.T) {
	c, cl := clusterClient(t)
	m := resetSetup(t, c, cl, "ha-limited")
	cl.LoseLeader(true)
	writes := len(cl.Writes())
	_, err := c.ResetEnrollment(context.Background(), c.NetworkID(), m.ID, m.Revision, testEpoch.Add(48*time.Hour))
	if err == nil || errors.Is(err, ErrNoLeader) || !strings.Contains(err.Error(), "limiting requests") {
		t.Fatalf("reset under a 429 with every node up: %v, want the rate limit's error", err)
	}
	if w := cl.Writes()[writes:]; len(w) < 2 {
		t.Errorf("writes tried under a 429 with every node up: %q, want it retried", w)
	}
}

// TestClusterNodesRememberedForTheNextRun: a client with a node cache
// writes the nodes it learned; the next client (the next CLI run) of the
// same network, naming node 1 only, reaches the cluster through the others
// while node 1 is down from its start.
func TestClusterNodesRememberedForTheNextRun(t *testing.T) {
	cl := zitifake.StartCluster(t, 3, zitifake.At(testEpoch), zitifake.AdminUnlisted())
	id := cl.CreateIdentity("ha-carol", "", time.Time{})
	cache := filepath.Join(t.TempDir(), "nodes", "ctrl.json")
	cfg := configFor(cl.Controller)
	cfg.NodeCache = cache
	first, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := first.Identity(context.Background(), first.NetworkID(), id); err != nil {
		t.Fatal(err)
	}
	_ = first.Close()
	if fi, err := os.Stat(cache); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the node cache after the first run: %v, %v; want a 0600 file", fi, err)
	}

	cl.Nodes[0].Stop()
	next, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer next.Close()
	got, err := next.Identity(context.Background(), next.NetworkID(), id)
	if err != nil || got.Name != "ha-carol" {
		t.Fatalf("the next run with node 1 down from its start: %v, %v; want ha-carol through node 2 or 3", got.Name, err)
	}

	// A cache that can't be read is passed over: the named node alone.
	if err := os.WriteFile(cache, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	cl.Nodes[0].Start()
	third, err := New(cfg)
	if err != nil {
		t.Fatalf("a damaged node cache: %v, want it passed over", err)
	}
	defer third.Close()
	if _, err := third.Identity(context.Background(), third.NetworkID(), id); err != nil {
		t.Fatalf("with a damaged node cache: %v", err)
	}
}
