package openziti

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/idcon/idcon/backend"
)

// revisionTag is the identity tag in which idcon counts its own changes to
// an identity: "N:H", N the count and H the first 16 hex digits of the
// facts hash (below) right after the change.
const revisionTag = "idconRevision"

// A controller keeps no version number, and its timestamps can't stand in
// for one (recorded from v2.0.3): enrollment records carry zero times; the
// identity's updatedAt doesn't move when its enrollments or authenticators
// change; a certificate authenticator's updatedAt moves on every device
// login. So the revision is derived from the facts the actions depend on,
// and idcon counts its own changes in a tag:
//
//   - facts: the identity's name, role attributes and tags (but the
//     counter), each outstanding enrollment (method, id, token, expiry),
//     and each authenticator (method, id: all of them, not only the one per
//     method identityDetail names). Logins, sessions and authenticators'
//     times are not facts: a device logging in changes no revision.
//   - revision = N<<32 | low, where low is 0 while the facts hash equals
//     the one the tag recorded, else 1 + 31 bits of the hash.
//
// Guarantees: every change of a fact changes the revision (a change made
// elsewhere changes low; two different fact sets share it with odds of one
// in 2^31), so a stale caller gets a conflict; each change idcon makes
// writes N+1 afterwards, so it never lowers the revision. A change made
// by another tool raises it (0 → 1+hash) when it is the first since idcon's
// last one; a second such change alters it but may lower it.
func (w *identityWire) revision(auths []subRecord) int64 {
	n, recorded := w.revisionTag()
	low := int64(0)
	if h := w.factsHash(auths); h != recorded {
		v, _ := strconv.ParseUint(h[:8], 16, 32)
		low = 1 + int64(v&0x7fffffff)
	}
	return n<<32 | low
}

// revisionTag reads the counter tag: N and the hash it recorded.
func (w *identityWire) revisionTag() (int64, string) {
	var tags map[string]any
	if len(w.Tags) == 0 || json.Unmarshal(w.Tags, &tags) != nil {
		return 0, ""
	}
	s, _ := tags[revisionTag].(string)
	ns, h, ok := strings.Cut(s, ":")
	n, err := strconv.ParseInt(ns, 10, 32)
	if !ok || err != nil || n < 0 {
		return 0, ""
	}
	return n, h
}

// factsHash is the first 16 hex digits of a SHA-256 over the facts.
func (w *identityWire) factsHash(auths []subRecord) string {
	h := sha256.New()
	fmt.Fprintf(h, "name %q\n", w.Name)
	attrs := slices.Clone(w.RoleAttributes)
	slices.Sort(attrs)
	fmt.Fprintf(h, "attributes %q\n", attrs)
	var tags map[string]any
	_ = json.Unmarshal(w.Tags, &tags)
	delete(tags, revisionTag)
	tb, _ := json.Marshal(tags) // map keys sorted
	fmt.Fprintf(h, "tags %s\n", tb)
	for _, e := range []struct {
		kind string
		e    *enrollmentWire
	}{{"ott", w.Enrollment.OTT}, {"ottca", w.Enrollment.OTTCA}, {"updb", w.Enrollment.UPDB}} {
		if e.e != nil && e.e.ID != "" {
			fmt.Fprintf(h, "enrollment %s %q %q %d\n", e.kind, e.e.ID, e.e.Token, e.e.ExpiresAt.UnixNano())
		}
	}
	var as []string
	for _, a := range auths {
		as = append(as, a.Method+" "+a.ID)
	}
	// identityDetail's own (in case the list could not be read).
	if a := w.Authenticators.Cert; a != nil && a.ID != "" {
		as = append(as, "cert "+a.ID)
	}
	if a := w.Authenticators.UPDB; a != nil && a.ID != "" {
		as = append(as, "updb "+a.ID)
	}
	slices.Sort(as)
	for _, a := range slices.Compact(as) {
		fmt.Fprintf(h, "authenticator %s\n", a)
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// DryRunHash stands, in a dry run's planned PATCH of the revision tag, for
// the facts hash that only the change itself would tell.
const DryRunHash = "HASH-AFTER-THE-CHANGE"

// writeRevision records, after a change idcon made, the next count and the
// hash of the facts as they are now, so that the identity's revision grows
// by one count. It re-reads the identity; an error leaves the change made
// (the revision has changed all the same, though it may not have grown).
func (c *Client) writeRevision(ctx context.Context, id string) error {
	w, err := c.getIdentity(ctx, id)
	if err != nil {
		return err
	}
	r, err := c.related(ctx, []*identityWire{w})
	if err != nil {
		return err
	}
	n, _ := w.revisionTag()
	tags := map[string]any{}
	if len(w.Tags) > 0 {
		_ = json.Unmarshal(w.Tags, &tags)
	}
	hash := w.factsHash(r.auths[w.ID])
	if backend.DryRunOf(ctx) != nil {
		hash = DryRunHash // the facts after the change aren't known before it
	}
	tags[revisionTag] = fmt.Sprintf("%d:%s", n+1, hash)
	return c.call(ctx, http.MethodPatch, "/identities/"+url.PathEscape(id), nil, map[string]any{"tags": tags}, nil)
}
