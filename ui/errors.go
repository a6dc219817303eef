package ui

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/delivery"
	"github.com/idcon/idcon/model"
)

// describeErr is the one place where the console turns an error into words
// for the admin: what happened and, where it helps, what to do. The backend's
// own message (meant for the admin) is kept; everything goes through
// safetext when rendered.
func describeErr(err error) string {
	if err == nil {
		return ""
	}
	var be *backend.Error
	msg := err.Error()
	if errors.As(err, &be) {
		msg = be.Msg
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "The backend did not answer in time; try again."
	case errors.Is(err, context.Canceled):
		return "The request was cancelled."
	case errors.Is(err, backend.ErrNotFound):
		return fmt.Sprintf("Not found: %s. It may have been deleted; go back and reload.", msg)
	case errors.Is(err, backend.ErrConflict):
		return fmt.Sprintf("Someone else changed this identity (%s); reloaded it: check it and try again.", msg)
	case errors.Is(err, backend.ErrInvalid):
		return fmt.Sprintf("Refused: %s.", msg)
	case errors.Is(err, backend.ErrForbidden):
		return fmt.Sprintf("Not allowed: %s.", msg)
	case errors.Is(err, backend.ErrUnavailable):
		return fmt.Sprintf("The backend is unavailable (%s); try again later.", msg)
	case errors.Is(err, model.ErrExpiryPast), errors.Is(err, model.ErrExpiryTooFar):
		return msg
	}
	return "Error: " + msg
}

// describeDeliveryErr words the failure of a delivery: failed says what
// didn't happen ("The email was not sent"). SMTP failures keep the plain
// sentence delivery wrote for them; settings problems say how to set
// things up; backend errors are described as everywhere else.
func describeDeliveryErr(failed string, err error) string {
	var se *delivery.SendError
	switch {
	case errors.As(err, &se):
		return failed + ": " + se.Error() + "."
	case errors.Is(err, delivery.ErrSMTPConfig):
		return "Registration emails are not set up: " + err.Error() + "."
	case backend.Kind(err) != nil, errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled):
		return describeErr(err)
	}
	return failed + ": " + strings.TrimSuffix(err.Error(), ".") + "."
}
