package backend

import (
	"errors"
	"fmt"
)

// The classes of backend error. Every error a Backend returns wraps exactly
// one of them, so callers can choose what to say and do with errors.Is.
var (
	ErrNotFound    = errors.New("not found")
	ErrConflict    = errors.New("conflict") // the state or revision moved, or the action doesn't fit the state
	ErrInvalid     = errors.New("invalid input")
	ErrForbidden   = errors.New("forbidden")
	ErrUnavailable = errors.New("unavailable") // down, unreachable or timing out
)

// Error is a classed backend error with a message meant for the admin.
type Error struct {
	Kind error  // one of the sentinels above
	Msg  string // what went wrong, in plain words
}

func (e *Error) Error() string { return e.Msg }

// Unwrap lets errors.Is match the error's class.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Msg: fmt.Sprintf(format, args...)}
}

// NotFound returns an ErrNotFound error with the given message.
func NotFound(format string, args ...any) error { return newError(ErrNotFound, format, args...) }

// Conflict returns an ErrConflict error with the given message.
func Conflict(format string, args ...any) error { return newError(ErrConflict, format, args...) }

// Invalid returns an ErrInvalid error with the given message.
func Invalid(format string, args ...any) error { return newError(ErrInvalid, format, args...) }

// Forbidden returns an ErrForbidden error with the given message.
func Forbidden(format string, args ...any) error { return newError(ErrForbidden, format, args...) }

// Unavailable returns an ErrUnavailable error with the given message.
func Unavailable(format string, args ...any) error {
	return newError(ErrUnavailable, format, args...)
}

// Kind returns the class of err (one of the sentinels), or nil if err
// belongs to none.
func Kind(err error) error {
	for _, k := range []error{ErrNotFound, ErrConflict, ErrInvalid, ErrForbidden, ErrUnavailable} {
		if errors.Is(err, k) {
			return k
		}
	}
	return nil
}

// ErrSignedIn is matched (errors.Is) by the refusal to reset the identity
// the backend is signed in as; it is also an ErrForbidden. Bulk actions
// skip such an identity and count it.
var ErrSignedIn = errors.New("signed in as this identity")

type signedInError struct{ err *Error }

func (e *signedInError) Error() string        { return e.err.Msg }
func (e *signedInError) Unwrap() error        { return e.err }
func (e *signedInError) Is(target error) bool { return target == ErrSignedIn }

// SignedIn returns the refusal to reset the backend's own identity: an
// ErrForbidden that also matches ErrSignedIn.
func SignedIn(format string, args ...any) error {
	return &signedInError{&Error{Kind: ErrForbidden, Msg: fmt.Sprintf(format, args...)}}
}

// ErrSortUnsupported is matched (errors.Is) by a listing refused because
// the backend can't sort by the field asked for (a controller has no
// session count to sort by); it is also an ErrInvalid. The console then
// says so and lists by name.
var ErrSortUnsupported = errors.New("sort not supported")

type sortError struct{ err *Error }

func (e *sortError) Error() string        { return e.err.Msg }
func (e *sortError) Unwrap() error        { return e.err }
func (e *sortError) Is(target error) bool { return target == ErrSortUnsupported }

// SortUnsupported returns the refusal of a sort the backend can't serve:
// an ErrInvalid that also matches ErrSortUnsupported.
func SortUnsupported(format string, args ...any) error {
	return &sortError{&Error{Kind: ErrInvalid, Msg: fmt.Sprintf(format, args...)}}
}
