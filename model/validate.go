package model

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameLen is the longest identity or network name accepted, in bytes.
const MaxNameLen = 255

// ValidateName checks an identity or network name given by an admin:
// non-empty, at most MaxNameLen bytes, valid UTF-8 and free of control
// characters.
func ValidateName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errors.New("the name is empty: give a name such as laptop-alice")
	case len(name) > MaxNameLen:
		return fmt.Errorf("the name is %d bytes long: use at most %d", len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return errors.New("the name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return fmt.Errorf("the name contains the control character %U: remove it", r)
		}
	}
	return nil
}

// ValidateEmail checks a single plain address such as alice@example.org.
// An empty address is valid (identities need not have one).
func ValidateEmail(addr string) error {
	if addr == "" {
		return nil
	}
	a, err := mail.ParseAddress(addr)
	if err != nil || a.Address != addr || a.Name != "" {
		return fmt.Errorf("%q is not an email address: use the form name@example.org", addr)
	}
	return nil
}

// MaxAttributes is the most role attributes an identity may be given.
const MaxAttributes = 100

// ParseAttributes reads role attributes as an admin types them,
// comma-separated ("staff, laptops"): each is trimmed, empty ones (a
// trailing comma) are dropped and repeats kept once, in the order given.
// An attribute must be a valid name (ValidateName) that doesn't start with
// '#' or '@', which the controller's role selectors read as "attribute"
// and "ID".
func ParseAttributes(s string) ([]string, error) {
	out := []string{}
	seen := map[string]bool{}
	for _, a := range strings.Split(s, ",") {
		a = strings.TrimSpace(a)
		if a == "" || seen[a] {
			continue
		}
		if err := ValidateAttribute(a); err != nil {
			return nil, err
		}
		if strings.HasPrefix(a, "#") || strings.HasPrefix(a, "@") {
			return nil, fmt.Errorf("attribute %q starts with %q, which role selectors read as syntax: drop it (give staff, not #staff)", a, a[:1])
		}
		seen[a] = true
		out = append(out, a)
	}
	if len(out) > MaxAttributes {
		return nil, fmt.Errorf("%d attributes: give at most %d", len(out), MaxAttributes)
	}
	return out, nil
}

// ValidateAttribute checks one role attribute: as a name (ValidateName),
// at most MaxNameLen bytes, valid UTF-8, free of control characters.
func ValidateAttribute(a string) error {
	if err := ValidateName(a); err != nil {
		return fmt.Errorf("attribute %q: %s", a, strings.Replace(err.Error(), "the name", "it", 1))
	}
	return nil
}
