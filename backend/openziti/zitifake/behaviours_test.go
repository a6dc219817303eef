package zitifake

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// One test per behaviour listed in the recordings' README
// (../shared/openziti/real-v2.0.3/README.md, "Behaviour the spec and
// earlier notes don't tell you"), named after its note. Each sets up the
// recorded situation on the fake and checks the answers the real
// controller gave, written out here from the recordings. Notes 10 and 11
// are TestPagingEdgesAsRecorded and TestUnknownSymbolsAsRecorded, which
// replay the recorded requests; note 18 is also checked from the client's
// side in backend/openziti (TestRealCABundleIsAChain and its neighbours).

// mgmt makes one management API call as the fake's admin and returns the
// status and the decoded body (nil when it is not JSON).
func mgmt(t *testing.T, f *Controller, token, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, f.URL+apiPath+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("zt-session", token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out
}

// dig walks a decoded JSON value by keys (and list indexes as "0", "1").
func dig(v any, keys ...string) any {
	for _, k := range keys {
		switch x := v.(type) {
		case map[string]any:
			v = x[k]
		case []any:
			i := 0
			for _, c := range k {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func str(v any, keys ...string) string {
	s, _ := dig(v, keys...).(string)
	return s
}

// errorIs checks an error answer against the recorded status, code and
// cause (want's keys only; "" means the key must be absent).
func errorIs(t *testing.T, what string, status int, body map[string]any, wantStatus int, code string, cause map[string]string) {
	t.Helper()
	if status != wantStatus || str(body, "error", "code") != code {
		t.Errorf("%s: HTTP %d %q, recorded %d %q", what, status, str(body, "error", "code"), wantStatus, code)
		return
	}
	c, _ := dig(body, "error", "cause").(map[string]any)
	if cause == nil {
		if c != nil {
			t.Errorf("%s: a cause %v, recorded none", what, c)
		}
		return
	}
	for k, want := range cause {
		got, has := c[k]
		switch {
		case want == "" && has:
			t.Errorf("%s: cause.%s is %v, recorded absent", what, k, got)
		case want != "" && !strings.Contains(strings.ToLower(str(c, k)), strings.ToLower(want)):
			t.Errorf("%s: cause.%s is %q, recorded %q", what, k, str(c, k), want)
		}
	}
}

func future(f *Controller, d time.Duration) string {
	return f.Now().Add(d).UTC().Format("2006-01-02T15:04:05.000Z")
}

// newOTTIdentity creates an identity as `ziti edge create identity` does
// and returns its id.
func newOTTIdentity(t *testing.T, f *Controller, tok, name string) string {
	t.Helper()
	st, b := mgmt(t, f, tok, "POST", "/identities", map[string]any{"name": name, "type": "Default", "isAdmin": false, "enrollment": map[string]any{"ott": true}})
	if st != http.StatusCreated {
		t.Fatalf("create %s: HTTP %d %v", name, st, b)
	}
	return str(b, "data", "id")
}

func identityJSON(t *testing.T, f *Controller, tok, id string) map[string]any {
	t.Helper()
	st, b := mgmt(t, f, tok, "GET", "/identities/"+id, nil)
	if st != http.StatusOK {
		t.Fatalf("GET identity %s: HTTP %d", id, st)
	}
	m, _ := b["data"].(map[string]any)
	return m
}

func authenticatorsOf(t *testing.T, f *Controller, tok, id string) []map[string]any {
	t.Helper()
	st, b := mgmt(t, f, tok, "GET", `/authenticators?filter=identity="`+id+`"`, nil)
	if st != http.StatusOK {
		t.Fatalf("authenticators of %s: HTTP %d", id, st)
	}
	var out []map[string]any
	list, _ := b["data"].([]any)
	for _, x := range list {
		out = append(out, x.(map[string]any))
	}
	return out
}

// enrolledDevice makes an identity with a token and enrolls a device with
// it, returning the identity id and the device.
func enrolledDevice(t *testing.T, f *Controller, tok, name string) (string, *Device) {
	t.Helper()
	id := newOTTIdentity(t, f, tok, name)
	d, err := f.EnrollWithJWT(str(identityJSON(t, f, tok, id), "enrollment", "ott", "jwt"))
	if err != nil {
		t.Fatal(err)
	}
	return id, d
}

func certAuthenticatorOf(t *testing.T, f *Controller, tok, id string, d *Device) map[string]any {
	t.Helper()
	leaf, err := x509.ParseCertificate(d.Cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range authenticatorsOf(t, f, tok, id) {
		if a["method"] == "cert" && a["fingerprint"] == certFingerprint(leaf.Raw) {
			return a
		}
	}
	t.Fatalf("no cert authenticator of %s with the device's fingerprint", id)
	return nil
}

const zeroTime = "0001-01-01T00:00:00.000Z"

func TestNote1EnrollmentsHaveZeroTimestamps(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id := newOTTIdentity(t, f, tok, "fx-create-ott")
	_, b := mgmt(t, f, tok, "GET", `/enrollments?filter=identity="`+id+`"`, nil)
	eid := str(b, "data", "0", "id")
	if eid == "" {
		t.Fatalf("no enrollment listed: %v", b)
	}
	_, one := mgmt(t, f, tok, "GET", "/enrollments/"+eid, nil)
	_, sub := mgmt(t, f, tok, "GET", "/identities/"+id+"/enrollments", nil)
	for what, rec := range map[string]any{"/enrollments": dig(b, "data", "0"), "/enrollments/{id}": one["data"], "/identities/{id}/enrollments": dig(sub, "data", "0")} {
		for _, k := range []string{"createdAt", "updatedAt"} {
			if got := str(rec, k); got != zeroTime {
				t.Errorf("%s: %s is %q, recorded %q", what, k, got, zeroTime)
			}
		}
	}
	ott, _ := dig(identityJSON(t, f, tok, id), "enrollment", "ott").(map[string]any)
	for _, k := range []string{"createdAt", "updatedAt"} {
		if _, has := ott[k]; has {
			t.Errorf("identityDetail.enrollment.ott has %s; the controller gives no times there", k)
		}
	}
}

func TestNote2WhatMovesUpdatedAt(t *testing.T) {
	f := Start(t, At(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)))
	tok := f.adminToken(t)
	id, d := enrolledDevice(t, f, tok, "fx-updated")
	before := str(identityJSON(t, f, tok, id), "updatedAt")
	certBefore := str(certAuthenticatorOf(t, f, tok, id, d), "updatedAt")
	f.Advance(time.Minute)
	if _, st := d.Login(); st != http.StatusOK {
		t.Fatalf("cert login: HTTP %d", st)
	}
	st, b := mgmt(t, f, tok, "POST", "/enrollments", map[string]any{"method": "ott", "identityId": id, "expiresAt": future(f, time.Hour)})
	if st != http.StatusCreated {
		t.Fatalf("POST /enrollments: HTTP %d %v", st, b)
	}
	eid := str(b, "data", "id")
	f.Advance(time.Minute)
	mgmt(t, f, tok, "POST", "/enrollments/"+eid+"/refresh", map[string]any{"expiresAt": future(f, 2*time.Hour)})
	mgmt(t, f, tok, "DELETE", "/enrollments/"+eid, nil)
	if after := str(identityJSON(t, f, tok, id), "updatedAt"); after != before {
		t.Errorf("the identity's updatedAt moved from %s to %s on a login and enrollment changes; recorded: it doesn't", before, after)
	}
	if certAfter := str(certAuthenticatorOf(t, f, tok, id, d), "updatedAt"); certAfter == certBefore {
		t.Errorf("the cert authenticator's updatedAt stayed %s through a cert login; recorded: it moves on every login", certBefore)
	}
}

func TestNote3ManyAuthenticatorsOneShown(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id, _ := enrolledDevice(t, f, tok, "fx-two-certs")
	if _, err := f.EnrollWithJWT(f.AddToken(id, f.Now().Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	st, b := mgmt(t, f, tok, "POST", "/authenticators", map[string]any{"method": "updb", "identityId": id, "username": "fx-two-certs", "password": "Fx-pass-12345!"})
	if st != http.StatusCreated {
		t.Fatalf("POST /authenticators updb: HTTP %d %v", st, b)
	}
	methods := map[string]int{}
	for _, a := range authenticatorsOf(t, f, tok, id) {
		methods[a["method"].(string)]++
	}
	if methods["cert"] != 2 || methods["updb"] != 1 {
		t.Errorf("/authenticators?filter=identity lists %v, recorded 2 cert and 1 updb", methods)
	}
	shown, _ := identityJSON(t, f, tok, id)["authenticators"].(map[string]any)
	if len(shown) != 2 || dig(shown, "cert", "fingerprint") == nil || dig(shown, "updb", "username") == nil {
		t.Errorf("identityDetail.authenticators is %v; recorded one cert (with its fingerprint) and one updb (with its username)", shown)
	}
}

func TestNote4ReEnrollActsOnOneAuthenticator(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id, d1 := enrolledDevice(t, f, tok, "fx-partial-multi")
	d2, err := f.EnrollWithJWT(f.AddToken(id, f.Now().Add(time.Hour)))
	if err != nil {
		t.Fatal(err)
	}
	mgmt(t, f, tok, "POST", "/authenticators", map[string]any{"method": "updb", "identityId": id, "username": "fx-partial-multi", "password": "Fx-pass-12345!"})
	s1, _ := d1.Login()
	a1 := certAuthenticatorOf(t, f, tok, id, d1)
	st, b := mgmt(t, f, tok, "POST", "/authenticators/"+a1["id"].(string)+"/re-enroll", map[string]any{"expiresAt": future(f, 48*time.Hour)})
	if st != http.StatusCreated || str(b, "data", "id") == "" {
		t.Fatalf("re-enroll: HTTP %d %v, recorded 201 with the new enrollment's id", st, b)
	}
	if f.SessionWorks(s1) {
		t.Error("the re-enrolled authenticator's session still answers; recorded 401")
	}
	if _, st := d1.Login(); st != http.StatusUnauthorized {
		t.Errorf("the re-enrolled certificate logs in: HTTP %d, recorded 401", st)
	}
	if _, st := d2.Login(); st != http.StatusOK {
		t.Errorf("the other certificate: HTTP %d, recorded 200 (it keeps working)", st)
	}
	if _, st := f.PasswordLogin("fx-partial-multi", "Fx-pass-12345!"); st != http.StatusOK {
		t.Errorf("the password: HTTP %d, recorded 200 (it keeps working)", st)
	}

	// Re-enrolling a updb authenticator makes a updb enrollment.
	st, b = mgmt(t, f, tok, "POST", "/identities", map[string]any{"name": "fx-partial-updb-admin", "type": "Default", "isAdmin": true})
	if st != http.StatusCreated {
		t.Fatalf("create: HTTP %d", st)
	}
	uid := str(b, "data", "id")
	_, b = mgmt(t, f, tok, "POST", "/authenticators", map[string]any{"method": "updb", "identityId": uid, "username": "fx-partial-updb-admin", "password": "Fx-pass-12345!"})
	st, _ = mgmt(t, f, tok, "POST", "/authenticators/"+str(b, "data", "id")+"/re-enroll", map[string]any{"expiresAt": future(f, 48*time.Hour)})
	_, e := mgmt(t, f, tok, "GET", `/enrollments?filter=identity="`+uid+`"`, nil)
	if st != http.StatusCreated || str(e, "data", "0", "method") != "updb" {
		t.Errorf("re-enroll of a updb authenticator: HTTP %d, enrollment method %q; recorded 201 and updb", st, str(e, "data", "0", "method"))
	}
}

func TestNote5ATokenBesideACredential(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id, d := enrolledDevice(t, f, tok, "fx-cert-and-ott")
	st, _ := mgmt(t, f, tok, "POST", "/enrollments", map[string]any{"method": "ott", "identityId": id, "expiresAt": future(f, time.Hour)})
	if st != http.StatusCreated {
		t.Fatalf("POST /enrollments ott on an enrolled identity: HTTP %d, recorded 201", st)
	}
	x := identityJSON(t, f, tok, id)
	if dig(x, "authenticators", "cert") == nil || dig(x, "enrollment", "ott") == nil {
		t.Errorf("identityDetail shows authenticators %v and enrollment %v; recorded both a cert and an ott", x["authenticators"], x["enrollment"])
	}
	if _, st := d.Login(); st != http.StatusOK {
		t.Errorf("the certificate beside the token: HTTP %d, recorded 200", st)
	}
	exists := map[string]string{"field": "method", "reason": "enrollment of same method exists", "value": "ott"}
	st, b := mgmt(t, f, tok, "POST", "/enrollments", map[string]any{"method": "ott", "identityId": id, "expiresAt": future(f, time.Hour)})
	errorIs(t, "a second ott", st, b, http.StatusConflict, "ENROLLMENT_EXISTS", exists)
	if got := str(b, "error", "message"); got != "ENROLLMENT_EXISTS" {
		t.Errorf("a second ott: message %q, recorded %q", got, "ENROLLMENT_EXISTS")
	}
	a := certAuthenticatorOf(t, f, tok, id, d)
	st, b = mgmt(t, f, tok, "POST", "/authenticators/"+a["id"].(string)+"/re-enroll", map[string]any{"expiresAt": future(f, 48*time.Hour)})
	errorIs(t, "re-enroll while an ott exists", st, b, http.StatusConflict, "ENROLLMENT_EXISTS", exists)
}

func TestNote6RefreshAnswersEmpty(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id := newOTTIdentity(t, f, tok, "fx-refresh")
	old, _ := dig(identityJSON(t, f, tok, id), "enrollment", "ott").(map[string]any)
	eid := str(old, "id")
	st, b := mgmt(t, f, tok, "POST", "/enrollments/"+eid+"/refresh", map[string]any{"expiresAt": future(f, 400*24*time.Hour)})
	raw, _ := json.Marshal(b)
	if st != http.StatusOK || string(raw) != `{"data":{},"meta":{}}` {
		t.Fatalf("refresh 400 days ahead: HTTP %d %s, recorded 200 {\"data\":{},\"meta\":{}}", st, raw)
	}
	_, e := mgmt(t, f, tok, "GET", "/enrollments/"+eid, nil)
	if str(e, "data", "id") != eid || str(e, "data", "token") == str(old, "token") || str(e, "data", "jwt") == str(old, "jwt") {
		t.Errorf("after refresh: id %q token %q (was %q); recorded the same id with a new token and jwt", str(e, "data", "id"), str(e, "data", "token"), str(old, "token"))
	}
	if _, err := f.EnrollWithJWT(str(old, "jwt")); err == nil || !strings.Contains(err.Error(), "INVALID_ENROLLMENT_TOKEN") {
		t.Errorf("enrolling with the old token: %v; recorded 400 INVALID_ENROLLMENT_TOKEN", err)
	}
}

func TestNote7PastExpiryRefusedPerEndpoint(t *testing.T) {
	f := Start(t, OffSpecRequests())
	tok := f.adminToken(t)
	id, d := enrolledDevice(t, f, tok, "fx-errors")
	fresh := newOTTIdentity(t, f, tok, "fx-errors-2")
	eid := str(identityJSON(t, f, tok, fresh), "enrollment", "ott", "id")
	past := f.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04:05.000Z")
	unhandled := map[string]string{"code": "UNHANDLED", "message": "expiresAt must be in the future", "field": ""}

	st, b := mgmt(t, f, tok, "POST", "/enrollments/"+eid+"/refresh", map[string]any{"expiresAt": past})
	errorIs(t, "refresh to the past", st, b, http.StatusBadRequest, "COULD_NOT_VALIDATE", map[string]string{"field": "expiresAt", "reason": "must be after the current date and time"})
	st, b = mgmt(t, f, tok, "POST", "/enrollments", map[string]any{"method": "ott", "identityId": id, "expiresAt": past})
	errorIs(t, "POST /enrollments in the past", st, b, http.StatusBadRequest, "INVALID_FIELD", unhandled)
	a := certAuthenticatorOf(t, f, tok, id, d)
	st, b = mgmt(t, f, tok, "POST", "/authenticators/"+a["id"].(string)+"/re-enroll", map[string]any{"expiresAt": past})
	errorIs(t, "re-enroll in the past", st, b, http.StatusBadRequest, "INVALID_FIELD", unhandled)
	st, b = mgmt(t, f, tok, "POST", "/enrollments/"+eid+"/refresh", "")
	errorIs(t, "refresh without expiresAt", st, b, http.StatusBadRequest, "COULD_NOT_VALIDATE", map[string]string{"field": "expiresAt", "reason": "required"})
	st, b = mgmt(t, f, tok, "POST", "/enrollments/"+eid+"/refresh", map[string]any{"expiresAt": "tomorrow"})
	errorIs(t, "refresh to a non-date", st, b, http.StatusBadRequest, "COULD_NOT_PARSE_BODY", map[string]string{"code": "UNHANDLED"})
}

func TestNote8UnknownIdentityIsAnInvalidField(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	st, b := mgmt(t, f, tok, "POST", "/enrollments", map[string]any{"method": "ott", "identityId": "fx-no-such-id", "expiresAt": future(f, time.Hour)})
	errorIs(t, "POST /enrollments for an unknown identity", st, b, http.StatusBadRequest, "INVALID_FIELD", map[string]string{"code": "UNHANDLED", "message": "identity not found"})
	for _, c := range []struct{ method, path string }{
		{"GET", "/identities/fx-no-such-id"},
		{"POST", "/enrollments/fx-no-such-id/refresh"},
		{"DELETE", "/enrollments/fx-no-such-id"},
		{"POST", "/authenticators/fx-no-such-id/re-enroll"},
		{"DELETE", "/api-sessions/fx-no-such-id"},
	} {
		var body any
		if c.method == "POST" {
			body = map[string]any{"expiresAt": future(f, time.Hour)}
		}
		st, b := mgmt(t, f, tok, c.method, c.path, body)
		if st != http.StatusNotFound || str(b, "error", "code") != "NOT_FOUND" {
			t.Errorf("%s %s: HTTP %d %q, recorded 404 NOT_FOUND", c.method, c.path, st, str(b, "error", "code"))
		}
	}
}

func TestNote9ErrorShape(t *testing.T) {
	f := Start(t, OffSpecRequests())
	tok := f.adminToken(t)
	_, fieldCause := mgmt(t, f, tok, "POST", "/revocations", map[string]any{"id": f.AdminID(), "type": "BOGUS"})
	_, codeCause := mgmt(t, f, tok, "GET", "/identities/fx-no-such-id", nil)
	_, noCause := mgmt(t, f, "00000000-0000-4000-8000-000000000000", "GET", "/identities?limit=1", nil)
	_, noSession := mgmt(t, f, "", "GET", "/identities?limit=1", nil)
	for what, b := range map[string]map[string]any{"field cause": fieldCause, "code cause": codeCause, "no cause": noCause} {
		meta, _ := json.Marshal(b["meta"])
		if string(meta) != `{"apiEnrollmentVersion":"0.0.1","apiVersion":"0.0.1"}` {
			t.Errorf("%s: meta %s, recorded {\"apiEnrollmentVersion\":\"0.0.1\",\"apiVersion\":\"0.0.1\"}", what, meta)
		}
		e, _ := b["error"].(map[string]any)
		if _, has := e["causeMessage"]; has {
			t.Errorf("%s: the error has causeMessage; it never appeared in the recordings", what)
		}
		for _, k := range []string{"code", "message", "requestId"} {
			if _, has := e[k]; !has {
				t.Errorf("%s: the error has no %s; every recorded error has one", what, k)
			}
		}
	}
	if c, _ := dig(fieldCause, "error", "cause").(map[string]any); c["field"] != "type" || c["reason"] == nil || c["value"] != "BOGUS" {
		t.Errorf("a bad revocation type: cause %v, recorded {field, reason, value}", c)
	}
	if c, _ := dig(codeCause, "error", "cause").(map[string]any); c["code"] != "UNHANDLED" || c["message"] == nil {
		t.Errorf("an unknown identity: cause %v, recorded {code: UNHANDLED, message}", c)
	}
	if c := dig(noCause, "error", "cause"); c != nil {
		t.Errorf("a bad zt-session: cause %v, recorded none", c)
	}
	if c, _ := dig(noSession, "error", "cause").(map[string]any); c["code"] != "UNHANDLED" || c["message"] != "unauthenticated for invalid credentials" {
		t.Errorf("no zt-session: cause %v, recorded {code: UNHANDLED, message: unauthenticated for invalid credentials}", c)
	}
}

func TestNote12UnauthorizedAndBogusMethod(t *testing.T) {
	f := Start(t, OffSpecRequests())
	for what, tok := range map[string]string{"no zt-session": "", "a bad zt-session": "00000000-0000-4000-8000-000000000000"} {
		st, b := mgmt(t, f, tok, "GET", "/identities?limit=1", nil)
		if st != http.StatusUnauthorized || str(b, "error", "code") != "UNAUTHORIZED" {
			t.Errorf("%s: HTTP %d %q, recorded 401 UNAUTHORIZED", what, st, str(b, "error", "code"))
		}
	}
	st, b := mgmt(t, f, "", "POST", "/authenticate?method=bogus", map[string]any{})
	errorIs(t, "authenticate?method=bogus", st, b, 606, "COULD_NOT_VALIDATE", map[string]string{"field": "method", "value": "bogus"})
	st, b = mgmt(t, f, "", "POST", "/authenticate?method=password", map[string]any{"username": "admin"})
	errorIs(t, "a login without a password", st, b, http.StatusBadRequest, "COULD_NOT_VALIDATE", map[string]string{"code": "UNHANDLED", "message": "username and password fields are required"})
}

func TestNote13IDShapes(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	short := regexp.MustCompile(`^[0-9A-Za-z.]{8,10}$`)
	long := regexp.MustCompile(`^[0-9A-Za-z]{21,22}$`)
	cuid := regexp.MustCompile(`^c[0-9a-z]{24}$`)
	id, d := enrolledDevice(t, f, tok, "fx-ids")
	check := func(what, got string, re *regexp.Regexp) {
		t.Helper()
		if !re.MatchString(got) {
			t.Errorf("%s id %q doesn't have the recorded shape %s", what, got, re)
		}
	}
	check("identity", id, short)
	check("cert authenticator", certAuthenticatorOf(t, f, tok, id, d)["id"].(string), short)
	_, b := mgmt(t, f, tok, "POST", "/enrollments", map[string]any{"method": "ott", "identityId": id, "expiresAt": future(f, time.Hour)})
	check("POST /enrollments", str(b, "data", "id"), long)
	other := newOTTIdentity(t, f, tok, "fx-ids-2")
	check("an identity's own enrollment", str(identityJSON(t, f, tok, other), "enrollment", "ott", "id"), short)
	_, b = mgmt(t, f, tok, "POST", "/authenticators", map[string]any{"method": "updb", "identityId": other, "username": "fx-ids-2", "password": "Fx-pass-12345!"})
	check("updb authenticator", str(b, "data", "id"), long)
	d.Login()
	_, s := mgmt(t, f, tok, "GET", `/api-sessions?filter=identity="`+id+`"`, nil)
	check("api-session", str(s, "data", "0", "id"), cuid)
}

func TestNote14APISessions(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id, d := enrolledDevice(t, f, tok, "fx-sessions")
	st, out, err := f.clientCall(&d.Cert, "", http.MethodPost, "/authenticate?method=cert", nil)
	if err != nil || st != http.StatusOK {
		t.Fatalf("cert login: HTTP %d %v", st, err)
	}
	var login map[string]any
	_ = json.Unmarshal(out, &login)
	if n, _ := dig(login, "data", "expirationSeconds").(float64); n != 1800 || str(login, "data", "expiresAt") == "" {
		t.Errorf("the authenticate answer: expirationSeconds %v, expiresAt %q; recorded 1800 and a time", dig(login, "data", "expirationSeconds"), str(login, "data", "expiresAt"))
	}
	_, b := mgmt(t, f, tok, "GET", `/api-sessions?filter=identity="`+id+`"`, nil)
	rec, _ := dig(b, "data", "0").(map[string]any)
	if rec == nil {
		t.Fatal("no api-session listed")
	}
	for _, k := range []string{"expiresAt", "expirationSeconds"} {
		if _, has := rec[k]; has {
			t.Errorf("an /api-sessions record has %s; recorded: only the authenticate answer has it", k)
		}
	}
	st, b = mgmt(t, f, tok, "DELETE", "/api-sessions/"+rec["id"].(string), nil)
	raw, _ := json.Marshal(b)
	if st != http.StatusOK || string(raw) != `{"data":{},"meta":{}}` {
		t.Errorf("DELETE /api-sessions/{id}: HTTP %d %s, recorded 200 {\"data\":{},\"meta\":{}}", st, raw)
	}
	if st, _ = mgmt(t, f, tok, "DELETE", "/api-sessions/"+rec["id"].(string), nil); st != http.StatusNotFound {
		t.Errorf("DELETE it again: HTTP %d, recorded 404", st)
	}
}

func TestNote15RevocationsDontEndLegacySessions(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id, d := enrolledDevice(t, f, tok, "fx-revoke")
	sess, _ := d.Login()
	for i := range 2 {
		st, b := mgmt(t, f, tok, "POST", "/revocations", map[string]any{"id": id, "type": "IDENTITY"})
		if st != http.StatusCreated || str(b, "data", "id") != id {
			t.Errorf("revocation %d of the identity: HTTP %d %v, recorded 201 with the identity's id", i+1, st, b)
		}
	}
	_, b := mgmt(t, f, tok, "GET", `/revocations?filter=id="`+id+`"`, nil)
	exp, err := time.Parse(time.RFC3339, str(b, "data", "0", "expiresAt"))
	if err != nil || exp.Sub(f.Now()) < 23*time.Hour || exp.Sub(f.Now()) > 25*time.Hour {
		t.Errorf("the listed revocation expires %q; recorded now + 24 h", str(b, "data", "0", "expiresAt"))
	}
	if !f.SessionWorks(sess) {
		t.Error("the cert session ended after the revocation; recorded: it still answered 200")
	}
	if _, st := d.Login(); st != http.StatusOK {
		t.Errorf("a new cert login after the revocation: HTTP %d, recorded 200", st)
	}
	st, b := mgmt(t, f, tok, "POST", "/revocations", map[string]any{"id": "no-such-identity", "type": "IDENTITY"})
	if st != http.StatusNotFound {
		t.Errorf("revoking an unknown identity: HTTP %d, recorded 404", st)
	}
	_, s := mgmt(t, f, tok, "GET", `/api-sessions?filter=identity="`+id+`"`, nil)
	st, b = mgmt(t, f, tok, "POST", "/revocations", map[string]any{"id": str(s, "data", "0", "id"), "type": "API_SESSION"})
	errorIs(t, "API_SESSION with a legacy session id", st, b, http.StatusBadRequest, "COULD_NOT_VALIDATE", map[string]string{"field": "id", "reason": "must be a valid UUID v4"})
}

func TestNote16CreateUsesTheConfiguredDuration(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id := newOTTIdentity(t, f, tok, "fx-duration")
	_, e := mgmt(t, f, tok, "GET", `/enrollments?filter=identity="`+id+`"`, nil)
	exp, err := time.Parse(time.RFC3339, str(e, "data", "0", "expiresAt"))
	if d := exp.Sub(f.Now()); err != nil || d < 179*time.Minute || d > 181*time.Minute {
		t.Errorf("POST /identities with ott: the token expires %q, %v ahead; recorded the configured 180 minutes", str(e, "data", "0", "expiresAt"), exp.Sub(f.Now()))
	}
	want := f.Now().Add(36 * time.Hour).UTC().Truncate(time.Millisecond)
	st, b := mgmt(t, f, tok, "POST", "/identities", map[string]any{"name": "fx-create-then-enroll", "type": "Default", "isAdmin": false})
	if st != http.StatusCreated {
		t.Fatalf("create: HTTP %d", st)
	}
	other := str(b, "data", "id")
	mgmt(t, f, tok, "POST", "/enrollments", map[string]any{"method": "ott", "identityId": other, "expiresAt": want.Format("2006-01-02T15:04:05.000Z")})
	_, e = mgmt(t, f, tok, "GET", `/enrollments?filter=identity="`+other+`"`, nil)
	if got, _ := time.Parse(time.RFC3339, str(e, "data", "0", "expiresAt")); !got.Equal(want) {
		t.Errorf("POST /enrollments with expiresAt %s: the token expires %s; recorded: honoured", want, got)
	}
}

func TestNote17UpdbEnrollment(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	st, b := mgmt(t, f, tok, "POST", "/identities", map[string]any{"name": "fx-updb", "type": "Default", "isAdmin": false, "enrollment": map[string]any{"updb": "fx-updb-user"}})
	if st != http.StatusCreated {
		t.Fatalf("create with updb: HTTP %d %v", st, b)
	}
	u, _ := dig(identityJSON(t, f, tok, str(b, "data", "id")), "enrollment", "updb").(map[string]any)
	for _, k := range []string{"id", "jwt", "token", "expiresAt"} {
		if _, has := u[k]; !has {
			t.Errorf("identityDetail.enrollment.updb has no %s: %v", k, u)
		}
	}
	if _, has := u["username"]; has {
		t.Errorf("identityDetail.enrollment.updb has a username; recorded: it doesn't")
	}
	parts := strings.Split(str(u, "jwt"), ".")
	if len(parts) != 3 {
		t.Fatalf("the updb jwt %q is not a JWT", str(u, "jwt"))
	}
	raw, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims struct{ Em string }
	if json.Unmarshal(raw, &claims) != nil || claims.Em != "updb" {
		t.Errorf("the updb JWT's em is %q, recorded \"updb\"", claims.Em)
	}
}

func TestNote18CACertsAreIntermediateAndRoot(t *testing.T) {
	f := Start(t)
	certs := f.cacertsChain(t)
	if len(certs) != 2 {
		t.Fatalf("est/cacerts holds %d certificates, recorded 2 (intermediate, root)", len(certs))
	}
	inter, root := certs[0], certs[1]
	if !bytes.Equal(root.RawSubject, root.RawIssuer) || root.CheckSignatureFrom(root) != nil {
		t.Error("the second certificate is not a self-signed root")
	}
	if bytes.Equal(inter.RawSubject, inter.RawIssuer) || inter.CheckSignatureFrom(root) != nil || !inter.IsCA {
		t.Error("the first certificate is not an intermediate CA signed by the root")
	}
	server := f.srv.Certificate()
	for _, c := range certs {
		if c.Equal(server) {
			t.Error("est/cacerts holds the server certificate; recorded: it doesn't")
		}
	}
	if server.CheckSignatureFrom(inter) != nil {
		t.Error("the server certificate is not issued by the intermediate")
	}
}

func TestNote19HasAPISession(t *testing.T) {
	f := Start(t)
	tok := f.adminToken(t)
	id, d := enrolledDevice(t, f, tok, "fx-has-session")
	has := func() any { return identityJSON(t, f, tok, id)["hasApiSession"] }
	if got := has(); got != false {
		t.Errorf("before a login: hasApiSession %v, recorded false", got)
	}
	d.Login()
	if got := has(); got != true {
		t.Errorf("after a cert login: hasApiSession %v, recorded true", got)
	}
	a := certAuthenticatorOf(t, f, tok, id, d)
	mgmt(t, f, tok, "POST", "/authenticators/"+a["id"].(string)+"/re-enroll", map[string]any{"expiresAt": future(f, 48*time.Hour)})
	if got := has(); got != false {
		t.Errorf("after the re-enroll removed its only session: hasApiSession %v, recorded false", got)
	}
}

// cacertsChain fetches /.well-known/est/cacerts and decodes its PKCS#7
// bundle with pem/x509 the way a client would (base64 DER, certificates
// found by parsing every DER certificate in the SignedData).
func (f *Controller) cacertsChain(t *testing.T) []*x509.Certificate {
	t.Helper()
	resp, err := f.srv.Client().Get(f.URL + "/.well-known/est/cacerts")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	der, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\n", ""))
	if err != nil {
		t.Fatalf("est/cacerts is not base64: %v", err)
	}
	certs, err := certsInPKCS7(der)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

// certsInPKCS7 reads the certificates of a degenerate PKCS#7 SignedData
// (RFC 2315: ContentInfo{type, [0] SignedData{version, digestAlgorithms,
// contentInfo, [0] IMPLICIT certificates, ...}}) with encoding/asn1 alone.
func certsInPKCS7(der []byte) ([]*x509.Certificate, error) {
	var ci struct {
		Type    asn1.ObjectIdentifier
		Content asn1.RawValue `asn1:"explicit,tag:0"`
	}
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return nil, err
	}
	var sd struct {
		Version      int
		Digests      asn1.RawValue
		ContentInfo  asn1.RawValue
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		Rest         asn1.RawValue `asn1:"optional"`
	}
	if _, err := asn1.Unmarshal(ci.Content.Bytes, &sd); err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for rest := sd.Certificates.Bytes; len(rest) > 0; {
		var raw asn1.RawValue
		var err error
		if rest, err = asn1.Unmarshal(rest, &raw); err != nil {
			return nil, err
		}
		c, err := x509.ParseCertificate(raw.FullBytes)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}
