package cli

import (
	"time"

	"github.com/idcon/idcon/model"
)

// defaultExpiry is a new identity's token lifetime when --expires is left out.
const defaultExpiry = "+7d"

// parseExpiry reads --expires (YYYY-MM-DD meaning the end of that day here,
// RFC 3339, or +7d / +36h / +90s) and checks it against the policy. A value
// it can't take is a usage error (exit 2), like any bad flag value.
func parseExpiry(s string, now time.Time) (time.Time, error) {
	t, err := model.ParseExpiry(s, now, time.Local)
	if err != nil {
		return time.Time{}, usagef("--expires: %s", err)
	}
	if err := (model.ExpiryPolicy{}).Validate(now, t); err != nil {
		return time.Time{}, usagef("--expires: %s", err)
	}
	return t, nil
}
