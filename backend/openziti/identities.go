package openziti

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// DefaultPageSize is the page size of a listing that asks for none.
const DefaultPageSize = 50

// maxScan bounds how many identities a listing that the controller can't
// filter or sort (by enrollment state, by expiry) reads to answer: it reads
// the text-filtered identities in pages of model.MaxPageSize and filters or
// sorts them here. Past this many, it asks the admin to narrow the text.
const maxScan = 10000

// Unsortable lists the sorts a controller can't serve: Identities refuses
// them with backend.SortUnsupported.
var Unsortable = []model.SortField{model.SortSessions}

// maxOffset is the largest offset the controller accepts.
const maxOffset = 100000

// zTime reads the controller's date-times, tolerating null and "".
type zTime struct{ time.Time }

func (t *zTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if s == nil || *s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := time.Parse(time.RFC3339Nano, *s)
	if err != nil {
		return err
	}
	t.Time = v.UTC()
	return nil
}

// enrollmentWire is one outstanding enrollment as an identity shows it.
type enrollmentWire struct {
	ID        string `json:"id"`
	Token     string `json:"token"`
	JWT       string `json:"jwt"`
	ExpiresAt zTime  `json:"expiresAt"`
}

// identityWire is the part of the controller's identityDetail idcon reads.
type identityWire struct {
	ID             string          `json:"id"`
	Name           string          `json:"name"`
	CreatedAt      zTime           `json:"createdAt"`
	UpdatedAt      zTime           `json:"updatedAt"`
	Tags           json.RawMessage `json:"tags"`
	RoleAttributes []string        `json:"roleAttributes"`
	HasAPISession  bool            `json:"hasApiSession"`
	Type           *entityRef      `json:"type"`
	AuthPolicy     *entityRef      `json:"authPolicy"`
	Enrollment     struct {
		OTT   *enrollmentWire `json:"ott"`
		OTTCA *enrollmentWire `json:"ottca"`
		UPDB  *enrollmentWire `json:"updb"`
	} `json:"enrollment"`
	Authenticators struct {
		Cert *struct {
			ID          string `json:"id"`
			Fingerprint string `json:"fingerprint"`
		} `json:"cert"`
		UPDB *struct {
			ID       string `json:"id"`
			Username string `json:"username"`
		} `json:"updb"`
	} `json:"authenticators"`
}

// entityRef is the controller's reference to another entity (an identity
// type, an auth policy): idcon shows its name.
type entityRef struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

func (r *entityRef) name() string {
	if r == nil {
		return ""
	}
	return r.Name
}

// current is the identity's outstanding enrollment: ott first (the one idcon
// issues), then ottca and updb (which other tools may have created).
func (w *identityWire) current() *enrollmentWire {
	for _, e := range []*enrollmentWire{w.Enrollment.OTT, w.Enrollment.OTTCA, w.Enrollment.UPDB} {
		if e != nil && e.ID != "" {
			return e
		}
	}
	return nil
}

// authenticatorID is the credential a reset reverts: the certificate, else
// the password.
func (w *identityWire) authenticatorID() string {
	if a := w.Authenticators.Cert; a != nil && a.ID != "" {
		return a.ID
	}
	if a := w.Authenticators.UPDB; a != nil && a.ID != "" {
		return a.ID
	}
	return ""
}

// email reads the email tag. Tags are free-form: anything but a string
// there is no email.
func (w *identityWire) email() string {
	var tags map[string]any
	if len(w.Tags) == 0 || json.Unmarshal(w.Tags, &tags) != nil {
		return ""
	}
	s, _ := tags[emailTag].(string)
	return s
}

// subRecord is what idcon reads of an enrollment, authenticator or API
// session record.
type subRecord struct {
	ID         string `json:"id"`
	Method     string `json:"method"`
	IdentityID string `json:"identityId"`
	Identity   struct {
		ID string `json:"id"`
	} `json:"identity"`
	CreatedAt zTime `json:"createdAt"`
	UpdatedAt zTime `json:"updatedAt"`
}

func (r *subRecord) identityID() string {
	if r.IdentityID != "" {
		return r.IdentityID
	}
	return r.Identity.ID
}

// related is what the identities' other records add to them: every
// authenticator of each identity (identityDetail names at most one per
// method, a real controller keeps several) and the number of API sessions
// of each.
type related struct {
	auths    map[string][]subRecord // identity ID → its authenticators
	sessions map[string]int         // identity ID → API sessions
}

// idChunk bounds how many identity IDs go into one "identity in [...]"
// filter, keeping request lines short.
const idChunk = 50

// related reads the authenticator and API session records of the given
// identities: one request of each kind per idChunk identities, and none of
// a kind that no identity's own record mentions.
func (c *Client) related(ctx context.Context, ws []*identityWire) (related, error) {
	r := related{auths: map[string][]subRecord{}, sessions: map[string]int{}}
	var enrolled, connected []string
	for _, w := range ws {
		if w.Authenticators.Cert != nil || w.Authenticators.UPDB != nil {
			enrolled = append(enrolled, w.ID)
		}
		if w.HasAPISession {
			connected = append(connected, w.ID)
		}
	}
	if err := c.eachRecord(ctx, "/authenticators", enrolled, func(rec *subRecord) {
		r.auths[rec.identityID()] = append(r.auths[rec.identityID()], *rec)
	}); err != nil {
		return r, err
	}
	err := c.eachRecord(ctx, "/api-sessions", connected, func(rec *subRecord) { r.sessions[rec.identityID()]++ })
	return r, err
}

// eachRecord lists the records at path that belong to the identities ids.
func (c *Client) eachRecord(ctx context.Context, path string, ids []string, fn func(*subRecord)) error {
	for len(ids) > 0 {
		chunk := ids[:min(idChunk, len(ids))]
		ids = ids[len(chunk):]
		f, err := identityInFilter(chunk)
		if err != nil {
			return err
		}
		for offset := 0; ; {
			var page listEnvelope[subRecord]
			q := url.Values{"filter": {f}, "limit": {strconv.Itoa(model.MaxPageSize)}, "offset": {strconv.Itoa(offset)}}
			if err := c.call(ctx, http.MethodGet, path, q, nil, &page); err != nil {
				return err
			}
			for i := range page.Data {
				fn(&page.Data[i])
			}
			offset += len(page.Data)
			if len(page.Data) == 0 || int64(offset) >= page.Meta.Pagination.TotalCount || offset >= maxScan {
				break
			}
		}
	}
	return nil
}

// toModel converts an identity with what its other records say.
func (c *Client) toModel(w *identityWire, r related) model.Identity {
	id := model.Identity{
		ID:             w.ID,
		NetworkID:      c.networkID,
		Name:           w.Name,
		Email:          w.email(),
		Attributes:     w.RoleAttributes,
		Type:           w.Type.name(),
		AuthPolicy:     w.AuthPolicy.name(),
		Revision:       w.revision(r.auths[w.ID]),
		CreatedAt:      w.CreatedAt.Time,
		ActiveSessions: r.sessions[w.ID],
		SignedIn:       w.ID != "" && w.ID == c.knownSelf(),
	}
	// Enrolled when its newest credential was made. (Enrollment records
	// carry no times on a real controller: CreatedAt stays zero.)
	for _, a := range r.auths[w.ID] {
		if a.CreatedAt.After(id.EnrolledAt) {
			id.EnrolledAt = a.CreatedAt.Time
		}
	}
	id.HasCredential, id.Enrollment = w.stateFacts()
	return id
}

// state is the identity's state, which its own record decides.
func (c *Client) state(w *identityWire) model.State {
	return c.toModel(w, related{}).State(c.now())
}

// models converts identities with their related records.
func (c *Client) models(ctx context.Context, ws []*identityWire) ([]model.Identity, error) {
	if _, err := c.self(ctx); err != nil {
		return nil, err
	}
	r, err := c.related(ctx, ws)
	if err != nil {
		return nil, err
	}
	out := make([]model.Identity, 0, len(ws))
	for _, w := range ws {
		out = append(out, c.toModel(w, r))
	}
	return out, nil
}

// getIdentity reads one identity's record.
func (c *Client) getIdentity(ctx context.Context, id string) (*identityWire, error) {
	var env envelope[identityWire]
	err := c.call(ctx, http.MethodGet, "/identities/"+url.PathEscape(id), nil, nil, &env)
	if errors.Is(err, backend.ErrNotFound) {
		return nil, backend.NotFound("no identity with ID %q in %s", id, c.cfg.Name)
	}
	if err != nil {
		return nil, err
	}
	if env.Data.ID == "" {
		return nil, backend.Unavailable("the controller's answer for identity %q held no identity", id)
	}
	return &env.Data, nil
}

// detail is the full picture of one identity.
func (c *Client) detail(ctx context.Context, w *identityWire) (model.Identity, error) {
	ms, err := c.models(ctx, []*identityWire{w})
	if err != nil {
		return model.Identity{}, err
	}
	return ms[0], nil
}

// Identity returns one identity with its session count.
func (c *Client) Identity(ctx context.Context, network, id string) (model.Identity, error) {
	if err := c.checkNetwork(network); err != nil {
		return model.Identity{}, err
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	w, err := c.getIdentity(ctx, id)
	if err != nil {
		return model.Identity{}, err
	}
	return c.detail(ctx, w)
}

// IdentityByName finds the identity with exactly this name.
func (c *Client) IdentityByName(ctx context.Context, network, name string) (model.Identity, error) {
	if err := c.checkNetwork(network); err != nil {
		return model.Identity{}, err
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	w, err := c.findByName(ctx, name)
	if err != nil {
		return model.Identity{}, err
	}
	if w == nil {
		return model.Identity{}, backend.NotFound("no identity named %q in %s", name, c.cfg.Name)
	}
	return c.detail(ctx, w)
}

// findByName returns the identity named exactly name, or nil.
func (c *Client) findByName(ctx context.Context, name string) (*identityWire, error) {
	f, err := exactNameFilter(name)
	if err != nil {
		return nil, err
	}
	var page listEnvelope[identityWire]
	if err := c.call(ctx, http.MethodGet, "/identities", url.Values{"filter": {f}, "limit": {"2"}}, nil, &page); err != nil {
		return nil, err
	}
	for i := range page.Data {
		if page.Data[i].Name == name { // "=" is exact, but be sure
			return &page.Data[i], nil
		}
	}
	return nil, nil
}

// Identities returns one page of identities. Text filtering, sorting by
// name or creation and paging happen on the controller. Enrollment state
// and expiry are not filterable or sortable there, so a query for a state
// or sorted by state or expiry reads the text-filtered identities (at
// most maxScan of them, in pages of model.MaxPageSize) and filters and
// sorts here. Sessions can't be sorted by at all (backend.SortUnsupported):
// an identity's record only says whether it has an API session, and
// counting them means reading every session of every identity.
func (c *Client) Identities(ctx context.Context, network string, q model.ListQuery) (model.Page, error) {
	if err := c.checkNetwork(network); err != nil {
		return model.Page{}, err
	}
	switch {
	case q.Offset < 0 || q.Limit < 0:
		return model.Page{}, backend.Invalid("offset %d and limit %d must not be negative", q.Offset, q.Limit)
	case q.Limit > model.MaxPageSize:
		return model.Page{}, backend.Invalid("a page holds at most %d identities, not %d", model.MaxPageSize, q.Limit)
	}
	if q.Limit == 0 {
		q.Limit = DefaultPageSize
	}
	if q.State != "" {
		if _, ok := model.ParseState(string(q.State)); !ok {
			return model.Page{}, backend.Invalid("%q is not a state: use enrolled, pending, expired or none", q.State)
		}
	}
	switch q.Sort {
	case "", model.SortName, model.SortCreated, model.SortExpires, model.SortState:
	case model.SortSessions: // Unsortable
		return model.Page{}, backend.SortUnsupported("%s can't sort identities by sessions: a controller counts no sessions per identity (it lists name, state, expiry and creation)", c.cfg.Name)
	default:
		return model.Page{}, backend.Invalid("can't sort by %q: use name, state, expires or created", q.Sort)
	}
	ctx, cancel := c.callContext(ctx)
	defer cancel()
	if q.State != "" {
		if q.Sort == model.SortState {
			q.Sort = model.SortName // one state: by name within it
		}
		return c.stateFilter(ctx, q)
	}
	if q.Sort == model.SortExpires || q.Sort == model.SortState {
		return c.scan(ctx, q)
	}
	if q.Offset > maxOffset {
		return model.Page{}, backend.Invalid("offset %d is past the controller's limit of %d: narrow the filter", q.Offset, maxOffset)
	}
	f, err := identityFilter(q.Filter, q.Sort, q.Desc)
	if err != nil {
		return model.Page{}, err
	}
	page, err := c.listIdentities(ctx, f, q.Offset, q.Limit)
	if err != nil {
		return model.Page{}, err
	}
	ws := make([]*identityWire, len(page.Data))
	for i := range page.Data {
		ws[i] = &page.Data[i]
	}
	items, err := c.models(ctx, ws)
	if err != nil {
		return model.Page{}, err
	}
	return model.Page{Total: int(page.Meta.Pagination.TotalCount), Items: items}, nil
}

func (c *Client) listIdentities(ctx context.Context, filter string, offset, limit int) (*listEnvelope[identityWire], error) {
	v := url.Values{"limit": {strconv.Itoa(limit)}, "offset": {strconv.Itoa(offset)}}
	if filter != "" {
		v.Set("filter", filter)
	}
	var page listEnvelope[identityWire]
	if err := c.call(ctx, http.MethodGet, "/identities", v, nil, &page); err != nil {
		return nil, err
	}
	return &page, nil
}

// scan answers a query the controller can't (see Identities).
func (c *Client) scan(ctx context.Context, q model.ListQuery) (model.Page, error) {
	base := q.Sort
	if base == model.SortExpires || base == model.SortState {
		base = model.SortName // the order among equal expiries and within a state
	}
	f, err := identityFilter(q.Filter, base, q.Desc && base == q.Sort)
	if err != nil {
		return model.Page{}, err
	}
	now := c.now()
	var all []*identityWire
	for offset := 0; ; offset += model.MaxPageSize {
		page, err := c.listIdentities(ctx, f, offset, model.MaxPageSize)
		if err != nil {
			return model.Page{}, err
		}
		if total := page.Meta.Pagination.TotalCount; total > maxScan {
			return model.Page{}, backend.Invalid("%d identities match the text; filtering by state or sorting by state or expiry reads at most %d: narrow the text filter", total, maxScan)
		}
		for i := range page.Data {
			w := &page.Data[i]
			if q.State == "" || c.toModel(w, related{}).State(now) == q.State {
				all = append(all, w)
			}
		}
		if len(page.Data) == 0 || int64(offset+len(page.Data)) >= page.Meta.Pagination.TotalCount {
			break
		}
	}
	switch q.Sort {
	case model.SortExpires:
		slices.SortStableFunc(all, func(a, b *identityWire) int {
			return compareExpiry(a.current(), b.current(), q.Desc)
		})
	case model.SortState:
		// Read in name order; lifecycle order keeps it within a state, and
		// descending reverses the whole.
		slices.SortStableFunc(all, func(a, b *identityWire) int {
			return cmp.Compare(model.StateRank(a.stateAt(now)), model.StateRank(b.stateAt(now)))
		})
		if q.Desc {
			slices.Reverse(all)
		}
	}
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

// compareExpiry orders by token expiry; identities without a token come
// last either way.
func compareExpiry(a, b *enrollmentWire, desc bool) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	r := a.ExpiresAt.Compare(b.ExpiresAt.Time)
	if desc {
		r = -r
	}
	return r
}
