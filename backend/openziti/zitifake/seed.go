package zitifake

import (
	"strings"
	"time"
)

// Seeded is one identity Seed creates, with what a controller would hold
// for it after the admin's and the devices' doings.
type Seeded struct {
	Name, Email string
	// ExpiresAt, when set, gives the identity an unused enrollment of
	// Method ("ott" if empty, or "updb") expiring then (past or future).
	ExpiresAt time.Time
	Method    string
	// Certs is how many certificate authenticators it holds (as that many
	// enrolled otts leave); Password adds a updb authenticator.
	Certs    int
	Password bool
}

// Seed creates many identities at once in the fake's state, without
// requests and in time linear in their number (CreateIdentity checks every
// name against every other, which is quadratic), for tests and benchmarks
// at a controller's scale. Names must differ from each other and from the
// identities already there; that is the caller's to ensure and not
// checked. It returns the identities' IDs, in the order of specs.
//
// The records have the recorded shapes, with one exception: signing an
// RS256 JWT with the controller's 4096-bit key takes milliseconds, so the
// enrollments made here carry a JWT of the recorded shape and length (its
// header and claims are this token's) whose signature is one made once
// for another token: it does not verify. Use CreateIdentity for an
// identity whose token is delivered or checked.
func (f *Controller) Seed(specs []Seeded) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	sig := f.seedSignature()
	ids := make([]string, len(specs))
	for n, s := range specs {
		now := f.stamp()
		i := &fIdentity{id: f.newID(""), name: s.Name, createdAt: now, updatedAt: now, tags: map[string]any{}, typ: "Default"}
		if s.Email != "" {
			i.tags["email"] = s.Email
		}
		f.identities[i.id] = i
		ids[n] = i.id
		if !s.ExpiresAt.IsZero() {
			method := s.Method
			if method == "" {
				method = "ott"
			}
			e := &fEnrollment{id: f.newID(""), identityID: i.id, method: method, token: newUUID(), expiresAt: s.ExpiresAt.UTC()}
			e.jwt = f.unsignedJWT(i.id, e.token, method, e.expiresAt) + "." + sig
			f.enrollments[e.id] = e
		}
		for range s.Certs {
			aid := f.newID("")
			f.authenticators[aid] = &fAuthenticator{id: aid, identityID: i.id, method: "cert", fingerprint: certFingerprint([]byte(aid)), createdAt: now, updatedAt: now}
		}
		if s.Password {
			aid := f.newLongID()
			f.authenticators[aid] = &fAuthenticator{id: aid, identityID: i.id, method: "updb", username: s.Name, password: "seeded-" + aid, createdAt: now, updatedAt: now}
		}
	}
	return ids
}

// seedSignature is the signature part of one JWT signed for real (caller
// holds mu).
func (f *Controller) seedSignature() string {
	j := f.issueJWT("seed", newUUID(), "ott", f.now())
	return j[strings.LastIndexByte(j, '.')+1:]
}
