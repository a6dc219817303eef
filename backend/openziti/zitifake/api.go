package zitifake

import (
	"cmp"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"
)

// reply is a handler's answer.
type reply struct {
	status int
	body   any    // marshalled as JSON
	raw    []byte // sent as is (with contentType) when body is nil
	ctype  string
	// offSpec marks an answer recorded from a real controller that the spec
	// refuses (it is then not checked against it).
	offSpec bool
}

func ok(body any) reply { return reply{status: http.StatusOK, body: body} }

func emptyOK() reply {
	return ok(map[string]any{"data": map[string]any{}, "meta": map[string]any{}})
}

func created(id, kind string) reply {
	return reply{status: http.StatusCreated, body: map[string]any{
		"data": map[string]any{"id": id, "_links": links("./" + kind + "/" + id)},
		"meta": map[string]any{},
	}}
}

func apiErr(status int, code, message string, cause map[string]any) reply {
	// As recorded: code, message, requestId and an optional cause; no
	// causeMessage or args.
	e := map[string]any{"code": code, "message": message, "requestId": "req-" + strings.ToLower(rand.Text()[:8])}
	if cause != nil {
		e["cause"] = cause
	}
	return reply{status: status, body: map[string]any{"error": e, "meta": map[string]any{"apiVersion": "0.0.1", "apiEnrollmentVersion": "0.0.1"}}}
}

func notFound() reply {
	return apiErr(http.StatusNotFound, "NOT_FOUND", "The resource requested was not found or is no longer available", nil)
}

// notFoundID is the 404 the controller gives a read, delete or re-enroll
// of an unknown id: its cause names the entity ("identity with id X not
// found"). Refresh and revocations answer a bare notFound.
func notFoundID(entity, id string) reply {
	return apiErr(http.StatusNotFound, "NOT_FOUND", "The resource requested was not found or is no longer available",
		unhandled(entity+" with id "+id+" not found"))
}

// unhandled is the {code, message} shape of cause.
func unhandled(message string) map[string]any {
	return map[string]any{"code": "UNHANDLED", "message": message}
}

// invalidField is the controller's INVALID_FIELD answer: a {code,
// message} cause that quotes the value as Go prints it, with no field.
func invalidField(field, value, reason string) reply {
	return apiErr(http.StatusBadRequest, "INVALID_FIELD", "The field contains an invalid value",
		unhandled(fmt.Sprintf("the value '%s' for '%s' is invalid: %s", value, field, reason)))
}

func invalid(field, reason string, value any) reply {
	return apiErr(http.StatusBadRequest, "COULD_NOT_VALIDATE", "The supplied request contains an invalid document or no valid accept content were available, see cause",
		map[string]any{"field": field, "reason": reason, "value": value})
}

func links(self string) map[string]any {
	return map[string]any{"self": map[string]any{"href": self}}
}

func stampJSON(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// serve validates the request, answers it and validates the answer.
func (f *Controller) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("zitifake: read request: %v", err)
		return
	}
	f.mu.Lock()
	f.requests = append(f.requests, r.Method+" "+r.URL.RequestURI())
	if r.Method != http.MethodGet && !strings.HasPrefix(r.URL.Path, "/oidc/") && !strings.HasSuffix(r.URL.Path, "/authenticate") && !strings.HasSuffix(r.URL.Path, "/authenticate/mfa") {
		f.writes = append(f.writes, strings.TrimSpace(r.Method+" "+r.URL.RequestURI()+" "+string(body)))
	}
	f.mu.Unlock()

	// OIDC lives at the root, outside the API (and its spec).
	if strings.HasPrefix(r.URL.Path, "/oidc/") {
		f.mu.Lock()
		status, hdr, out := f.handleOIDC(r, body)
		f.mu.Unlock()
		for k, v := range hdr {
			w.Header()[k] = v
		}
		w.WriteHeader(status)
		_, _ = w.Write(out)
		return
	}
	// The EST endpoint at the root is outside the API (and its spec).
	if r.URL.Path == "/.well-known/est/cacerts" {
		w.Header().Set("Content-Type", "application/pkcs7-mime")
		_, _ = w.Write(f.cacerts())
		return
	}
	// The client API, and the management API's GET current-api-session
	// (which a real controller serves though the spec doesn't list it),
	// are outside the spec this fake checks against.
	if strings.HasPrefix(r.URL.Path, clientPath+"/") || (r.Method == http.MethodGet && r.URL.Path == apiPath+"/current-api-session") {
		writeReply(w, f.handle(r, body))
		return
	}
	in, err := f.spec.request(r, body)
	if err != nil && !f.offSpecRequests {
		f.t.Errorf("zitifake: %v", err)
		if in == nil {
			writeReply(w, notFound())
			return
		}
	}
	rep := f.handle(r, body)
	f.modelDelay(r, rep)
	var out []byte
	if rep.body != nil {
		out, err = json.Marshal(rep.body)
		if err != nil {
			f.t.Errorf("zitifake: encode answer: %v", err)
		}
		rep.ctype = "application/json"
	} else {
		out = rep.raw
	}
	if in != nil && rep.body != nil {
		rep.ctype = declaredJSONType(in, rep.status)
	}
	hdr := http.Header{}
	hdr.Set("Content-Type", rep.ctype)
	if in != nil && !recordedOffSpec(in, rep.status) && !rep.offSpec && !f.unchecked {
		if err := f.spec.response(in, rep.status, hdr, out); err != nil {
			f.t.Errorf("zitifake: %v", err)
		}
	}
	w.Header().Set("Content-Type", rep.ctype)
	w.WriteHeader(rep.status)
	_, _ = w.Write(out)
}

// recordedOffSpec: answers a real controller gave (README of the
// recordings) with a status the spec doesn't list for the operation: 606
// for an unknown login method, 400 and 409 from re-enroll, 404 from
// refresh. Their bodies are still the standard error envelope.
func recordedOffSpec(in *openapi3filter.RequestValidationInput, status int) bool {
	switch {
	case status == 606:
		return true
	case status == http.StatusServiceUnavailable:
		return true // CLUSTER_NO_LEADER (ha-v2.0.3/02-failure.json)
	case strings.HasSuffix(in.Route.Path, "/re-enroll"):
		return status == http.StatusBadRequest || status == http.StatusConflict
	case strings.HasSuffix(in.Route.Path, "/refresh"):
		return status == http.StatusNotFound
	case strings.HasSuffix(in.Route.Path, "/authenticate/mfa"):
		return status == http.StatusBadRequest // MFA_INVALID_TOKEN (06-legacy-mfa.json)
	case strings.HasSuffix(in.Route.Path, "/current-api-session"):
		return status == http.StatusNotFound // DELETE with a Bearer (07-bearer-limits.json)
	}
	return false
}

// declaredJSONType is the JSON media type the spec declares for a response
// (some operations say "application/json; charset=utf-8").
func declaredJSONType(in *openapi3filter.RequestValidationInput, status int) string {
	if r := in.Route.Operation.Responses.Status(status); r != nil && r.Value != nil {
		for ct := range r.Value.Content {
			if strings.HasPrefix(ct, "application/json") {
				return ct
			}
		}
	}
	return "application/json"
}

func writeReply(w http.ResponseWriter, rep reply) {
	out, _ := json.Marshal(rep.body)
	if rep.body == nil {
		out = rep.raw
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rep.status)
	_, _ = w.Write(out)
}

// handle routes a request (already validated) to its endpoint.
func (f *Controller) handle(r *http.Request, body []byte) reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	if r.Method != http.MethodGet {
		// Whatever it changes, the lists' indexes are rebuilt (index.go).
		f.perf.gen++
		defer func() { f.perf.gen++ }()
	}
	path := strings.TrimPrefix(r.URL.Path, apiPath)
	route := r.Method + " " + path
	if status, ok := f.failNext[route]; ok {
		delete(f.failNext, route)
		return cannedError(status)
	}
	if f.rateLimited > 0 && r.Method == http.MethodGet { // the spec lists 429 for reads, not for every write
		f.rateLimited--
		return apiErr(http.StatusTooManyRequests, "RATE_LIMITED", "The resource is rate limited and the rate limit has been exceeded. Please try again later", nil)
	}
	if route == "GET /.well-known/est/cacerts" {
		return reply{status: http.StatusOK, raw: f.cacerts(), ctype: "application/pkcs7-mime"}
	}
	if strings.HasPrefix(r.URL.Path, clientPath+"/") {
		return f.handleClient(r, body)
	}
	if route == "POST /authenticate" {
		rep := f.authenticate(r, body)
		f.stampNode(r)
		return rep
	}
	if f.noQuorum && r.Method != http.MethodGet && route != "DELETE /current-api-session" {
		return noLeader() // ha-v2.0.3/02-failure.json
	}
	if f.leaderGone && r.Method != http.MethodGet && route != "DELETE /current-api-session" {
		return leaderUnreachable() // ha-v2.0.3/04-quorum-lost-follower.json
	}
	if route == "GET /controllers" {
		if f.cluster != nil {
			return f.cluster.list(r)
		}
		return f.singleNodeList()
	}
	if route == "GET /version" {
		return ok(f.versionJSON())
	}
	if route == "POST /authenticate/mfa" {
		return f.authenticateMFA(r, body)
	}
	sess := f.adminSession(r.Header.Get("zt-session"))
	if sess != nil && sess.node != nodeOf(r) {
		sess = nil // a legacy session works on its own node only (ha-v2.0.3/01-cluster.json)
	}
	if sess == nil {
		bearer, given := f.bearerSession(r)
		switch {
		case bearer != nil:
			sess = bearer
		case r.Header.Get("zt-session") == "" && !given:
			return unauthenticated()
		default:
			return unauthorized()
		}
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case route == "GET /current-api-session":
		return ok(map[string]any{"data": f.currentSessionJSON(sess), "meta": map[string]any{}})
	case route == "DELETE /current-api-session":
		if f.apiSessions[sess.id] == nil {
			return notFoundID("apiSession", sess.id) // an OIDC session, as recorded: 404, nothing ended
		}
		delete(f.apiSessions, sess.id)
		return emptyOK()
	case route == "POST /authenticators":
		return f.createAuthenticator(body)
	case len(seg) == 2 && seg[0] == "authenticators" && r.Method == http.MethodDelete:
		if f.authenticators[seg[1]] == nil {
			return notFoundID("authenticator", seg[1])
		}
		f.dropAuthenticator(seg[1])
		return emptyOK()
	case route == "POST /revocations":
		return f.revoke(body)
	case route == "GET /revocations":
		return f.list(r, f.revocationRecords())
	case route == "GET /identities":
		return f.listIndexed(r, "identities", f.identityRecords)
	case route == "POST /identities":
		return f.createIdentity(body)
	case len(seg) == 2 && seg[0] == "identities":
		return f.identityByID(r.Method, seg[1], body)
	case len(seg) == 3 && seg[0] == "identities" && seg[2] == "enrollments" && r.Method == http.MethodGet:
		if f.identities[seg[1]] == nil {
			return notFoundID("identity", seg[1])
		}
		return f.list(r, f.enrollmentRecordsOf(seg[1]))
	case route == "GET /enrollments":
		return f.listIndexed(r, "enrollments", f.enrollmentRecords)
	case route == "POST /enrollments":
		return f.createEnrollment(body)
	case len(seg) == 2 && seg[0] == "enrollments":
		return f.enrollmentByID(r.Method, seg[1])
	case len(seg) == 3 && seg[0] == "enrollments" && seg[2] == "refresh" && r.Method == http.MethodPost:
		return f.refresh(seg[1], body)
	case route == "GET /authenticators":
		return f.listIndexed(r, "authenticators", f.authenticatorRecords)
	case len(seg) == 2 && seg[0] == "authenticators" && r.Method == http.MethodGet:
		a := f.authenticators[seg[1]]
		if a == nil {
			return notFoundID("authenticator", seg[1])
		}
		return ok(map[string]any{"data": f.authenticatorJSON(a), "meta": map[string]any{}})
	case len(seg) == 3 && seg[0] == "authenticators" && seg[2] == "re-enroll" && r.Method == http.MethodPost:
		return f.reEnroll(seg[1], body)
	case route == "GET /api-sessions":
		return f.list(r, f.sessionRecords())
	case len(seg) == 2 && seg[0] == "api-sessions" && r.Method == http.MethodDelete:
		if r.Header.Get("zt-session") == "" {
			return unauthenticated() // a Bearer is refused here, as recorded (the spec lists ztSession only)
		}
		if f.apiSessions[seg[1]] == nil {
			return notFoundID("apiSession", seg[1])
		}
		delete(f.apiSessions, seg[1])
		return emptyOK()
	}
	f.t.Errorf("zitifake: %s is in the spec but not faked", route)
	return notFound()
}

// cannedError is an error answer of a given status, as the controller
// words it.
func cannedError(status int) reply {
	switch status {
	case http.StatusBadRequest:
		return invalid("expiresAt", "must be in the future", "2001-01-01T00:00:00Z")
	case http.StatusNotFound:
		return notFound()
	case http.StatusConflict:
		return apiErr(status, "ENROLLMENT_EXISTS", "An enrollment already exists for this identity and method", nil)
	case http.StatusUnauthorized:
		return apiErr(status, "INVALID_AUTH", "The authentication request failed", nil)
	case http.StatusServiceUnavailable:
		return apiErr(status, "CLUSTER_HAS_NO_LEADER", "The cluster has no leader", nil)
	}
	return apiErr(status, "UNHANDLED", "An unhandled error occurred", nil)
}

func unauthorized() reply {
	return apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "The request could not be completed. The session is not authorized or the credentials are invalid", nil)
}

// unauthenticated is the 401 of a management request without a
// zt-session: the same code, with a cause.
func unauthenticated() reply {
	return apiErr(http.StatusUnauthorized, "UNAUTHORIZED", "The request could not be completed. The session is not authorized or the credentials are invalid",
		unhandled("unauthenticated for invalid credentials"))
}

func invalidAuth() reply {
	return apiErr(http.StatusUnauthorized, "INVALID_AUTH", "The authentication request failed", nil)
}

// adminSession is the API session of a zt-session token, if it is an
// admin's (the management API serves admins only).
func (f *Controller) adminSession(token string) *fAPISession {
	s := f.sessionByToken(token)
	if s == nil || s.mfaPending {
		return nil
	}
	if i := f.identities[s.identityID]; i == nil || !i.isAdmin {
		return nil
	}
	return s
}

func (f *Controller) sessionByToken(token string) *fAPISession {
	if token == "" {
		return nil
	}
	for _, s := range f.apiSessions {
		if s.token == token {
			return s
		}
	}
	return nil
}

// authenticate logs in to the management API: a updb password of an admin
// identity, or the admin client certificate (ClientCertFiles).
func (f *Controller) authenticate(r *http.Request, body []byte) reply {
	var a *fAuthenticator
	switch r.URL.Query().Get("method") {
	case "password":
		var in struct{ Username, Password string }
		if json.Unmarshal(body, &in) != nil || in.Username == "" || in.Password == "" {
			return apiErr(http.StatusBadRequest, "COULD_NOT_VALIDATE", "The supplied request contains an invalid document or no valid accept content were available, see cause",
				unhandled("username and password fields are required"))
		}
		a = f.passwordAuthenticator(body)
	case "cert":
		if r.TLS != nil && len(r.TLS.VerifiedChains) > 0 && f.adminFP != "" && certFingerprint(r.TLS.PeerCertificates[0].Raw) == f.adminFP {
			a = &fAuthenticator{id: "admin-cert", identityID: f.adminID}
		}
	default:
		r := invalid("method", "method in query should be one of [password cert ext-jwt]", r.URL.Query().Get("method"))
		r.status = 606
		return r
	}
	if a == nil {
		return invalidAuth()
	}
	if i := f.identities[a.identityID]; i == nil || !i.isAdmin {
		return invalidAuth()
	}
	s := f.login(a)
	queries := []any{}
	need := f.totpRequired[a.identityID]
	if need {
		// As recorded (06-legacy-mfa.json).
		queries = append(queries, map[string]any{"provider": "ziti", "typeId": "MFA", "format": "alphaNumeric", "httpMethod": "POST", "httpUrl": "./authenticate/mfa", "minLength": 4, "maxLength": 6, "scopes": nil})
		s.mfaPending = true
	}
	data := f.currentSessionJSON(s)
	data["authQueries"] = queries
	data["isMfaRequired"] = need
	rep := ok(map[string]any{"data": data, "meta": map[string]any{}})
	rep.offSpec = need // "scopes": null, which the spec doesn't allow
	return rep
}

// authenticateMFA takes the TOTP code of a legacy session waiting for it
// (POST /authenticate/mfa): 200 empty, or 400 MFA_INVALID_TOKEN, as
// recorded.
func (f *Controller) authenticateMFA(r *http.Request, body []byte) reply {
	s := f.sessionByToken(r.Header.Get("zt-session"))
	if s == nil {
		return unauthorized()
	}
	var in struct{ Code string }
	_ = json.Unmarshal(body, &in)
	if !s.mfaPending || !f.checkTOTP(s.identityID, in.Code) {
		return apiErr(http.StatusBadRequest, "MFA_INVALID_TOKEN", "An invalid token/code was provided", nil)
	}
	s.mfaPending = false
	return emptyOK()
}

// passwordAuthenticator is the updb authenticator a login body names.
func (f *Controller) passwordAuthenticator(body []byte) *fAuthenticator {
	var in struct{ Username, Password string }
	if json.Unmarshal(body, &in) != nil || in.Username == "" {
		return nil
	}
	for _, a := range f.authenticators {
		if a.method == "updb" && a.username == in.Username && a.password == in.Password {
			return a
		}
	}
	return nil
}

// login opens an API session through an authenticator; a certificate
// login moves the authenticator's updatedAt, as on a real controller.
func (f *Controller) login(a *fAuthenticator) *fAPISession {
	now := f.stamp()
	if a.method == "cert" {
		a.updatedAt = now
	}
	sid := cuid()
	s := &fAPISession{id: sid, identityID: a.identityID, authenticatorID: a.id, token: rand.Text(), createdAt: now, updatedAt: now}
	f.apiSessions[sid] = s
	f.lastSess = s
	return s
}

// currentSessionJSON is an authenticate or current-api-session answer.
func (f *Controller) currentSessionJSON(s *fAPISession) map[string]any {
	name := ""
	if i := f.identities[s.identityID]; i != nil {
		name = i.name
	}
	return map[string]any{
		"_links": links("./current-api-session"), "id": s.id, "createdAt": stampJSON(s.createdAt), "updatedAt": stampJSON(s.updatedAt), "tags": map[string]any{},
		"token": s.token, "identity": f.ref("identities", s.identityID, name), "identityId": s.identityID,
		"configTypes": []string{}, "ipAddress": "127.0.0.1", "authQueries": []any{}, "cachedUpdatedAt": stampJSON(s.updatedAt),
		"isMfaRequired": false, "isMfaComplete": false, "authenticatorId": s.authenticatorID, "isCertExtendable": false,
		"expiresAt": stampJSON(s.createdAt.Add(30 * time.Minute)), "expirationSeconds": 1800,
	}
}

func errMeta() map[string]any {
	return map[string]any{"apiEnrollmentVersion": "0.0.1", "apiVersion": "0.0.1"}
}

// cuid is the 25-character shape of API session ids ("cmx5...").
func cuid() string {
	return "cmx5" + strings.ToLower(rand.Text()[:21])
}

// dropAuthenticator deletes an authenticator and the API sessions that
// logged in with it.
func (f *Controller) dropAuthenticator(id string) {
	delete(f.authenticators, id)
	for k, s := range f.apiSessions {
		if s.authenticatorID == id {
			delete(f.apiSessions, k)
		}
	}
}

// createAuthenticator adds a updb authenticator (POST /authenticators).
func (f *Controller) createAuthenticator(body []byte) reply {
	var in struct {
		Method, IdentityID, Username, Password string
	}
	if err := json.Unmarshal(body, &in); err != nil || in.Method != "updb" {
		return invalid("method", "only updb authenticators can be created", in.Method)
	}
	if f.identities[in.IdentityID] == nil {
		return invalid("identityId", "identity not found", in.IdentityID)
	}
	now := f.stamp()
	id := f.newLongID()
	f.authenticators[id] = &fAuthenticator{id: id, identityID: in.IdentityID, method: "updb", username: in.Username, password: in.Password, createdAt: now, updatedAt: now}
	return created(id, "authenticators")
}

// revoke records a revocation (POST /revocations). As recorded, it ends
// no legacy API session and stops no new login.
func (f *Controller) revoke(body []byte) reply {
	var in struct{ ID, Type string }
	_ = json.Unmarshal(body, &in)
	switch in.Type {
	case "IDENTITY":
		if f.identities[in.ID] == nil {
			return notFound()
		}
	case "API_SESSION", "JTI":
		if !uuidShape(in.ID) {
			return invalid("id", "must be a valid UUID v4", in.ID)
		}
	default:
		return apiErr(http.StatusBadRequest, "COULD_NOT_VALIDATE", "The supplied request contains an invalid document or no valid accept content were available, see cause",
			map[string]any{"field": "type", "reason": "type in body should be one of [JTI IDENTITY API_SESSION]", "value": in.Type})
	}
	f.revocations[in.ID] = f.now().Add(24 * time.Hour)
	return reply{status: http.StatusCreated, body: map[string]any{"data": map[string]any{"_links": links("./revocations/" + in.ID), "id": in.ID}, "meta": map[string]any{}}}
}

func uuidShape(s string) bool {
	return len(s) == 36 && s[8] == '-' && s[13] == '-' && s[14] == '4' && s[18] == '-' && s[23] == '-'
}

func (f *Controller) revocationRecords() []record {
	var out []record
	for id, exp := range f.revocations {
		now := f.now()
		out = append(out, record{
			json: map[string]any{"_links": links("./revocations/" + id), "id": id, "createdAt": stampJSON(now), "updatedAt": stampJSON(now), "tags": map[string]any{}, "expiresAt": stampJSON(exp), "type": "IDENTITY"},
			sym:  map[string]any{"id": id, "type": "IDENTITY"},
		})
	}
	return out
}

// record is one entity as the list endpoints see it: its JSON and its
// filter symbols.
type record struct {
	json map[string]any
	sym  map[string]any
	// build makes json when it is nil: lists of many records build the
	// JSON of the page's records only.
	build func() map[string]any
}

func (r record) body() map[string]any {
	if r.json == nil && r.build != nil {
		return r.build()
	}
	return r.json
}

func (f *Controller) list(r *http.Request, recs []record) reply { return f.listFrom(r, recs, nil) }

// listIndexed answers a list request from the list's index (index.go).
func (f *Controller) listIndexed(r *http.Request, kind string, build func() []record) reply {
	if f.perf.noIndex { // the oracle of the index's test
		return f.list(r, build())
	}
	ix := f.indexed(kind, build)
	return f.listFrom(r, ix.byID, ix)
}

func (f *Controller) listFrom(r *http.Request, recs []record, ix *listIndex) reply {
	q := r.URL.Query()
	// Clamped, not refused, as recorded (README note 10): over 500 → 500,
	// 0 → 10, negative → everything (limit MaxInt64), offset over 100,000
	// → 100,000.
	limit, offset := int64(10), int64(0)
	if s := q.Get("limit"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		switch {
		case err != nil:
			return apiErr(http.StatusBadRequest, "INVALID_PAGINATION", "invalid limit", nil)
		case n < 0:
			limit = math.MaxInt64
		case n == 0:
			limit = 10
		default:
			limit = min(n, 500)
		}
	}
	if s := q.Get("offset"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return apiErr(http.StatusBadRequest, "INVALID_PAGINATION", "invalid offset", nil)
		}
		offset = min(n, 100000)
	}
	query, err := ParseQuery(q.Get("filter"))
	if err != nil {
		return apiErr(http.StatusBadRequest, "INVALID_FILTER", "the filter is not valid", map[string]any{"field": "filter", "reason": err.Error()})
	}
	kind := path.Base(r.URL.Path)
	fields := filterableFields[kind]
	if fields != nil {
		// As recorded (README note 11): symbols outside the list's
		// filterableFields (hasApiSession is computed, not stored) are
		// refused, in a filter and in a sort.
		known := func(s string) bool { return slices.Contains(fields, s) || strings.HasPrefix(s, "tags.") }
		if bad := unknownSymbol(query.Where, known); bad != "" {
			return apiErr(http.StatusBadRequest, "INVALID_FILTER", "The filter query supplied is invalid", map[string]any{"code": "UNHANDLED", "message": "unknown symbol '" + bad + "'"})
		}
		for _, s := range append(sortKeys(q.Get("sort")), query.Sort...) {
			if !known(s.Field) {
				return apiErr(http.StatusBadRequest, "INVALID_SORT_IDENTIFIER", "The sort order supplied is invalid", map[string]any{"code": "UNHANDLED", "message": "unknown symbol '" + s.Field + "'"})
			}
		}
	}
	// A SORT BY inside the filter overrides the sort parameter (note 11).
	sorts := query.Sort
	if len(sorts) == 0 {
		sorts = sortKeys(q.Get("sort"))
	}
	if len(sorts) == 0 {
		sorts = []SortKey{{Field: "id"}}
	}
	for _, s := range sorts {
		if _, known := recs0sym(recs, s.Field); !known && len(recs) > 0 {
			return apiErr(http.StatusBadRequest, "INVALID_SORT_IDENTIFIER", "invalid sort field "+s.Field, nil)
		}
	}
	var match []record
	if ix != nil {
		match, err = ix.match(query, sorts)
	} else {
		match, err = matchAll(recs, query, sorts)
	}
	if err != nil {
		return apiErr(http.StatusBadRequest, "INVALID_FILTER", "the filter is not valid", map[string]any{"field": "filter", "reason": err.Error()})
	}
	if query.Skip != nil {
		offset = int64(*query.Skip)
	}
	if query.Limit != nil {
		limit = int64(*query.Limit)
	}
	total := int64(len(match))
	page := []any{}
	for i := offset; i < total && i-offset < limit; i++ { // (offset+limit overflows for limit=-1)
		page = append(page, match[i].body())
	}
	meta := map[string]any{"pagination": map[string]any{"limit": limit, "offset": offset, "totalCount": total}}
	if fields != nil {
		meta["filterableFields"] = fields
	}
	return ok(map[string]any{"data": page, "meta": meta})
}

// sortRecords sorts by the keys, stably. The keys' values are read out
// of each record once, not at each comparison: lists of 100,000 records
// are sorted on every request.
func sortRecords(recs []record, sorts []SortKey) {
	type keyed struct {
		keys []any
		at   int // the position before, which keeps the sort stable
		rec  record
	}
	ks := make([]keyed, len(recs))
	flat := make([]any, len(recs)*len(sorts))
	for i, r := range recs {
		k := flat[i*len(sorts) : (i+1)*len(sorts) : (i+1)*len(sorts)]
		for j, s := range sorts {
			k[j] = r.sym[s.Field]
		}
		ks[i] = keyed{k, i, r}
	}
	slices.SortFunc(ks, func(a, b keyed) int {
		for j, s := range sorts {
			var c int
			if x, ok := a.keys[j].(string); ok {
				y, _ := b.keys[j].(string)
				c = strings.Compare(x, y)
			} else {
				c = compareSymbol(a.keys[j], b.keys[j])
			}
			if s.Desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return a.at - b.at
	})
	for i := range ks {
		recs[i] = ks[i].rec
	}
}

func recs0sym(recs []record, field string) (any, bool) {
	if len(recs) == 0 {
		return nil, false
	}
	v, ok := recs[0].sym[field]
	return v, ok
}

func (f *Controller) identityRecords() []record {
	out := make([]record, 0, len(f.identities))
	var rel *related // gathered for the page's first record, under mu as the list is
	for _, i := range f.identities {
		if f.unlisted && i.id == f.adminID {
			continue
		}
		build := func() map[string]any {
			if rel == nil {
				r := f.relations()
				rel = &r
			}
			return f.identityJSONWith(i, *rel)
		}
		out = append(out, record{build: build, sym: map[string]any{
			"id": i.id, "name": i.name, "createdAt": i.createdAt, "updatedAt": i.updatedAt,
			"type": i.typ, "isAdmin": i.isAdmin, "tags": i.tags,
		}})
	}
	return out
}

func (f *Controller) enrollmentRecords() []record { return f.enrollmentRecordsOf("") }

// enrollmentRecordsOf lists one identity's enrollments (all with "").
func (f *Controller) enrollmentRecordsOf(identityID string) []record {
	out := make([]record, 0, len(f.enrollments))
	for _, e := range f.enrollments {
		if identityID != "" && e.identityID != identityID {
			continue
		}
		out = append(out, record{build: func() map[string]any { return f.enrollmentJSON(e) }, sym: map[string]any{
			// As recorded (filterableFields): no method, no expiresAt.
			"id": e.id, "identity": e.identityID, "token": e.token, "createdAt": time.Time{}, "updatedAt": time.Time{},
		}})
	}
	return out
}

func (f *Controller) authenticatorRecords() []record {
	out := make([]record, 0, len(f.authenticators))
	for _, a := range f.authenticators {
		if f.unlisted && a.identityID == f.adminID {
			continue // as its identity isn't listed (AdminUnlisted)
		}
		out = append(out, record{build: func() map[string]any { return f.authenticatorJSON(a) }, sym: map[string]any{
			"id": a.id, "identity": a.identityID, "method": a.method, "createdAt": a.createdAt, "updatedAt": a.updatedAt,
		}})
	}
	return out
}

func (f *Controller) sessionRecords() []record {
	var out []record
	for _, s := range f.apiSessions {
		out = append(out, record{json: f.sessionJSON(s), sym: map[string]any{
			"id": s.id, "identity": s.identityID, "createdAt": s.createdAt, "updatedAt": s.updatedAt,
		}})
	}
	return out
}

func (f *Controller) ref(kind, id, name string) map[string]any {
	return map[string]any{"_links": links("./" + kind + "/" + id), "entity": kind, "id": id, "name": name}
}

// related is every identity's enrollments, authenticators (oldest first)
// and whether it has an API session: what identityJSON shows of them,
// gathered once for a list.
type related struct {
	enrollments    map[string][]*fEnrollment
	authenticators map[string][]*fAuthenticator
	sessions       map[string]bool
}

func (f *Controller) relations() related {
	r := related{enrollments: map[string][]*fEnrollment{}, authenticators: map[string][]*fAuthenticator{}, sessions: map[string]bool{}}
	for _, e := range f.enrollments {
		r.enrollments[e.identityID] = append(r.enrollments[e.identityID], e)
	}
	for _, a := range f.authenticators {
		r.authenticators[a.identityID] = append(r.authenticators[a.identityID], a)
	}
	for _, as := range r.authenticators {
		slices.SortFunc(as, func(a, b *fAuthenticator) int { return a.createdAt.Compare(b.createdAt) })
	}
	for _, s := range f.apiSessions {
		r.sessions[s.identityID] = true
	}
	return r
}

func (f *Controller) identityJSON(i *fIdentity) map[string]any {
	r := related{enrollments: map[string][]*fEnrollment{}, authenticators: map[string][]*fAuthenticator{i.id: f.authenticatorsOf(i.id)}, sessions: map[string]bool{}}
	for _, e := range f.enrollments {
		if e.identityID == i.id {
			r.enrollments[i.id] = append(r.enrollments[i.id], e)
		}
	}
	for _, s := range f.apiSessions {
		r.sessions[i.id] = r.sessions[i.id] || s.identityID == i.id
	}
	return f.identityJSONWith(i, r)
}

func (f *Controller) identityJSONWith(i *fIdentity, rel related) map[string]any {
	enr := map[string]any{}
	for _, e := range rel.enrollments[i.id] {
		enr[e.method] = map[string]any{"id": e.id, "token": e.token, "jwt": e.jwt, "expiresAt": stampJSON(e.expiresAt)}
	}
	// identityDetail names at most one authenticator of each method (the
	// controller picks one; here the oldest): only /authenticators lists
	// them all.
	auth := map[string]any{}
	for _, a := range rel.authenticators[i.id] {
		if _, named := auth[a.method]; named {
			continue
		}
		if a.method == "updb" {
			auth[a.method] = map[string]any{"id": a.id, "username": a.username}
		} else {
			auth[a.method] = map[string]any{"id": a.id, "fingerprint": a.fingerprint}
		}
	}
	hasSession := rel.sessions[i.id]
	tags := map[string]any{}
	for k, v := range i.tags {
		tags[k] = v
	}
	attrs := i.roleAttributes
	if attrs == nil {
		attrs = []string{}
	}
	return map[string]any{
		"_links": links("./identities/" + i.id), "id": i.id, "createdAt": stampJSON(i.createdAt), "updatedAt": stampJSON(i.updatedAt), "tags": tags,
		"name": i.name, "type": f.ref("identity-types", i.typ, i.typ), "typeId": i.typ, "isDefaultAdmin": i.isDefaultAdmin, "isAdmin": i.isAdmin,
		"authenticators": auth, "enrollment": enr, "envInfo": map[string]any{}, "sdkInfo": map[string]any{}, "roleAttributes": attrs,
		"hasEdgeRouterConnection": false, "edgeRouterConnectionStatus": "offline", "hasApiSession": hasSession, "isMfaEnabled": false,
		"serviceHostingPrecedences": map[string]any{}, "serviceHostingCosts": map[string]any{}, "defaultHostingCost": 0,
		"defaultHostingPrecedence": "default", "authPolicyId": "default", "authPolicy": f.ref("auth-policies", "default", "Default"),
		"externalId": nil, "disabled": false, "permissions": []string{}, "appData": map[string]any{},
	}
}

func (f *Controller) enrollmentJSON(e *fEnrollment) map[string]any {
	name := ""
	if i := f.identities[e.identityID]; i != nil {
		name = i.name
	}
	return map[string]any{
		// A real controller's enrollment records carry zero timestamps.
		"_links": links("./enrollments/" + e.id), "id": e.id, "createdAt": zeroStamp, "updatedAt": zeroStamp, "tags": map[string]any{},
		"token": e.token, "jwt": e.jwt, "method": e.method, "expiresAt": stampJSON(e.expiresAt), "details": map[string]any{},
		"identityId": e.identityID, "identity": f.ref("identities", e.identityID, name),
	}
}

func (f *Controller) authenticatorJSON(a *fAuthenticator) map[string]any {
	name := ""
	if i := f.identities[a.identityID]; i != nil {
		name = i.name
	}
	out := map[string]any{
		"_links": links("./authenticators/" + a.id), "id": a.id, "createdAt": stampJSON(a.createdAt), "updatedAt": stampJSON(a.updatedAt), "tags": map[string]any{},
		"method": a.method, "identityId": a.identityID, "identity": f.ref("identities", a.identityID, name),
	}
	if a.method == "updb" {
		out["username"] = a.username
	} else {
		out["fingerprint"] = a.fingerprint
		out["isIssuedByNetwork"] = true
		out["lastAuthResolvedToRoot"] = true
		// As recorded: the certificate and the intermediate that issued
		// it. A certificate enrolled without one (Enroll, Seed) shows a
		// stand-in the intermediate issued, the same for all of them.
		der := a.certDER
		if der == nil {
			der = f.standInCert()
		}
		out["certPem"] = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})) + string(PEM(f.Intermediate))
	}
	return out
}

// standInCert is the certificate shown for certificate authenticators
// the fake made without one (caller holds mu).
func (f *Controller) standInCert() []byte {
	if f.standIn == nil {
		leaf, _ := NewLeaf(f.t, f.Intermediate, f.interKey, "stand-in", true)
		f.standIn = leaf.Raw
	}
	return f.standIn
}

func (f *Controller) sessionJSON(s *fAPISession) map[string]any {
	name := ""
	if i := f.identities[s.identityID]; i != nil {
		name = i.name
	}
	return map[string]any{
		"_links": links("./api-sessions/" + s.id), "id": s.id, "createdAt": stampJSON(s.createdAt), "updatedAt": stampJSON(s.updatedAt), "tags": map[string]any{},
		"token": s.token, "identity": f.ref("identities", s.identityID, name), "identityId": s.identityID, "configTypes": []string{},
		"ipAddress": "192.0.2.7", "authQueries": []any{}, "cachedUpdatedAt": stampJSON(s.updatedAt), "isMfaRequired": false,
		"isMfaComplete": false, "authenticatorId": s.authenticatorID, "isCertExtendable": true,
	}
}

func (f *Controller) createIdentity(body []byte) reply {
	var in struct {
		Name           string         `json:"name"`
		Type           string         `json:"type"`
		IsAdmin        bool           `json:"isAdmin"`
		RoleAttributes []string       `json:"roleAttributes"`
		Tags           map[string]any `json:"tags"`
		Enrollment     *struct {
			OTT  bool   `json:"ott"`
			UPDB string `json:"updb"`
		} `json:"enrollment"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return invalid("(root)", err.Error(), nil)
	}
	for _, i := range f.identities {
		if i.name == in.Name {
			return invalid("name", fmt.Sprintf("duplicate value '%s' in unique index on identities store", in.Name), in.Name)
		}
	}
	now := f.stamp()
	i := &fIdentity{id: f.newID(""), name: in.Name, createdAt: now, updatedAt: now, tags: in.Tags, roleAttributes: in.RoleAttributes, typ: in.Type, isAdmin: in.IsAdmin}
	if i.tags == nil {
		i.tags = map[string]any{}
	}
	f.identities[i.id] = i
	// The controller's configured enrollment duration (180 minutes as
	// recorded), whatever the caller wanted.
	if in.Enrollment != nil && in.Enrollment.OTT {
		f.newEnrollment(i.id, f.now().Add(3*time.Hour))
	}
	if in.Enrollment != nil && in.Enrollment.UPDB != "" {
		f.newEnrollmentOf(i.id, "updb", f.newID(""), f.now().Add(3*time.Hour)).username = in.Enrollment.UPDB
	}
	return created(i.id, "identities")
}

func (f *Controller) identityByID(method, id string, body []byte) reply {
	i := f.identities[id]
	if i == nil {
		return notFoundID("identity", id)
	}
	switch method {
	case http.MethodGet:
		return ok(map[string]any{"data": f.identityJSON(i), "meta": map[string]any{}})
	case http.MethodPatch:
		var in map[string]json.RawMessage
		if err := json.Unmarshal(body, &in); err != nil {
			return invalid("(root)", err.Error(), nil)
		}
		if v, ok := in["roleAttributes"]; ok {
			_ = json.Unmarshal(v, &i.roleAttributes)
		}
		if v, ok := in["tags"]; ok {
			_ = json.Unmarshal(v, &i.tags)
		}
		// Like boltz, every update stamps updatedAt.
		i.updatedAt = f.stamp()
		return emptyOK()
	case http.MethodDelete:
		delete(f.identities, id)
		for k, e := range f.enrollments {
			if e.identityID == id {
				delete(f.enrollments, k)
			}
		}
		for k, a := range f.authenticators {
			if a.identityID == id {
				delete(f.authenticators, k)
			}
		}
		for k, s := range f.apiSessions {
			if s.identityID == id {
				delete(f.apiSessions, k)
			}
		}
		return emptyOK()
	}
	return notFound()
}

// parseExpiry reads an expiresAt the controller's way, with the errors
// each endpoint gives (README note 7): refresh validates the body
// (COULD_NOT_VALIDATE with a field cause); POST /enrollments and re-enroll
// refuse a past time as an INVALID_FIELD with a {code, message} cause.
func (f *Controller) parseExpiry(body []byte, refresh bool) (time.Time, *reply) {
	var in struct {
		ExpiresAt *string `json:"expiresAt"`
	}
	_ = json.Unmarshal(body, &in)
	if in.ExpiresAt == nil {
		r := invalid("expiresAt", "expiresAt in body is required", "<nil>")
		return time.Time{}, &r
	}
	t, err := time.Parse(time.RFC3339Nano, *in.ExpiresAt)
	if err != nil {
		_, perr := time.Parse("2006-01-02", *in.ExpiresAt)
		what := "refresh"
		if !refresh {
			what = "enrollment"
		}
		r := apiErr(http.StatusBadRequest, "COULD_NOT_PARSE_BODY", "The body of the request could not be parsed",
			unhandled(fmt.Sprintf("parsing %s body from \"\" failed, because %v", what, perr)))
		return time.Time{}, &r
	}
	if !t.After(f.now()) {
		goTime := t.UTC().String()
		if refresh {
			r := invalid("expiresAt", "must be after the current date and time", goTime)
			return time.Time{}, &r
		}
		r := invalidField("expiresAt", goTime, "expiresAt must be in the future")
		return time.Time{}, &r
	}
	return t.UTC(), nil
}

func (f *Controller) createEnrollment(body []byte) reply {
	var in struct {
		Method     string `json:"method"`
		IdentityID string `json:"identityId"`
	}
	_ = json.Unmarshal(body, &in)
	exp, bad := f.parseExpiry(body, false)
	if bad != nil {
		return *bad
	}
	if f.identities[in.IdentityID] == nil {
		return invalidField("identityId", fmt.Sprintf("%p", &in), "identity not found") // the controller prints a pointer
	}
	if f.enrollmentOf(in.IdentityID, in.Method) != nil {
		return enrollmentExists(in.Method)
	}
	e := f.newEnrollmentOf(in.IdentityID, "ott", f.newLongID(), exp)
	return created(e.id, "enrollments")
}

func (f *Controller) enrollmentByID(method, id string) reply {
	e := f.enrollments[id]
	if e == nil {
		return notFoundID("enrollment", id)
	}
	if method == http.MethodDelete {
		delete(f.enrollments, id)
		return emptyOK()
	}
	return ok(map[string]any{"data": f.enrollmentJSON(e), "meta": map[string]any{}})
}

// refresh gives the enrollment a new token, JWT and expiry and answers
// with an empty body, as the controller does (the spec promises an id).
func (f *Controller) refresh(id string, body []byte) reply {
	e := f.enrollments[id]
	if e == nil {
		return notFound() // as recorded: no cause here
	}
	exp, bad := f.parseExpiry(body, true)
	if bad != nil {
		return *bad
	}
	e.token = newUUID()
	e.expiresAt = exp
	e.jwt = f.issueJWT(e.identityID, e.token, e.method, exp)
	return ok(map[string]any{"data": map[string]any{}, "meta": map[string]any{}})
}

// reEnroll reverts one authenticator to an enrollment of its kind (a updb
// one to a updb enrollment, a certificate to an ott), as recorded: that
// authenticator and the API sessions that logged in with it end; the
// identity's other authenticators keep working. While the identity has an
// outstanding ott, any re-enroll is refused with ENROLLMENT_EXISTS.
func (f *Controller) reEnroll(id string, body []byte) reply {
	a := f.authenticators[id]
	if a == nil {
		return notFoundID("authenticator", id)
	}
	exp, bad := f.parseExpiry(body, false)
	if bad != nil {
		return *bad
	}
	method := "ott"
	if a.method == "updb" {
		method = "updb"
	}
	if f.enrollmentOf(a.identityID, "ott") != nil {
		return enrollmentExists("ott")
	}
	if f.enrollmentOf(a.identityID, method) != nil {
		return enrollmentExists(method)
	}
	f.dropAuthenticator(id)
	e := f.newEnrollmentOf(a.identityID, method, f.newID(""), exp)
	return created(e.id, "enrollments")
}

func enrollmentExists(method string) reply {
	return apiErr(http.StatusConflict, "ENROLLMENT_EXISTS", "ENROLLMENT_EXISTS",
		map[string]any{"field": "method", "reason": "enrollment of same method exists", "value": method})
}

// zeroStamp is how a real controller writes an enrollment's times.
const zeroStamp = "0001-01-01T00:00:00.000Z"

// cacerts is the EST CA bundle: base64 PKCS#7 certs-only.
// It holds the intermediate and the root, not the server certificate, in
// 64-character lines without a final newline, as recorded.
func (f *Controller) cacerts() []byte {
	b64 := base64.StdEncoding.EncodeToString(PKCS7CertsOnly(f.t, f.Intermediate, f.CA))
	var lines []string
	for len(b64) > 64 {
		lines = append(lines, b64[:64])
		b64 = b64[64:]
	}
	return []byte(strings.Join(append(lines, b64), "\n"))
}

// filterableFields are the symbols each list takes, as recorded
// (meta.filterableFields of v2.0.3): no expiresAt or method on
// enrollments, no authenticators or hasApiSession on identities.
var filterableFields = map[string][]string{
	"identities":     {"authPolicyId", "createdAt", "externalId", "id", "isAdmin", "isDefaultAdmin", "isSystem", "name", "roleAttributes", "tags", "type", "updatedAt"},
	"enrollments":    {"caId", "createdAt", "edgeRouter", "id", "identity", "isSystem", "tags", "token", "transitRouter", "updatedAt"},
	"authenticators": {"certFingerprint", "certPem", "createdAt", "extendRequestedAt", "id", "identity", "isExtendRequested", "isIssuedByNetwork", "isKeyRollRequested", "isSystem", "lastAuthResolvedToRoot", "lastExtendRolledKeys", "method", "publicKeyPrint", "tags", "updatedAt", "updbPassword", "updbSalt", "updbUsername"},
	"api-sessions":   {"authenticator", "createdAt", "id", "identity", "improperClientCertChain", "ipAddress", "isSystem", "lastActivityAt", "mfaComplete", "mfaRequired", "tags", "token", "updatedAt"},
	"revocations":    {"createdAt", "expiresAt", "id", "isSystem", "issuedBefore", "tags", "type", "updatedAt"},
}

// unknownSymbol is the first symbol of e that known refuses, or "".
func unknownSymbol(e Expr, known func(string) bool) string {
	switch x := e.(type) {
	case And:
		return cmp.Or(unknownSymbol(x.L, known), unknownSymbol(x.R, known))
	case Or:
		return cmp.Or(unknownSymbol(x.L, known), unknownSymbol(x.R, known))
	case Not:
		return unknownSymbol(x.X, known)
	case Cmp:
		if !known(x.Field) {
			return x.Field
		}
	}
	return ""
}

// sortKeys reads the sort parameter: "name asc, createdAt desc".
func sortKeys(param string) []SortKey {
	var out []SortKey
	for _, part := range strings.Split(param, ",") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		out = append(out, SortKey{Field: f[0], Desc: len(f) > 1 && strings.EqualFold(f[1], "desc")})
	}
	return out
}
