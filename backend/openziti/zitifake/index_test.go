package zitifake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"testing"
	"time"
)

var requestID = regexp.MustCompile(`"requestId":"[^"]*"`)

// The index answers every list request exactly as trying every record
// does (the fake as it was), before and after changes of each kind.
func TestIndexAnswersAsTheFullScan(t *testing.T) {
	epoch := time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)
	f := Start(t, At(epoch))
	specs := make([]Seeded, 300)
	for i := range specs {
		specs[i] = Seeded{Name: fmt.Sprintf("dev-%03d", (i*7)%300)}
		switch i % 4 {
		case 0:
			specs[i].ExpiresAt = epoch.Add(time.Hour)
		case 1:
			specs[i].ExpiresAt = epoch.Add(-time.Hour)
		case 2:
			specs[i].Certs = 1 // (of several made at once, which one identityDetail names is left to chance, as on a real controller)
		}
	}
	ids := f.Seed(specs)
	f.mu.Lock()
	a := f.passwordAuthenticator([]byte(`{"username":"admin","password":"admin-password"}`))
	sess := f.login(a)
	f.mu.Unlock()
	get := func(path, filter string, extra url.Values) string {
		q := url.Values{"limit": {"500"}}
		for k, v := range extra {
			q[k] = v
		}
		if filter != "" {
			q.Set("filter", filter)
		}
		r := httptest.NewRequest(http.MethodGet, apiPath+path+"?"+q.Encode(), nil)
		r.Header.Set("zt-session", sess.token)
		rep := f.handle(r, nil)
		b, err := json.Marshal(rep.body)
		if err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%d %s", rep.status, requestID.ReplaceAll(b, nil))
	}
	check := func(when string) {
		t.Helper()
		mid := ids[150]
		for _, c := range []struct{ path, filter string }{
			{"/identities", ""}, {"/identities", "sort by name asc, id asc"}, {"/identities", "sort by name desc"},
			{"/identities", `name contains "dev-1" sort by createdAt desc`}, {"/identities", fmt.Sprintf(`id > %q sort by id asc`, mid)},
			{"/identities", fmt.Sprintf(`id in [%q, %q, "nope"]`, ids[3], ids[77])}, {"/identities", fmt.Sprintf(`id in [%q, %q] and name contains "dev"`, ids[9], ids[12])},
			{"/identities", fmt.Sprintf(`name contains "dev" and id > %q sort by id asc`, mid)}, {"/identities", fmt.Sprintf(`id >= %q sort by id asc`, mid)},
			{"/enrollments", "sort by id asc"}, {"/enrollments", fmt.Sprintf(`id > %q sort by id asc`, mid)},
			{"/authenticators", "sort by id asc"}, {"/authenticators", fmt.Sprintf(`identity in [%q, %q]`, ids[2], ids[6])},
			{"/identities", "bad filter ("},
		} {
			for _, extra := range []url.Values{nil, {"offset": {"40"}, "limit": {"25"}}, {"limit": {"1"}}} {
				f.perf.noIndex = true
				want := get(c.path, c.filter, extra)
				f.perf.noIndex = false
				if got := get(c.path, c.filter, extra); got != want {
					at := 0
					for at < min(len(got), len(want)) && got[at] == want[at] {
						at++
					}
					t.Errorf("%s: GET %s %q %v: the index answered\n…%.300s\nthe full scan\n…%.300s", when, c.path, c.filter, extra, got[max(0, at-100):], want[max(0, at-100):])
				}
			}
		}
	}
	check("as seeded")
	// A warm index, then changes of every kind: it must not answer from
	// before them.
	_ = get("/identities", "sort by name asc, id asc", nil)
	f.Enroll(ids[0])
	f.CreateIdentity("dev-new", "", epoch.Add(time.Hour))
	f.AddAPISessions(ids[2], 2)
	r := httptest.NewRequest(http.MethodDelete, apiPath+"/identities/"+ids[4], nil)
	r.Header.Set("zt-session", sess.token)
	if rep := f.handle(r, nil); rep.status != http.StatusOK {
		t.Fatalf("delete: %d", rep.status)
	}
	check("after changes")
}
