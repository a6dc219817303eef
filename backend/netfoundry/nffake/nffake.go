// Package nffake is a stand-in for NetFoundry's API for tests: the OAuth2
// token endpoint an API account signs in at, and the gateway's network
// listing (HAL, paged) and session exchange, in the shapes NetFoundry
// documents. An exchange logs in at the network's real (fake) OpenZiti
// controller, as NetFoundry does for its networks, so what idcon then does
// with the session is checked by the controller fake.
package nffake

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Network is one network of the fake organisation.
type Network struct {
	ID, Name       string
	Status         string // PROVISIONED, PROVISIONING, ...
	ProductVersion string // "8.0.1" when empty
	// Controller is where the network's identities live; nil for a
	// network whose exchange must fail.
	Controller *Controller
}

// Controller is how the fake gateway logs in at a network's controller.
type Controller struct {
	URL                string // the controller's root, https://127.0.0.1:PORT
	CA                 []byte // PEM CA that signed its certificate
	Username, Password string
}

// Options shape a fake.
type Options struct {
	Networks []Network
	// PageSize caps the networks per page whatever the client asks, so a
	// few networks are enough to need several pages (default 1).
	PageSize int
	// TokenLifetime is the expires_in of the tokens (default one hour).
	TokenLifetime time.Duration
	// Now is the fake's clock, which judges token expiry (default
	// time.Now).
	Now func() time.Time
}

// Gateway is a running fake. Its fields don't change once started.
type Gateway struct {
	// URL is the gateway's root: the netfoundry.gateway override.
	URL string
	// TokenURL is the token endpoint: an account's authenticationUrl.
	TokenURL string
	// ClientID and Password are the one API account it accepts.
	ClientID, Password string

	t        testing.TB
	srv      *httptest.Server
	pageSize int
	lifetime time.Duration
	now      func() time.Time

	mu         sync.Mutex
	networks   []Network
	tokens     map[string]time.Time // access token → expiry, while valid
	allTokens  []string             // every access token ever issued
	sessions   []issuedSession
	revoked    bool // the gateway refuses every token
	refusals   int  // gateway requests answered 401
	down       bool
	forbidden  map[string]bool
	requests   []string
	tokenCalls int
	exchanges  map[string]int
}

type issuedSession struct {
	network, value string
}

// Start runs a fake gateway on loopback until the test ends.
func Start(t testing.TB, o Options) *Gateway {
	t.Helper()
	g := &Gateway{
		ClientID:  "fake-client-" + strings.ToLower(rand.Text()[:8]),
		Password:  rand.Text(),
		t:         t,
		pageSize:  o.PageSize,
		lifetime:  o.TokenLifetime,
		now:       o.Now,
		networks:  append([]Network(nil), o.Networks...),
		tokens:    map[string]time.Time{},
		forbidden: map[string]bool{},
		exchanges: map[string]int{},
	}
	if g.pageSize <= 0 {
		g.pageSize = 1
	}
	if g.lifetime <= 0 {
		g.lifetime = time.Hour
	}
	if g.now == nil {
		g.now = time.Now
	}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	g.URL = g.srv.URL
	g.TokenURL = g.srv.URL + "/oauth2/token"
	return g
}

// CredentialsFile writes the API account's credentials.json (0600) into
// dir and returns its path. password "" means the right one.
func (g *Gateway) CredentialsFile(t testing.TB, dir, password string) string {
	t.Helper()
	if password == "" {
		password = g.Password
	}
	data, err := json.MarshalIndent(map[string]string{
		"clientId": g.ClientID, "password": password, "authenticationUrl": g.TokenURL,
	}, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "credentials.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// Revoke disables the API account, as when it expires or an admin revokes
// it: it can still get tokens, but the gateway refuses them all.
func (g *Gateway) Revoke() {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.revoked = true
}

// IssueToken hands out a valid access token outside the token endpoint,
// as NETFOUNDRY_API_TOKEN would hold one.
func (g *Gateway) IssueToken() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	tok := "nf-ready-" + rand.Text()
	g.tokens[tok] = g.now().Add(g.lifetime)
	g.allTokens = append(g.allTokens, tok)
	return tok
}

// Refusals is how many gateway requests were answered 401.
func (g *Gateway) Refusals() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.refusals
}

// ExpireTokens makes every token issued so far stop working (the account
// still signs in).
func (g *Gateway) ExpireTokens() {
	g.mu.Lock()
	defer g.mu.Unlock()
	clear(g.tokens)
}

// SetDown makes the gateway and token endpoint answer 503 (or recover).
func (g *Gateway) SetDown(down bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.down = down
}

// Forbid makes the network answer 403 to this account.
func (g *Gateway) Forbid(networkID string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.forbidden[networkID] = true
}

// ExpireSessions logs out, at their controllers, every controller session
// exchanged so far, as their expiry would.
func (g *Gateway) ExpireSessions(ctx context.Context) error {
	g.mu.Lock()
	sessions := append([]issuedSession(nil), g.sessions...)
	g.mu.Unlock()
	for _, s := range sessions {
		ctrl := g.controllerOf(s.network)
		if ctrl == nil {
			continue
		}
		if _, _, err := ctrl.do(ctx, http.MethodDelete, "/current-api-session", nil, s.value); err != nil {
			return err
		}
	}
	return nil
}

// Secrets lists every access token and controller session the fake has
// handed out, and the account's password: what must never show up in
// logs or files.
func (g *Gateway) Secrets() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := []string{g.Password}
	for _, s := range g.sessions {
		out = append(out, s.value)
	}
	return append(out, g.issued()...)
}

// TokenRequests is how many tokens were asked for (successfully or not).
func (g *Gateway) TokenRequests() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.tokenCalls
}

// Exchanges is how many sessions were exchanged for a network.
func (g *Gateway) Exchanges(networkID string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.exchanges[networkID]
}

// Requests lists "METHOD /path?query" of every request, in order.
func (g *Gateway) Requests() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.requests...)
}

// issued lists every token handed out, valid or not (g.mu held).
func (g *Gateway) issued() []string {
	return append([]string(nil), g.allTokens...)
}

func (g *Gateway) serve(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.requests = append(g.requests, r.Method+" "+r.URL.RequestURI())
	down := g.down
	g.mu.Unlock()
	if down {
		writeJSON(w, http.StatusServiceUnavailable, map[string]any{"message": "Service Unavailable"})
		return
	}
	if r.URL.Path == "/oauth2/token" {
		g.token(w, r)
		return
	}
	auth, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	g.mu.Lock()
	exp, known := g.tokens[auth]
	valid := ok && known && g.now().Before(exp) && !g.revoked
	if !valid {
		g.refusals++
	}
	g.mu.Unlock()
	if !valid {
		writeJSON(w, http.StatusUnauthorized, map[string]any{"message": "Unauthorized"})
		return
	}
	seg := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/core/v3/networks":
		g.list(w, r)
	case r.Method == http.MethodGet && len(seg) == 4 && seg[0] == "core" && seg[1] == "v3" && seg[2] == "networks":
		g.one(w, seg[3])
	case r.Method == http.MethodPost && len(seg) == 5 && seg[0] == "core" && seg[1] == "v3" && seg[2] == "networks" && seg[4] == "exchange":
		g.exchange(w, r, seg[3])
	default:
		g.t.Errorf("nffake: unexpected request %s %s", r.Method, r.URL.Path)
		writeJSON(w, http.StatusNotFound, map[string]any{"message": "Not Found"})
	}
}

// token is Cognito's /oauth2/token with the client-credentials grant.
func (g *Gateway) token(w http.ResponseWriter, r *http.Request) {
	g.mu.Lock()
	g.tokenCalls++
	g.mu.Unlock()
	if r.Method != http.MethodPost || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		g.t.Errorf("nffake: token request %s with Content-Type %q, want a POSTed form", r.Method, r.Header.Get("Content-Type"))
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	if err := r.ParseForm(); err != nil || r.PostForm.Get("grant_type") != "client_credentials" || r.PostForm.Get("scope") == "" {
		g.t.Errorf("nffake: token request form %v, want grant_type=client_credentials and a scope", r.PostForm)
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_request"})
		return
	}
	id, pw, ok := r.BasicAuth()
	if !ok || id != g.ClientID || pw != g.Password {
		writeJSON(w, http.StatusBadRequest, map[string]any{"error": "invalid_client"})
		return
	}
	tok := "nf-access-" + rand.Text() + rand.Text()
	g.mu.Lock()
	g.tokens[tok] = g.now().Add(g.lifetime)
	g.allTokens = append(g.allTokens, tok)
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": tok, "expires_in": int64(g.lifetime / time.Second), "token_type": "Bearer",
	})
}

func (g *Gateway) networkJSON(n Network) map[string]any {
	pv := n.ProductVersion
	if pv == "" {
		pv = "8.0.1"
	}
	return map[string]any{
		"id": n.ID, "name": n.Name, "status": n.Status, "productVersion": pv,
		"networkGroupId": "group-1", "size": "small", "createdAt": "2031-01-02T03:04:05Z",
		"_links": map[string]any{"self": map[string]any{"href": g.URL + "/core/v3/networks/" + n.ID}},
	}
}

// list is GET /core/v3/networks: Spring's paged HAL.
func (g *Gateway) list(w http.ResponseWriter, r *http.Request) {
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, err := strconv.Atoi(r.URL.Query().Get("size"))
	if err != nil || size <= 0 || size > g.pageSize {
		size = g.pageSize
	}
	g.mu.Lock()
	var visible []Network
	for _, n := range g.networks {
		if !g.forbidden[n.ID] {
			visible = append(visible, n)
		}
	}
	g.mu.Unlock()
	pages := (len(visible) + size - 1) / size
	body := map[string]any{
		"page":   map[string]any{"size": size, "totalElements": len(visible), "totalPages": pages, "number": page},
		"_links": map[string]any{"self": map[string]any{"href": g.URL + r.URL.RequestURI()}},
	}
	if from := page * size; page >= 0 && from < len(visible) {
		var list []any
		for _, n := range visible[from:min(from+size, len(visible))] {
			list = append(list, g.networkJSON(n))
		}
		body["_embedded"] = map[string]any{"networkList": list}
	}
	writeJSON(w, http.StatusOK, body)
}

func (g *Gateway) find(id string) (Network, int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.forbidden[id] {
		return Network{}, http.StatusForbidden
	}
	for _, n := range g.networks {
		if n.ID == id {
			return n, http.StatusOK
		}
	}
	return Network{}, http.StatusNotFound
}

func (g *Gateway) one(w http.ResponseWriter, id string) {
	n, status := g.find(id)
	if status != http.StatusOK {
		writeJSON(w, status, map[string]any{"message": http.StatusText(status)})
		return
	}
	writeJSON(w, http.StatusOK, g.networkJSON(n))
}

// exchange is POST /core/v3/networks/{id}/exchange {"type":"session"}: it
// logs in at the network's controller and hands over the session.
func (g *Gateway) exchange(w http.ResponseWriter, r *http.Request, id string) {
	var in struct {
		Type string `json:"type"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Type != "session" {
		g.t.Errorf("nffake: exchange body type %q (%v), want {\"type\":\"session\"}", in.Type, err)
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "Bad Request"})
		return
	}
	n, status := g.find(id)
	if status != http.StatusOK {
		writeJSON(w, status, map[string]any{"message": http.StatusText(status)})
		return
	}
	if n.Status != "PROVISIONED" || n.Controller == nil {
		writeJSON(w, http.StatusConflict, map[string]any{"message": "network is not provisioned"})
		return
	}
	ctrl := g.controllerOf(id)
	code, body, err := ctrl.do(r.Context(), http.MethodPost, "/authenticate?method=password", map[string]string{"username": n.Controller.Username, "password": n.Controller.Password}, "")
	var sess struct {
		Data struct {
			Token     string `json:"token"`
			ExpiresAt string `json:"expiresAt"`
		} `json:"data"`
	}
	if err != nil || code != http.StatusOK || json.Unmarshal(body, &sess) != nil || sess.Data.Token == "" {
		g.t.Errorf("nffake: logging in at the controller of %s: HTTP %d %v", id, code, err)
		writeJSON(w, http.StatusBadGateway, map[string]any{"message": "Bad Gateway"})
		return
	}
	g.mu.Lock()
	g.exchanges[id]++
	g.sessions = append(g.sessions, issuedSession{network: id, value: sess.Data.Token})
	g.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"type": "session", "value": sess.Data.Token, "expiresAt": sess.Data.ExpiresAt,
		"networkId": id, "networkControllerUrl": strings.TrimSuffix(n.Controller.URL, "/") + "/edge/management/v1",
	})
}

// controllerClient talks to one controller, trusting its CA.
type controllerClient struct {
	base string
	http *http.Client
}

func (g *Gateway) controllerOf(id string) *controllerClient {
	n, status := g.find(id)
	if status != http.StatusOK || n.Controller == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(n.Controller.CA)
	return &controllerClient{
		base: strings.TrimSuffix(n.Controller.URL, "/") + "/edge/management/v1",
		http: &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, DisableKeepAlives: true}},
	}
}

func (c *controllerClient) do(ctx context.Context, method, path string, in any, session string) (int, []byte, error) {
	var rd io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if session != "" {
		req.Header.Set("zt-session", session)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("controller: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/hal+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
