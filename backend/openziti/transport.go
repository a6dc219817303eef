package openziti

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/idcon/idcon/backend"
)

// maxBody bounds what is read of one answer (a full page of 500 identities
// is well under 2 MiB).
const maxBody = 32 << 20

// envelope is the controller's answer to a single-object request.
type envelope[T any] struct {
	Data T `json:"data"`
}

// listEnvelope is the controller's answer to a list request.
type listEnvelope[T any] struct {
	Data []T `json:"data"`
	Meta struct {
		Pagination struct {
			Limit      int64 `json:"limit"`
			Offset     int64 `json:"offset"`
			TotalCount int64 `json:"totalCount"`
		} `json:"pagination"`
	} `json:"meta"`
}

// session returns the session to call with: the current one while its
// token is valid, else renewed with its refresh token (OIDC), else a new
// login. Concurrent callers wait for one login or renewal.
func (c *Client) session(ctx context.Context) (*apiSession, error) {
	tried := c.logins.Load()
	c.mu.Lock()
	defer c.mu.Unlock()
	n := c.nodes.current()
	if c.sess != nil && !c.sess.oidc && c.sess.node == nil {
		c.sess.node = n // a stored session: the node first named issued it
	}
	if c.sess != nil && !c.sess.oidc && c.sess.node != n {
		// A legacy session works on its own node only: keep it for when
		// calls come back there, and use (or make) this node's.
		if c.sess.node != nil {
			c.sess.node.legacy = c.sess
		}
		c.sess, n.legacy = n.legacy, nil
	}
	now := c.now()
	if c.sess.usable(now) {
		return c.sess, nil
	}
	if c.sess != nil && c.sess.oidc && c.sess.renewable(now) {
		s, err := c.refreshSession(ctx, c.sess)
		if err == nil {
			c.sess = s
			return s, nil
		}
		if !errors.Is(err, backend.ErrForbidden) {
			return nil, err // the controller couldn't be asked: no news about the session
		}
		c.sess.refresh = "" // refused: don't offer it again
	}
	if c.logins.Load() != tried && c.loginErr != nil {
		// A login failed while this caller waited: the same login would
		// be refused the same way (a cluster without a leader, a wrong
		// password), so it isn't sent again.
		return nil, c.loginErr
	}
	s, err := c.login(ctx)
	c.loginErr = err
	c.logins.Add(1)
	if err != nil {
		return nil, err
	}
	s.node = n
	c.sess = s
	return s, nil
}

// dropSession forgets the token of s (the controller refused it) unless
// another caller already replaced it; an OIDC refresh token is kept, to
// renew with.
func (c *Client) dropSession(s *apiSession) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sess != s {
		return
	}
	if s.oidc && s.refresh != "" {
		c.sess = &apiSession{oidc: true, refresh: s.refresh, refreshExpires: s.refreshExpires}
		return
	}
	c.sess = nil
}

type authQuery struct {
	Provider string `json:"provider"`
	TypeID   string `json:"typeId"`
}

// call makes one API request with the session, decoding a 2xx answer into
// out (when not nil). An expired session (401) is renewed once and the
// request repeated; 429 RATE_LIMITED is retried after a back-off (and, in
// a bulk run, a read answered 503 TIMEOUT: retryable in bulk.go). Other
// failures come back as typed backend errors in the controller's words.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	if method != http.MethodGet {
		if c.cfg.ReadOnly {
			return backend.Forbidden("network %s is a read-only login (the ziti CLI marks a --token login so): it changes nothing; log in with `ziti edge login %s -u USER` to make changes", c.cfg.Name, c.cfg.Controller)
		}
		// Whatever the outcome, the state map may no longer be right.
		defer c.states.invalidate()
	}
	var body []byte
	if in != nil {
		var err error
		if body, err = json.Marshal(in); err != nil {
			return backend.Invalid("can't encode the request: %v", err)
		}
	}
	if d := backend.DryRunOf(ctx); d != nil && method != http.MethodGet {
		// Planned, not sent: the answer is left empty.
		p := apiPath + path
		if len(query) > 0 {
			p += "?" + strings.ReplaceAll(query.Encode(), "+", "%20")
		}
		r := backend.Request{Method: method, Path: p, Body: string(body)}
		d.Add(r)
		if c.cfg.Observe != nil {
			c.cfg.Observe(Exchange{Network: c.cfg.Name, Method: method, Path: p, Planned: true, Body: r.Body})
		}
		return nil
	}
	renewed, repeated := false, false
	hops := 0     // nodes given up on in this call
	electing := 0 // waits for a leader while a majority answers
	for limited := 0; ; {
		n := c.nodes.current()
		actx, cancel := context.WithTimeout(ctx, c.attemptTimeout())
		sess, err := c.session(actx)
		var status int
		var hdr http.Header
		var resp []byte
		if err == nil {
			status, hdr, resp, err = c.send(actx, method, path, query, body, sess)
		}
		cancel()
		if err == nil && status == http.StatusServiceUnavailable && noLeaderAnswer(apiCode(resp)) {
			c.nodes.worked(n) // it answers; the cluster has no leader
			up, all := c.probeNodes(ctx)
			if all > 1 && up*2 > all && electing < maxElectionWaits && c.electionWait(ctx) {
				// A majority answers: a leader is being elected (a
				// leader just died). Not a pushback: asked again
				// shortly, within the call's deadline.
				electing++
				continue
			}
			return c.noLeader(up, all, decodeAPIError(status, resp, false).words())
		}
		gateway := status == http.StatusBadGateway || status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout
		if err != nil || (gateway && c.nodes.count() > 1) {
			// The node failed (a one-node network's 502/503/504 is
			// handled below as it always was: a 503 TIMEOUT may be retried
			// there, in a bulk run).
			tf, isTransport := errorsAs[*transportFail](err)
			if err != nil && !isTransport {
				return err // not the node's failure (a refused login, a bad request)
			}
			if ctx.Err() != nil {
				if err == nil {
					err = decodeAPIError(status, resp, false).classify(method + " " + path)
				}
				return err // the call's own deadline: no time for another node
			}
			if err == nil {
				err = decodeAPIError(status, resp, false).classify(method + " " + path)
			}
			sentBody := !(isTransport && tf.refused)
			hops++
			others := c.nodes.failed(n, c.now()) && hops < c.nodes.count()
			if sentBody && !idempotent(method, path) && others {
				return &MaybeDoneError{Node: n.root, Err: err}
			}
			if others {
				repeated = repeated || sentBody
				continue
			}
			return err
		}
		c.nodes.worked(n)
		if status >= 200 && status < 300 {
			// The node answers: read the node list when it is due
			// (after the answer, so a login's own flow is unchanged).
			c.refreshNodes(ctx, sess)
		}
		if status == http.StatusInternalServerError && !idempotent(method, path) && strings.Contains(string(resp), "leadership lost") {
			// Recorded: the first write after the cluster lost its
			// majority; raft may still commit it once a leader is back.
			return &MaybeDoneError{Node: n.root, Err: decodeAPIError(status, resp, false).classify(method + " " + path)}
		}
		if status == http.StatusTooManyRequests && method != http.MethodGet && c.nodes.count() > 1 {
			// Recorded (ha-v2.0.3/04-quorum-lost-follower.json): for
			// seconds after its leader and another node died, a follower
			// answers writes 429, failing to reach the leader, before
			// CLUSTER_NO_LEADER. Without a majority answering, that is no
			// rate limit to wait out.
			if up, all := c.probeNodes(ctx); up*2 <= all {
				return c.noLeader(up, all, decodeAPIError(status, resp, false).words())
			}
		}
		switch {
		case repeated && method == http.MethodDelete && status == http.StatusNotFound:
			return nil // the first node deleted it before it stopped answering
		case status == http.StatusUnauthorized && !renewed:
			c.dropSession(sess)
			renewed = true
			continue
		case c.retryable(ctx, method, status, resp, limited): // 429, and a 503 TIMEOUT in a bulk run's reads (bulk.go)
			if err := c.backOff(ctx, min(limited, 3), hdr); err != nil {
				return err
			}
			limited++
			continue
		case status >= 200 && status < 300:
			if out == nil || len(bytes.TrimSpace(resp)) == 0 {
				return nil
			}
			if err := json.Unmarshal(resp, out); err != nil {
				return backend.Unavailable("the controller's answer to %s %s could not be read: %v", method, path, err)
			}
			return nil
		}
		return decodeAPIError(status, resp, false).classify(method + " " + path)
	}
}

// noLeaderAnswer says whether an API error code means the cluster has no
// leader: CLUSTER_NO_LEADER as a real v2.0.3 answers (ha-v2.0.3), or
// CLUSTER_HAS_NO_LEADER as the spec names it. A 503 without it (a proxy
// whose node is gone, a handler's TIMEOUT) is the node's failure, not the
// cluster's.
func noLeaderAnswer(code string) bool {
	return code == noLeaderCode || code == "CLUSTER_HAS_NO_LEADER"
}

// apiCode is the error code of an API error answer ("" if none).
func apiCode(body []byte) string {
	var env struct {
		Error struct {
			Code string `json:"code"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &env)
	return env.Error.Code
}

// backOff waits before retrying a rate-limited request: Retry-After when the
// controller gives one (capped), else rateWait doubled per attempt.
func (c *Client) backOff(ctx context.Context, attempt int, hdr http.Header) error {
	wait := c.rateWait << attempt
	if s, err := strconv.Atoi(strings.TrimSpace(hdr.Get("Retry-After"))); err == nil && s >= 0 {
		wait = min(time.Duration(s)*time.Second, 5*time.Second)
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return c.transportError(ctx, ctx.Err())
	case <-t.C:
		return nil
	}
}

// send makes one HTTP exchange with the management API, with the
// session's credential (sess nil: none).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, sess *apiSession) (int, http.Header, []byte, error) {
	ctype := ""
	if body != nil {
		ctype = "application/json"
	}
	return c.sendRoot(ctx, method, apiPath+path, query, body, ctype, sess)
}

// sendRoot makes one HTTP exchange with a path from the controller's root
// (the OIDC endpoints live under /oidc). Redirects are not followed: the
// caller reads them. Observe hears of it, without its secrets.
func (c *Client) sendRoot(ctx context.Context, method, path string, query url.Values, body []byte, ctype string, sess *apiSession) (int, http.Header, []byte, error) {
	u := c.rootURL() + path
	if len(query) > 0 {
		// %20 rather than '+' for spaces: both mean a space in a query, but
		// not every server agrees about '+'.
		u += "?" + strings.ReplaceAll(query.Encode(), "+", "%20")
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, backend.Invalid("can't build the request: %v", err)
	}
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	switch {
	case sess == nil || sess.token == "":
	case sess.oidc:
		req.Header.Set("Authorization", "Bearer "+sess.token)
	default:
		req.Header.Set("zt-session", sess.token)
	}
	start := time.Now()
	status, hdr, data, err := c.exchange(ctx, req)
	if c.cfg.Observe != nil {
		p := path
		if q := RedactQuery(query); q != "" {
			p += "?" + q
		}
		c.cfg.Observe(Exchange{Network: c.cfg.Name, Method: method, Path: p, Status: status, Elapsed: time.Since(start)})
	}
	return status, hdr, data, err
}

func (c *Client) exchange(ctx context.Context, req *http.Request) (int, http.Header, []byte, error) {
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, nil, &transportFail{refused: refused(err), err: c.transportError(ctx, err)}
	}
	defer resp.Body.Close()
	c.noteSigningKey(resp.TLS)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err == nil {
		// An answer can still come once the deadline has cut the
		// exchange: a server whose handler sees the connection end
		// answers, and the transport may hand that answer over (seen
		// under load: an empty 200 from a controller that never answered).
		// The call timed out, whatever came.
		err = ctx.Err()
	}
	if err != nil {
		return 0, nil, nil, &transportFail{err: c.transportError(ctx, err)}
	}
	return resp.StatusCode, resp.Header, data, nil
}
