package openziti

import (
	"cmp"
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// A controller can't filter identities by enrollment state: /identities
// has no enrollment or authenticator symbol, and /enrollments can't filter
// on expiresAt or method (meta.filterableFields, recorded from v2.0.3). So
// a state filter reads the two lists that hold the facts a state is made
// of, once for all identities, into a state map:
//
//   - GET /enrollments and GET /authenticators, side by side, 500 a page, keyset-paged
//     by id (filter `id > "LAST" sort by id asc`, so the controller's
//     offset cap of 100,000 doesn't apply): identity ID → its outstanding
//     enrollments (method, id, expiry), whether it holds a certificate or
//     password authenticator, and its name (each record names its
//     identity).
//
// The state of each identity in the map is then derived by the model's
// own rule (stateFacts, model.Identity.State) at the moment of the query,
// so that tokens expire on time whatever the map's age. Identities not in
// the map hold nothing: their state is none.
//
// The map is kept for stateTTL and reused while the two lists' totals are
// unchanged (two limit=1 requests); any change this client makes drops it
// (Client.call). A change another tool makes that leaves both totals as
// they were (a refresh, say) shows after stateTTL at the latest.
//
// A page is then answered as follows (N identities, S of the state asked,
// T matching the text, P the page's position):
//
//   - pending, expired or enrolled, no text, by name or expiry: the map
//     sorts S (names and expiries are in it), the page's IDs are read with
//     `id in [...]`: one request for a page of up to idsPerRequest. Total
//     is exact. No identity is read that isn't on the page.
//   - none, or any state by creation: the identities are read in the
//     controller's order (name or createdAt), 500 a page, and those in the
//     state kept until the page is full: ~(P+limit)/density/500 requests,
//     cheap for a dense state (none is often a large part) and for early
//     pages. Total is exact: |S| from the map, for none N − |map|.
//   - Quick (the console's queries), no text, by name or creation, while
//     no fresh map is kept: the identities are read in that order, 500 a
//     request, each record holding its enrollment and authenticators, and
//     those in the state kept until the page is full (at most
//     quickScanReads requests, else the map as above). The page comes at
//     once (at 100,000 identities and the real controller's speed, one
//     request of 140 ms for pending's first page where the map takes
//     seconds); Total is the identities in the state seen, with Counting
//     set, and the map is read behind it, on its own deadline, for the
//     exact count the next query (the console's, without Quick) waits for.
//   - with text: every identity matching the text and in the state is
//     read, by the cheaper of: the text-matching identities, 500 a page
//     (T/500 requests), or S's IDs with the text, `id in [...] and (text)`,
//     idsPerRequest a request (S/idsPerRequest; not for none, whose IDs
//     the map doesn't hold); then sorted here. Total is exact.

// stateTTL is how long a state map is reused (while the totals agree).
const stateTTL = 5 * time.Second

// idsPerRequest bounds the IDs in one `id in [...]` filter: about 4 KiB of
// request line, under common proxies' 8 KiB limit.
const idsPerRequest = 200

// stateEntry is what the map holds of one identity: its name and the facts
// of its record that decide its state.
type stateEntry struct {
	name string
	w    identityWire // Enrollment and Authenticators only
}

// stateMap is every identity that holds an enrollment or a credential.
type stateMap struct {
	byID        map[string]*stateEntry
	enrollments int64 // the lists' totals when it was read
	authentics  int64
	readAt      time.Time // wall clock, for the TTL
}

// stateCache holds the client's state map; gen counts invalidations, so a
// map read while the client changed something isn't kept.
type stateCache struct {
	mu      sync.Mutex
	m       *stateMap
	gen     uint64
	ttl     time.Duration // stateTTL unless a test says otherwise
	reading *stateRead    // the read of the lists under way, if any
}

// stateRead is one read of the lists, which every query that needs the
// map waits for (one read at a time). It runs on its own deadline, not
// the query's: a query that gives up (the admin typed on) leaves the read
// to finish for the next one.
type stateRead struct {
	done chan struct{}
	m    *stateMap
	err  error
	stop context.CancelFunc
}

// stateReadLimit bounds a read of the lists that no query waits for any
// more (at least the client's timeout).
const stateReadLimit = 2 * time.Minute

// invalidate drops the map (after a change this client made).
func (s *stateCache) invalidate() {
	s.mu.Lock()
	s.m = nil
	s.gen++
	s.mu.Unlock()
}

// abort stops a read under way (the client is closing).
func (s *stateCache) abort() {
	s.mu.Lock()
	if s.reading != nil {
		s.reading.stop()
	}
	s.mu.Unlock()
}

// stateFacts is what of an identity's record decides its state
// (model.Identity.State): whether identityDetail names a certificate or
// password authenticator, and its current enrollment.
func (w *identityWire) stateFacts() (hasCredential bool, enrollment *model.Enrollment) {
	if e := w.current(); e != nil {
		enrollment = &model.Enrollment{ID: e.ID, ExpiresAt: e.ExpiresAt.Time}
	}
	return w.authenticatorID() != "", enrollment
}

// stateAt is the identity's state at now, by the model's rule.
func (w *identityWire) stateAt(now time.Time) model.State {
	var id model.Identity
	id.HasCredential, id.Enrollment = w.stateFacts()
	return id.State(now)
}

// stateRecord is what the map reads of an enrollment or authenticator.
type stateRecord struct {
	ID         string `json:"id"`
	Method     string `json:"method"`
	IdentityID string `json:"identityId"`
	Identity   struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"identity"`
	ExpiresAt zTime `json:"expiresAt"`
}

// newStateMap waits for a read of the lists, starting one if none is
// under way.
func (c *Client) newStateMap(ctx context.Context) (*stateMap, error) {
	r := c.readStates(ctx)
	select {
	case <-r.done:
		return r.m, r.err
	case <-ctx.Done():
		return nil, classifyTransport(ctx, ctx.Err(), c.timeout)
	}
}

// freshStateMap is the map kept, if it is young and the lists' totals
// are still those it was read at; nil otherwise.
func (c *Client) freshStateMap(ctx context.Context) (*stateMap, error) {
	s := &c.states
	s.mu.Lock()
	m, ttl := s.m, s.ttl
	s.mu.Unlock()
	if ttl == 0 {
		ttl = stateTTL
	}
	if m == nil || time.Since(m.readAt) >= ttl {
		return nil, nil
	}
	e, a, err := c.stateTotals(ctx)
	if err != nil {
		return nil, err
	}
	if e == m.enrollments && a == m.authentics {
		return m, nil
	}
	return nil, nil
}

// readStates is the read of the lists under way, started if none is.
func (c *Client) readStates(ctx context.Context) *stateRead {
	s := &c.states
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.reading != nil {
		return s.reading
	}
	rctx, stop := context.WithTimeout(context.WithoutCancel(ctx), max(c.timeout, stateReadLimit))
	r := &stateRead{done: make(chan struct{}), stop: stop}
	s.reading = r
	gen := s.gen
	go func() {
		defer stop()
		m, err := c.readStateMap(rctx)
		if err == nil {
			// Its age counts from when the read ended: a read that takes
			// longer than the TTL (a large network, a slow controller)
			// must still serve the next page.
			m.readAt = time.Now()
		}
		s.mu.Lock()
		if err == nil && s.gen == gen {
			s.m = m
		}
		s.reading = nil
		s.mu.Unlock()
		r.m, r.err = m, err
		close(r.done)
	}()
	return r
}

// stateTotals is how many enrollments and authenticators there are.
func (c *Client) stateTotals(ctx context.Context) (enrollments, authenticators int64, err error) {
	for _, p := range []struct {
		path string
		n    *int64
	}{{"/enrollments", &enrollments}, {"/authenticators", &authenticators}} {
		var page listEnvelope[struct{}]
		if err := c.call(ctx, http.MethodGet, p.path, url.Values{"limit": {"1"}}, nil, &page); err != nil {
			return 0, 0, err
		}
		*p.n = page.Meta.Pagination.TotalCount
	}
	return enrollments, authenticators, nil
}

// readStateMap reads every enrollment and authenticator.
func (c *Client) readStateMap(ctx context.Context) (*stateMap, error) {
	m := &stateMap{byID: map[string]*stateEntry{}}
	entry := func(r *stateRecord) *stateEntry {
		id := cmp.Or(r.IdentityID, r.Identity.ID)
		e := m.byID[id]
		if e == nil {
			e = &stateEntry{}
			e.w.ID = id
			m.byID[id] = e
		}
		if r.Identity.Name != "" {
			e.name = r.Identity.Name
		}
		return e
	}
	// The two lists are read at once (two requests under way): the
	// controller answers them side by side faster than one after the
	// other (recorded: ×1.52 with several in flight), and the map waits
	// for the slower rather than for both.
	var mu sync.Mutex // guards m while both are read
	var enrErr, authErr, first error
	// The first to fail stops the other, and is what is reported.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	failed := func(err error) {
		if err != nil {
			mu.Lock()
			if first == nil {
				first = err
			}
			mu.Unlock()
			stop()
		}
	}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer func() { failed(enrErr) }()
		m.enrollments, enrErr = c.eachByID(ctx, "/enrollments", func(r *stateRecord) {
			mu.Lock()
			defer mu.Unlock()
			e := entry(r)
			// identityDetail names one enrollment of each method; of
			// several (which a controller refuses to make), the first by id.
			ew := &enrollmentWire{ID: r.ID, ExpiresAt: r.ExpiresAt}
			slot := map[string]**enrollmentWire{"ott": &e.w.Enrollment.OTT, "ottca": &e.w.Enrollment.OTTCA, "updb": &e.w.Enrollment.UPDB}[r.Method]
			if slot != nil && *slot == nil {
				*slot = ew
			}
		})
	}()
	go func() {
		defer wg.Done()
		defer func() { failed(authErr) }()
		m.authentics, authErr = c.eachByID(ctx, "/authenticators", func(r *stateRecord) {
			mu.Lock()
			defer mu.Unlock()
			e := entry(r)
			switch r.Method {
			case "cert":
				if e.w.Authenticators.Cert == nil {
					e.w.Authenticators.Cert = &struct {
						ID          string `json:"id"`
						Fingerprint string `json:"fingerprint"`
					}{ID: r.ID}
				}
			case "updb":
				if e.w.Authenticators.UPDB == nil {
					e.w.Authenticators.UPDB = &struct {
						ID       string `json:"id"`
						Username string `json:"username"`
					}{ID: r.ID}
				}
			}
		})
	}()
	wg.Wait()
	if first != nil {
		return nil, first
	}
	// Only enrollments and authenticators of kinds identityDetail names
	// make a state: an identity with others alone holds nothing.
	for id, e := range m.byID {
		if e.w.current() == nil && e.w.authenticatorID() == "" {
			delete(m.byID, id)
		}
	}
	return m, nil
}

// eachByID reads every record at path, 500 a page in id order, paging by
// the last id seen; it returns the total the first page gave.
func (c *Client) eachByID(ctx context.Context, path string, fn func(*stateRecord)) (int64, error) {
	var total int64
	last := ""
	for first := true; ; first = false {
		f := "sort by id asc"
		if !first {
			lit, err := quoteZitiQL(last)
			if err != nil {
				return 0, err
			}
			f = "id > " + lit + " " + f
		}
		var page listEnvelope[stateRecord]
		q := url.Values{"filter": {f}, "limit": {strconv.Itoa(model.MaxPageSize)}}
		if err := c.call(ctx, http.MethodGet, path, q, nil, &page); err != nil {
			return 0, err
		}
		if first {
			total = page.Meta.Pagination.TotalCount
		}
		for i := range page.Data {
			if page.Data[i].ID <= last && !first {
				return 0, backend.Unavailable("the controller's %s pages came out of order (%q after %q): try again", path, page.Data[i].ID, last)
			}
			fn(&page.Data[i])
			last = page.Data[i].ID
		}
		if len(page.Data) < model.MaxPageSize {
			return total, nil
		}
	}
}

// stateFilter answers a listing by state (see the comment at the top).
func (c *Client) stateFilter(ctx context.Context, q model.ListQuery) (model.Page, error) {
	m, err := c.freshStateMap(ctx)
	if err != nil {
		return model.Page{}, err
	}
	if m == nil && q.Quick && q.Filter == "" && q.Sort != model.SortExpires {
		page, ok, err := c.quickStatePage(ctx, q)
		if err != nil || ok {
			return page, err
		}
	}
	if m == nil { // freshStateMap has just asked for the totals: no need again
		if m, err = c.newStateMap(ctx); err != nil {
			return model.Page{}, err
		}
	}
	now := c.now()
	var set []*stateEntry // the map's identities in the state
	if q.State != model.StateNone {
		for _, e := range m.byID {
			if e.w.stateAt(now) == q.State {
				set = append(set, e)
			}
		}
	}
	switch {
	case q.Filter != "":
		return c.stateWithText(ctx, q, set)
	case q.State == model.StateNone || q.Sort == model.SortCreated:
		total := len(set)
		n, err := c.identityCount(ctx)
		if err != nil {
			return model.Page{}, err
		}
		if q.State == model.StateNone {
			total = max(0, n-len(m.byID))
		}
		return c.stateScan(ctx, q, total, n)
	}
	sortEntries(set, q)
	var ids []string
	if q.Offset < len(set) {
		for _, e := range set[q.Offset:min(len(set), q.Offset+q.Limit)] {
			ids = append(ids, e.w.ID)
		}
	}
	ws, err := c.identitiesByID(ctx, ids, "")
	if err != nil {
		return model.Page{}, err
	}
	byID := make(map[string]*identityWire, len(ws))
	for _, w := range ws {
		byID[w.ID] = w
	}
	page := make([]*identityWire, 0, len(ids))
	for _, id := range ids {
		// An identity deleted, or changed by another tool, since the map
		// was read is left out of the page rather than shown in a state
		// it isn't in.
		if w := byID[id]; w != nil && w.stateAt(now) == q.State {
			page = append(page, w)
		}
	}
	items, err := c.models(ctx, page)
	if err != nil {
		return model.Page{}, err
	}
	return model.Page{Total: len(set), Items: items}, nil
}

// quickScanReads bounds the requests a Quick state page reads the
// identities with before it waits for the map instead: 2,000 identities,
// about 0.6 s at the real controller's speed (zitifake/testdata).
const quickScanReads = 4

// quickStatePage answers a Quick state page, by name or creation, without
// the state map: the identities are read in that order (each record
// holds the enrollment and authenticators its state is made of) until the
// page is full, and the map is read behind it for the exact count. Total
// is then the identities in the state seen so far, and Counting says so;
// where the scan reached the last identity it is exact. ok is false when
// quickScanReads requests didn't fill the page (a sparse state, a late
// page): the map is then the cheaper way.
func (c *Client) quickStatePage(ctx context.Context, q model.ListQuery) (page model.Page, ok bool, err error) {
	ws, seen, ended, err := c.scanState(ctx, q, model.MaxPageSize, quickScanReads)
	if err != nil || (!ended && len(ws) < q.Limit) {
		return model.Page{}, false, err
	}
	items, err := c.models(ctx, ws)
	if err != nil {
		return model.Page{}, false, err
	}
	if !ended {
		c.readStates(ctx) // for the exact count, which the next query waits for
	}
	return model.Page{Total: seen, Items: items, Counting: !ended}, true, nil
}

// sortEntries orders the map's identities by the query's sort: name (then
// id), or expiry as compareExpiry does, identities without a token last,
// ties by name ascending.
func sortEntries(set []*stateEntry, q model.ListQuery) {
	byName := func(a, b *stateEntry) int {
		return cmp.Or(cmp.Compare(a.name, b.name), cmp.Compare(a.w.ID, b.w.ID))
	}
	if q.Sort == model.SortExpires {
		slices.SortFunc(set, func(a, b *stateEntry) int {
			return cmp.Or(compareExpiry(a.w.current(), b.w.current(), q.Desc), byName(a, b))
		})
		return
	}
	slices.SortFunc(set, func(a, b *stateEntry) int {
		if q.Desc {
			return byName(b, a)
		}
		return byName(a, b)
	})
}

// identityCount is how many identities the controller lists.
func (c *Client) identityCount(ctx context.Context) (int, error) {
	page, err := c.listIdentities(ctx, "", 0, 1)
	if err != nil {
		return 0, err
	}
	return int(page.Meta.Pagination.TotalCount), nil
}

// identitiesByID reads the identities with these IDs (and matching the
// text filter f, if any), idsPerRequest a request.
func (c *Client) identitiesByID(ctx context.Context, ids []string, f string) ([]*identityWire, error) {
	var out []*identityWire
	for len(ids) > 0 {
		chunk := ids[:min(idsPerRequest, len(ids))]
		ids = ids[len(chunk):]
		lits := make([]string, len(chunk))
		for i, id := range chunk {
			lit, err := quoteZitiQL(id)
			if err != nil {
				return nil, err
			}
			lits[i] = lit
		}
		filter := "id in [" + joinComma(lits) + "]"
		if f != "" {
			filter += " and " + f
		}
		page, err := c.listIdentities(ctx, filter, 0, model.MaxPageSize)
		if err != nil {
			return nil, err
		}
		for i := range page.Data {
			out = append(out, &page.Data[i])
		}
	}
	return out, nil
}

func joinComma(s []string) string {
	n := 0
	for _, x := range s {
		n += len(x) + 2
	}
	b := make([]byte, 0, n)
	for i, x := range s {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = append(b, x...)
	}
	return string(b)
}

// stateScan reads the identities in the controller's order and keeps
// those in the state until the page is full; total is already known, of n
// identities. The first request asks for about as many identities as
// should hold the page at the state's density (total/n), with a margin:
// a controller's answer costs in proportion to its rows (recorded:
// zitifake/testdata/latency-v2.0.3.json), so a page of 50 none at 20 %
// reads 320 rather than 500; the requests after it take 500.
func (c *Client) stateScan(ctx context.Context, q model.ListQuery, total, n int) (model.Page, error) {
	if q.Offset >= total {
		return model.Page{Total: total, Items: []model.Identity{}}, nil
	}
	page, seen, _, err := c.scanState(ctx, q, firstScanLimit(q.Offset+q.Limit, total, n), 0)
	if err != nil {
		return model.Page{}, err
	}
	items, err := c.models(ctx, page)
	if err != nil {
		return model.Page{}, err
	}
	return model.Page{Total: max(total, seen), Items: items}, nil
}

// scanState reads the identities in the query's order (name or
// creation; by expiry, none's, by name) from the first, limit the first
// request and 500 the next, keeping those in q.State on the page until
// it is full or reads requests were made (0: no bound). seen is how many
// in the state it passed, all of those it read; ended, that it read the
// last identity.
func (c *Client) scanState(ctx context.Context, q model.ListQuery, limit, reads int) (page []*identityWire, seen int, ended bool, err error) {
	sort, desc := q.Sort, q.Desc
	if sort == model.SortExpires { // none holds no token: by name, as compareExpiry leaves ties
		sort, desc = model.SortName, false
	}
	f, err := identityFilter("", sort, desc)
	if err != nil {
		return nil, 0, false, err
	}
	now := c.now()
	for offset, n := 0, 0; len(page) < q.Limit; offset, limit = offset+limit, model.MaxPageSize {
		if reads > 0 && n == reads {
			return page, seen, false, nil
		}
		n++
		if offset > maxOffset {
			return nil, 0, false, backend.Invalid("this page lies past the controller's offset limit of %d identities: filter by text, or sort by name", maxOffset)
		}
		list, err := c.listIdentities(ctx, f, offset, limit)
		if err != nil {
			return nil, 0, false, err
		}
		for i := range list.Data {
			w := &list.Data[i]
			if w.stateAt(now) != q.State {
				continue
			}
			if seen >= q.Offset && len(page) < q.Limit {
				page = append(page, w)
			}
			seen++
		}
		if len(list.Data) < limit {
			return page, seen, true, nil
		}
		if seen >= q.Offset+q.Limit {
			break
		}
	}
	return page, seen, false, nil
}

// firstScanLimit is how many identities stateScan first asks for to pass
// want of the state's total among n: want at the density, a quarter more
// and 20 over, between 50 and a full page.
func firstScanLimit(want, total, n int) int {
	if total <= 0 || n <= 0 || total >= n {
		return min(model.MaxPageSize, max(50, want+20))
	}
	guess := want*n/total + want*n/total/4 + 20
	return min(model.MaxPageSize, max(50, guess))
}

// stateWithText answers a state and a text filter: it reads every
// identity that matches both, by the cheaper way (see the top), and
// sorts them here.
func (c *Client) stateWithText(ctx context.Context, q model.ListQuery, set []*stateEntry) (model.Page, error) {
	// The match alone: the controller can't sort by expiry, so
	// identityFilter adds no order for it.
	text, err := identityFilter(q.Filter, model.SortExpires, false)
	if err != nil {
		return model.Page{}, err
	}
	now := c.now()
	var all []*identityWire
	keep := func(w *identityWire) {
		if w.stateAt(now) == q.State {
			all = append(all, w)
		}
	}
	first, err := c.listIdentities(ctx, text+" sort by id asc", 0, model.MaxPageSize)
	if err != nil {
		return model.Page{}, err
	}
	matching := int(first.Meta.Pagination.TotalCount)
	pagesOfText := (matching + model.MaxPageSize - 1) / model.MaxPageSize
	pagesOfSet := (len(set) + idsPerRequest - 1) / idsPerRequest
	if q.State != model.StateNone && pagesOfSet < pagesOfText {
		ids := make([]string, len(set))
		for i, e := range set {
			ids[i] = e.w.ID
		}
		ws, err := c.identitiesByID(ctx, ids, text)
		if err != nil {
			return model.Page{}, err
		}
		for _, w := range ws {
			keep(w)
		}
	} else {
		for i := range first.Data {
			keep(&first.Data[i])
		}
		last := ""
		if n := len(first.Data); n > 0 {
			last = first.Data[n-1].ID
		}
		for n := len(first.Data); n == model.MaxPageSize; {
			lit, err := quoteZitiQL(last)
			if err != nil {
				return model.Page{}, err
			}
			list, err := c.listIdentities(ctx, text+" and id > "+lit+" sort by id asc", 0, model.MaxPageSize)
			if err != nil {
				return model.Page{}, err
			}
			for i := range list.Data {
				keep(&list.Data[i])
			}
			if n = len(list.Data); n > 0 {
				last = list.Data[n-1].ID
			}
		}
	}
	expiry := func(w *identityWire) *enrollmentWire { return w.current() }
	slices.SortFunc(all, func(a, b *identityWire) int {
		name := cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
		switch q.Sort {
		case model.SortExpires:
			return cmp.Or(compareExpiry(expiry(a), expiry(b), q.Desc), name)
		case model.SortCreated:
			r := cmp.Or(a.CreatedAt.Compare(b.CreatedAt.Time), cmp.Compare(a.ID, b.ID))
			if q.Desc {
				r = -r
			}
			return r
		}
		if q.Desc {
			return -name
		}
		return name
	})
	var ws []*identityWire
	if q.Offset < len(all) {
		ws = all[q.Offset:min(len(all), q.Offset+q.Limit)]
	}
	items, err := c.models(ctx, ws)
	if err != nil {
		return model.Page{}, err
	}
	return model.Page{Total: len(all), Items: items}, nil
}
