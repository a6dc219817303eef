package zitifake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// recording is one exchange of ../shared/openziti/real-v2.0.3.
type recording struct {
	Request struct {
		Method, Path string
	} `json:"request"`
	Response struct {
		Status int             `json:"status"`
		Body   json.RawMessage `json:"body"`
	} `json:"response"`
	Note string `json:"note"`
}

func recordings(t *testing.T, file string) []recording {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "..", "shared", "openziti", "real-v2.0.3", file))
	if err != nil {
		t.Skipf("no recordings: %v", err)
	}
	var out []recording
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// README note 10: limit and offset are clamped, not refused. Each recorded
// paging edge is sent to the fake (with as many identities as the
// recording's totalCount) and must get the recorded status and pagination.
func TestPagingEdgesAsRecorded(t *testing.T) {
	f := Start(t, At(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)))
	for i := range 16 {
		f.CreateIdentity("fx-"+string(rune('a'+i)), "", time.Time{})
	}
	token := f.adminToken(t)
	n := 0
	for _, rec := range recordings(t, "06-errors.json") {
		p := rec.Request.Path
		if rec.Request.Method != http.MethodGet || rec.Response.Status != http.StatusOK || !strings.Contains(p, "/identities?") ||
			!(strings.Contains(p, "limit=") || strings.Contains(p, "offset=")) {
			continue
		}
		n++
		var want struct {
			Meta struct{ Pagination map[string]int64 } `json:"meta"`
		}
		if err := json.Unmarshal(rec.Response.Body, &want); err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, f.URL+p, nil)
		req.Header.Set("zt-session", token)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got struct {
			Meta struct{ Pagination map[string]int64 } `json:"meta"`
		}
		_ = json.Unmarshal(body, &got)
		u, _ := url.QueryUnescape(p)
		if resp.StatusCode != rec.Response.Status {
			t.Errorf("%s (%s): HTTP %d, recorded %d", u, rec.Note, resp.StatusCode, rec.Response.Status)
			continue
		}
		for _, k := range []string{"limit", "offset", "totalCount"} {
			if got.Meta.Pagination[k] != want.Meta.Pagination[k] {
				t.Errorf("%s (%s): %s %d, recorded %d", u, rec.Note, k, got.Meta.Pagination[k], want.Meta.Pagination[k])
			}
		}
	}
	if n < 5 {
		t.Fatalf("only %d paging exchanges found in the recording", n)
	}
}

// adminToken logs in as the admin, as a client would.
func (f *Controller) adminToken(t *testing.T) string {
	t.Helper()
	body := strings.NewReader(`{"username":"` + f.Username + `","password":"` + f.Password + `"}`)
	resp, err := f.srv.Client().Post(f.URL+apiPath+"/authenticate?method=password", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var s struct {
		Data struct{ Token string } `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&s); err != nil || s.Data.Token == "" {
		t.Fatalf("login: %v", err)
	}
	return s.Data.Token
}

// README note 11: a filter on a symbol the controller doesn't know
// (hasApiSession is computed, not stored) and a sort on one are refused,
// with the recorded codes and causes; every list answer names its
// filterable fields.
func TestUnknownSymbolsAsRecorded(t *testing.T) {
	f := Start(t, At(time.Date(2031, 3, 14, 15, 9, 26, 0, time.UTC)))
	token := f.adminToken(t)
	n := 0
	for _, rec := range recordings(t, "06-errors.json") {
		p := rec.Request.Path
		if rec.Response.Status != http.StatusBadRequest || !(strings.Contains(p, "?filter=nosuch") || strings.Contains(p, "?filter=hasApiSession") || strings.Contains(p, "sort=nosuch")) {
			continue
		}
		n++
		req, _ := http.NewRequest(rec.Request.Method, f.URL+rec.Request.Path, nil)
		req.Header.Set("zt-session", token)
		resp, err := f.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		var got, want struct {
			Error struct {
				Code  string
				Cause struct{ Code, Message string }
			}
		}
		_ = json.Unmarshal(body, &got)
		_ = json.Unmarshal(rec.Response.Body, &want)
		if resp.StatusCode != rec.Response.Status || got.Error.Code != want.Error.Code || got.Error.Cause != want.Error.Cause {
			t.Errorf("%s (%s): HTTP %d %+v, recorded %d %+v", rec.Request.Path, rec.Note, resp.StatusCode, got.Error, rec.Response.Status, want.Error)
		}
	}
	if n < 3 {
		t.Fatalf("only %d unknown-symbol exchanges found", n)
	}
	req, _ := http.NewRequest(http.MethodGet, f.URL+apiPath+"/enrollments", nil)
	req.Header.Set("zt-session", token)
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var page struct {
		Meta struct{ FilterableFields []string } `json:"meta"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&page)
	if !slices.Contains(page.Meta.FilterableFields, "identity") || slices.Contains(page.Meta.FilterableFields, "expiresAt") {
		t.Errorf("enrollments' filterableFields %v, want the recorded ones (identity, no expiresAt)", page.Meta.FilterableFields)
	}
}
