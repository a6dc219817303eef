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
