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
	c.mu.Lock()
	defer c.mu.Unlock()
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
	s, err := c.login(ctx)
	if err != nil {
		return nil, err
	}
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
	renewed := false
	for limited := 0; ; {
		sess, err := c.session(ctx)
		if err != nil {
			return err
		}
		status, hdr, resp, err := c.send(ctx, method, path, query, body, sess)
		if err != nil {
			return err
		}
		switch {
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
	u := c.root + path
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
		return 0, nil, nil, c.transportError(ctx, err)
	}
	defer resp.Body.Close()
	c.noteSigningKey(resp.TLS)
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return 0, nil, nil, c.transportError(ctx, err)
	}
	return resp.StatusCode, resp.Header, data, nil
}
