package zitifake

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"time"
)

// A list request's cost, made like a real controller's: the fake keeps
// each large list (identities, enrollments, authenticators) as records
// sorted by id, and each order a request asked for, until its state
// changes, so that a page costs about the page rather than the whole
// list (before, every request built, filtered and sorted every record:
// at 100,000 identities the fake, not the client, was what figure 8 of
// make bench measured). Keyset pages (`id > "X" sort by id asc`) start by
// binary search, `id in [...]` looks its ids up, and the matches of a
// filter are kept for the next page of it. On top, ModelLatency adds what
// the real controller was measured to take per request
// (testdata/latency-v2.0.3.json).

// perfState is the fake's indexes and latency model (in Controller).
type perfState struct {
	indexes map[string]*listIndex
	gen     uint64 // counts the requests that may have changed something
	model   *Latency
	slots   chan struct{} // requests the modelled controller serves at once
	busy    atomic.Int32  // requests being served now
	noIndex bool          // answer lists without the index (the test's oracle)
}

// stateKey changes whenever the records a list shows may have: every
// record made takes a new id (seq), every deletion shrinks a map, every
// write stamps the clock, every non-GET request bumps gen.
type stateKey struct {
	seq, ids, enrollments, authenticators, sessions int
	last                                            time.Time
	gen                                             uint64
}

func (f *Controller) stateKey() stateKey {
	return stateKey{f.seq, len(f.identities), len(f.enrollments), len(f.authenticators), len(f.apiSessions), f.last, f.perf.gen}
}

// listIndex is one list's records at one state.
type listIndex struct {
	key    stateKey
	byID   []record
	pos    map[string]int
	sorted map[string][]record // sort keys → byID in that order (ties by id)
	memo   map[string][]record // filter and sort → the matches, in order
}

// indexed returns the index of a list, building it if the state moved
// (caller holds mu).
func (f *Controller) indexed(kind string, build func() []record) *listIndex {
	k := f.stateKey()
	if ix := f.perf.indexes[kind]; ix != nil && ix.key == k {
		return ix
	}
	recs := build()
	sort.Slice(recs, func(i, j int) bool { return symID(recs[i]) < symID(recs[j]) })
	ix := &listIndex{key: k, byID: recs, pos: make(map[string]int, len(recs)), sorted: map[string][]record{}, memo: map[string][]record{}}
	for i, r := range recs {
		ix.pos[symID(r)] = i
	}
	if f.perf.indexes == nil {
		f.perf.indexes = map[string]*listIndex{}
	}
	f.perf.indexes[kind] = ix
	return ix
}

func symID(r record) string { s, _ := r.sym["id"].(string); return s }

func byIDAsc(sorts []SortKey) bool {
	return len(sorts) == 1 && sorts[0].Field == "id" && !sorts[0].Desc
}

// sortedBy is the list in the order of sorts.
func (ix *listIndex) sortedBy(sorts []SortKey) []record {
	if byIDAsc(sorts) {
		return ix.byID
	}
	key := fmt.Sprint(sorts)
	if s, ok := ix.sorted[key]; ok {
		return s
	}
	s := slices.Clone(ix.byID)
	sortRecords(s, sorts)
	ix.sorted[key] = s
	return s
}

// conjuncts splits the top-level ANDs of a filter.
func conjuncts(e Expr) []Expr {
	if a, ok := e.(And); ok {
		return append(conjuncts(a.L), conjuncts(a.R)...)
	}
	if e == nil {
		return nil
	}
	return []Expr{e}
}

// match is the records of the list matching q, in the order of sorts: what
// matchAll would give, read from the index.
func (ix *listIndex) match(q *Query, sorts []SortKey) ([]record, error) {
	key := fmt.Sprintf("%#v|%v", q.Where, sorts)
	if m, ok := ix.memo[key]; ok {
		return m, nil
	}
	var cands []record
	ordered, narrowed := false, false
	var rest []Expr
	for _, c := range conjuncts(q.Where) {
		cmp, ok := c.(Cmp)
		if !ok || cmp.Field != "id" || narrowed {
			rest = append(rest, c)
			continue
		}
		switch lit, isStr := cmp.Value.(string); {
		case cmp.Op == "in":
			vals, _ := cmp.Value.([]any)
			var found []record
			all := true
			for _, v := range vals {
				s, isS := v.(string)
				if !isS {
					all = false
					break
				}
				if i, ok := ix.pos[s]; ok && !slices.ContainsFunc(found, func(r record) bool { return symID(r) == s }) {
					found = append(found, ix.byID[i])
				}
			}
			if !all {
				rest = append(rest, c)
				continue
			}
			cands, narrowed = found, true
		case isStr && (cmp.Op == ">" || cmp.Op == ">=") && byIDAsc(sorts):
			start := sort.Search(len(ix.byID), func(i int) bool {
				if cmp.Op == ">" {
					return symID(ix.byID[i]) > lit
				}
				return symID(ix.byID[i]) >= lit
			})
			cands, narrowed, ordered = ix.byID[start:], true, true
		default:
			rest = append(rest, c)
		}
	}
	if !narrowed {
		cands, ordered = ix.sortedBy(sorts), true
	}
	match := cands
	if len(rest) > 0 {
		match = nil
		for _, r := range cands {
			keep := true
			for _, e := range rest {
				ok, err := evalExpr(e, r.lookup)
				if err != nil {
					return nil, err
				}
				if !ok {
					keep = false
					break
				}
			}
			if keep {
				match = append(match, r)
			}
		}
	}
	if !ordered {
		match = slices.Clone(match)
		sortRecords(match, sorts)
	}
	if len(ix.memo) > 64 {
		clear(ix.memo)
	}
	ix.memo[key] = match
	return match, nil
}

// lookup reads a filter symbol of the record.
func (r record) lookup(s string) (any, bool) {
	if tag, isTag := strings.CutPrefix(s, "tags."); isTag {
		tags, has := r.sym["tags"].(map[string]any)
		return tags[tag], has // a missing tag is null
	}
	v, ok := r.sym[s]
	return v, ok
}

// matchAll is match without an index: every record tried, then sorted.
func matchAll(recs []record, q *Query, sorts []SortKey) ([]record, error) {
	var match []record
	for _, rec := range recs {
		ok, err := q.Eval(rec.lookup)
		if err != nil {
			return nil, err
		}
		if ok {
			match = append(match, rec)
		}
	}
	sortRecords(match, sorts)
	return match, nil
}

//go:embed testdata/latency-v2.0.3.json
var recordedLatency []byte

// Latency is what a real controller was measured to take per request
// (bench -record-latency writes it): the median of each kind of request,
// one at a time, and how much more it answered with several in flight.
type Latency struct {
	Note           string                    `json:"note"`
	Controller     string                    `json:"controller"`
	Recorded       string                    `json:"recorded"`
	Machine        string                    `json:"machine"`
	Load           string                    `json:"load"`
	Identities     int                       `json:"identities"`
	Enrollments    int                       `json:"enrollments"`
	Authenticators int                       `json:"authenticators"`
	Requests       map[string]LatencyRequest `json:"requests"`
	// InFlight requests at once were answered Speedup times as fast as
	// one at a time.
	InFlight int     `json:"inFlight"`
	Speedup  float64 `json:"speedup"`
}

// LatencyRequest is one kind of request's measured cost.
type LatencyRequest struct {
	Request  string  `json:"request"`
	Rows     int     `json:"rows"`
	Samples  int     `json:"samples"`
	MedianMS float64 `json:"medianMs"`
	P90MS    float64 `json:"p90Ms"`
	Bytes    int     `json:"bytes"`
}

// RecordedLatency is the cost recorded from the lab's v2.0.3 controller
// (testdata/latency-v2.0.3.json).
func RecordedLatency() Latency {
	var l Latency
	if err := json.Unmarshal(recordedLatency, &l); err != nil {
		panic("zitifake: testdata/latency-v2.0.3.json: " + err.Error())
	}
	return l
}

func (l Latency) ms(kind string) float64 { return l.Requests[kind].MedianMS }

// Cost is what the modelled controller takes to answer a request to the
// list or record at path (after /edge/management/v1) that returns rows
// records: a list's count request's cost (limit=1, one row) plus, per row
// after the first, the 500-row page's extra cost over it (for identities
// read by `id in [...]`, the 200-id request's); a record by id costs a count request;
// writes and other paths cost nothing modelled (they were not measured).
func (l Latency) Cost(method, path, filter string, rows int) time.Duration {
	seg := strings.Split(strings.Trim(path, "/"), "/")
	kind := seg[0]
	if method != http.MethodGet || (kind != "identities" && kind != "enrollments" && kind != "authenticators") || len(seg) > 2 {
		return 0
	}
	base := l.ms(kind + "-1")
	if len(seg) == 2 {
		return msDuration(base)
	}
	perRow := (l.ms(kind+"-500") - base) / 499
	if kind == "identities" && strings.Contains(filter, " in [") {
		perRow = (l.ms("identities-in-200") - base) / 199
	}
	return msDuration(base + max(0, perRow)*float64(max(0, rows-1)))
}

func msDuration(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }

// ModelLatency makes the fake answer as slowly as l says the real
// controller did: each management request waits its Cost, stretched when
// several are under way as the controller shares its cores among them
// (l's InFlight at once answered Speedup times as many a second as one at
// a time: n ≤ InFlight requests under way each take Cost × max(1,
// n/Speedup)); more than InFlight wait their turn.
func ModelLatency(l Latency) Option {
	return func(o *options) { o.latency = &l }
}

// modelDelay waits what the modelled controller takes for the answer.
func (f *Controller) modelDelay(r *http.Request, rep reply) {
	m := f.perf.model
	if m == nil {
		return
	}
	rows := 0
	if body, ok := rep.body.(map[string]any); ok {
		if data, ok := body["data"].([]any); ok {
			rows = len(data)
		}
	}
	d := m.Cost(r.Method, strings.TrimPrefix(r.URL.Path, apiPath), r.URL.Query().Get("filter"), rows)
	if d <= 0 {
		return
	}
	f.perf.slots <- struct{}{}
	n := f.perf.busy.Add(1)
	time.Sleep(stretched(d, int(n), m.Speedup))
	f.perf.busy.Add(-1)
	<-f.perf.slots
}

// stretched is a request's cost with n under way on a controller that
// answers speedup times as fast with several.
func stretched(d time.Duration, n int, speedup float64) time.Duration {
	if speedup < 1 {
		speedup = 1
	}
	return time.Duration(float64(d) * max(1, float64(n)/speedup))
}

func slotsFor(l *Latency) chan struct{} {
	return make(chan struct{}, max(1, l.InFlight))
}
