package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/safetext"
)

// Widths that keep one identity to one line of a table.
const (
	nameWidth  = 40
	emailWidth = 40
)

// identityJSON is an identity as scripts see it (identity show --json and
// the items of identity list --json). Times are RFC 3339 in UTC, or null.
type identityJSON struct {
	ID             string      `json:"id"`
	Name           string      `json:"name"`
	Network        string      `json:"network"`
	Email          string      `json:"email"`
	Attributes     []string    `json:"attributes"` // [] when none
	Type           string      `json:"type"`       // "" where the backend has none
	AuthPolicy     string      `json:"authPolicy"` // ""  likewise
	State          model.State `json:"state"`
	ExpiresAt      *string     `json:"expiresAt"`
	CreatedAt      *string     `json:"createdAt"`
	EnrolledAt     *string     `json:"enrolledAt"`
	ActiveSessions int         `json:"activeSessions"`
	Revision       int64       `json:"revision"`
}

func toIdentityJSON(id model.Identity, n model.Network, now time.Time) identityJSON {
	j := identityJSON{
		ID:             id.ID,
		Name:           id.Name,
		Network:        n.Name,
		Email:          id.Email,
		Attributes:     append([]string{}, id.Attributes...),
		Type:           id.Type,
		AuthPolicy:     id.AuthPolicy,
		State:          id.State(now),
		CreatedAt:      jsonTime(id.CreatedAt),
		EnrolledAt:     jsonTime(id.EnrolledAt),
		ActiveSessions: id.ActiveSessions,
		Revision:       id.Revision,
	}
	if id.Enrollment != nil {
		j.ExpiresAt = jsonTime(id.Enrollment.ExpiresAt)
	}
	return j
}

func jsonTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

// tokenJSON is the result of reset and reissue with --json.
type tokenJSON struct {
	Identity        identityJSON `json:"identity"`
	JWT             *string      `json:"jwt"` // null when the token went to a file
	ExpiresAt       *string      `json:"expiresAt"`
	SessionsDropped int          `json:"sessionsDropped"`
}

// networkJSON is a network as network list --json shows it.
type networkJSON struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Identities int    `json:"identities"` // -1 when it can't be counted
	SigningKey string `json:"signingKey"`
	// Status says why the network can't be opened (a controller that is
	// down, say); left out when it can.
	Status string `json:"status,omitempty"`
	// Address is a controller network's URL; left out for others.
	Address string `json:"address,omitempty"`
}

func toNetworkJSON(n model.Network) networkJSON {
	return networkJSON{ID: n.ID, Name: n.Name, Identities: n.Identities, SigningKey: n.SigningKey, Status: n.Status, Address: n.Address}
}

// writeJSON writes v as indented JSON. Names are kept exact for scripts,
// but what a terminal would act on (C1 codes, bidi overrides) is escaped:
// JSON is printed on terminals too.
func writeJSON(w io.Writer, v any) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(safetext.JSON(buf.Bytes()))
	return err
}

// writeTable writes rows under a header, columns two spaces apart and
// aligned by display width. Cells must be clean already (safetext).
func writeTable(w io.Writer, header []string, rows [][]string) error {
	widths := make([]int, len(header))
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			widths[i] = max(widths[i], safetext.Width(c))
		}
	}
	var b strings.Builder
	for _, r := range append([][]string{header}, rows...) {
		for i, c := range r {
			if i == len(r)-1 {
				b.WriteString(c)
				break
			}
			b.WriteString(c)
			b.WriteString(strings.Repeat(" ", widths[i]-safetext.Width(c)+2))
		}
		// Trailing spaces would come from an empty last cell.
		line := strings.TrimRight(b.String(), " ")
		b.Reset()
		if _, err := io.WriteString(w, line+"\n"); err != nil {
			return err
		}
	}
	return nil
}

// writeFields writes "label: value" lines with the values aligned.
func writeFields(w io.Writer, fields [][2]string) error {
	width := 0
	for _, f := range fields {
		width = max(width, len(f[0]))
	}
	for _, f := range fields {
		if _, err := fmt.Fprintf(w, "%-*s  %s\n", width+1, f[0]+":", f[1]); err != nil {
			return err
		}
	}
	return nil
}

// displayName is an untrusted name made safe and short for a line of text.
func displayName(s string) string { return safetext.Line(s, nameWidth) }

// fmtTime is a time in the local zone, to the minute.
func fmtTime(t time.Time) string { return t.Local().Format("2006-01-02 15:04 MST") }

// fmtWhen is a time with how far it is from now: "2026-12-03 14:00 CET (in 7 days)".
func fmtWhen(t, now time.Time) string {
	return fmtTime(t) + " (" + model.Relative(t, now) + ")"
}

// fmtCount writes n with thousands separators: 103482 → "103,482".
func fmtCount(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// pageLine says which part of the matches a page shows: "1–25 of 103,482".
func pageLine(offset, shown, total int) string {
	if shown == 0 {
		if total == 0 {
			return "no identities match"
		}
		return fmt.Sprintf("none shown: the offset %s is past the %s that match", fmtCount(offset), fmtCount(total))
	}
	return fmt.Sprintf("%s–%s of %s", fmtCount(offset+1), fmtCount(offset+shown), fmtCount(total))
}

// plural says "1 session", "2 sessions".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmtCount(n) + " " + many
}

// shellQuote makes an untrusted name safe to paste into a shell as one
// word, for the commands the CLI suggests.
func shellQuote(s string) string {
	s = safetext.Clean(s)
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.@+=,/:", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
