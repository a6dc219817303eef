package openziti

import (
	"bytes"
	"context"
	"encoding/json"
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

// session returns the current API session token, logging in first when
// there is none. Concurrent callers wait for one login.
func (c *Client) session(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.token != "" {
		return c.token, nil
	}
	login := c.authenticate
	if c.cfg.Session != nil {
		login = c.cfg.Session
	}
	token, err := login(ctx)
	if err != nil {
		return "", err
	}
	c.token = token
	return token, nil
}

// dropSession forgets token unless another caller already replaced it.
func (c *Client) dropSession(token string) {
	c.mu.Lock()
	if c.token == token {
		c.token = ""
	}
	c.mu.Unlock()
}

type authQuery struct {
	Provider string `json:"provider"`
	TypeID   string `json:"typeId"`
}

// authenticate logs in with the configured method and returns the token.
func (c *Client) authenticate(ctx context.Context) (string, error) {
	var body any = struct{}{}
	if c.method == "password" {
		body = map[string]string{"username": c.cfg.Username, "password": c.cfg.Password}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return "", backend.Invalid("can't encode the login: %v", err)
	}
	for attempt := 0; ; attempt++ {
		status, hdr, resp, err := c.send(ctx, http.MethodPost, "/authenticate", url.Values{"method": {c.method}}, raw, "")
		if err != nil {
			return "", err
		}
		if status == http.StatusTooManyRequests && attempt < c.rateRetries {
			if err := c.backOff(ctx, attempt, hdr); err != nil {
				return "", err
			}
			continue
		}
		if status != http.StatusOK {
			e := decodeAPIError(status, resp, true)
			if status == http.StatusUnauthorized {
				who := "the certificate"
				if c.method == "password" {
					who = strconv.Quote(c.cfg.Username)
				}
				return "", backend.Forbidden("the controller refused the login for %s: %s", who, e.words())
			}
			return "", e.classify("log in")
		}
		var sess envelope[struct {
			Token       string      `json:"token"`
			AuthQueries []authQuery `json:"authQueries"`
		}]
		if err := json.Unmarshal(resp, &sess); err != nil {
			return "", backend.Unavailable("the controller's answer to the login could not be read: %v", err)
		}
		if len(sess.Data.AuthQueries) > 0 {
			q := sess.Data.AuthQueries[0]
			return "", backend.Forbidden("the controller requires a second factor (%s %s) for this login, which idcon doesn't support: use an admin without MFA, or a client certificate", q.TypeID, q.Provider)
		}
		if sess.Data.Token == "" {
			return "", backend.Unavailable("the controller's answer to the login held no session token")
		}
		return sess.Data.Token, nil
	}
}

// call makes one API request with the session, decoding a 2xx answer into
// out (when not nil). An expired session (401) is renewed once and the
// request repeated; 429 RATE_LIMITED is retried after a back-off. Other
// failures come back as typed backend errors in the controller's words.
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	if method != http.MethodGet {
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
	renewed := false
	for limited := 0; ; {
		token, err := c.session(ctx)
		if err != nil {
			return err
		}
		status, hdr, resp, err := c.send(ctx, method, path, query, body, token)
		if err != nil {
			return err
		}
		switch {
		case status == http.StatusUnauthorized && !renewed:
			c.dropSession(token)
			renewed = true
			continue
		case c.retryable(ctx, method, status, limited): // 429, and 503 in a bulk run's reads (bulk.go)
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

// send makes one HTTP exchange. token is the session ("" for none).
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte, token string) (int, http.Header, []byte, error) {
	u := c.base + path
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
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("zt-session", token)
	}
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
