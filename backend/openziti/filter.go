package openziti

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/model"
)

// emailTag is the identity tag holding an identity's email address: the
// controller has no email field of its own, and tags are free-form,
// filterable ("tags.email") and carry no meaning for authentication
// (unlike externalId, which ext-jwt signers match logins against).
const emailTag = "email"

// quoteZitiQL returns s as a ZitiQL string literal. The grammar's STRING is
// '"' (ESC | SAFECODEPOINT)* '"' where ESC is one of \" \\ \f \n \r \t and a
// safe code point is anything but '"', '\' and U+0000..U+001F; so those two
// are backslash-escaped, the four controls that have an escape get it, and
// text holding any other control character (or invalid UTF-8) can't be said
// in ZitiQL at all and is refused rather than silently altered.
func quoteZitiQL(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", backend.Invalid("the filter is not valid UTF-8: retype it")
	}
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\f':
			b.WriteString(`\f`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			if r < 0x20 {
				return "", backend.Invalid("the filter contains the control character %U, which the controller can't search for: remove it", r)
			}
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String(), nil
}

// identityFilter builds the ZitiQL filter for a listing: the admin's text
// matched (case-insensitively) against the name and the email tag, then the
// order. The sort goes inside the filter because the controller reads
// "sort by" there (the spec has no sort parameter); the text only ever
// appears inside one quoted literal, so it can't add clauses of its own.
// Sorting by expiry can't be done by the controller (enrollment fields are
// not filterable symbols); callers sort those locally, and sortClause
// returns false for them.
func identityFilter(text string, sort model.SortField, desc bool) (string, error) {
	var parts []string
	if text != "" {
		lit, err := quoteZitiQL(text)
		if err != nil {
			return "", err
		}
		parts = append(parts, fmt.Sprintf("(name icontains %s or tags.%s icontains %s)", lit, emailTag, lit))
	}
	// ZitiQL allows a query made of a sort clause alone.
	if by, ok := sortClause(sort, desc); ok {
		parts = append(parts, by)
	}
	return strings.Join(parts, " "), nil
}

// sortClause is the ZitiQL "sort by" for a sort field, with the ID as the
// tie-breaker so that pages never overlap; ok is false when the controller
// can't sort by that field.
func sortClause(sort model.SortField, desc bool) (clause string, ok bool) {
	dir := "asc"
	if desc {
		dir = "desc"
	}
	switch sort {
	case "", model.SortName:
		return "sort by name " + dir + ", id " + dir, true
	case model.SortCreated:
		return "sort by createdAt " + dir + ", id " + dir, true
	}
	return "", false
}

// exactNameFilter matches one identity by its exact name.
func exactNameFilter(name string) (string, error) {
	lit, err := quoteZitiQL(name)
	if err != nil {
		return "", err
	}
	return "name = " + lit, nil
}

// identityRefFilter selects the records (enrollments, authenticators, API
// sessions) that belong to an identity.
func identityRefFilter(id string) (string, error) {
	lit, err := quoteZitiQL(id)
	if err != nil {
		return "", err
	}
	return "identity = " + lit, nil
}

// identityInFilter selects the records of any of the identities.
func identityInFilter(ids []string) (string, error) {
	lits := make([]string, len(ids))
	for i, id := range ids {
		lit, err := quoteZitiQL(id)
		if err != nil {
			return "", err
		}
		lits[i] = lit
	}
	return "identity in [" + strings.Join(lits, ", ") + "]", nil
}
