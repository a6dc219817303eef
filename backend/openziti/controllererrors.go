package openziti

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/idcon/idcon/backend"
)

// apiError is the controller's error envelope:
// {"error":{"code","message","causeMessage","cause":{"field","reason","value"},...}}.
type apiError struct {
	status       int
	Code         string          `json:"code"`
	Message      string          `json:"message"`
	CauseMessage string          `json:"causeMessage"`
	Cause        json.RawMessage `json:"cause"`
	raw          string          // the body, when it wasn't an envelope
	quiet        bool            // leave out cause values (they may echo a password)
}

type apiCause struct {
	Field   string          `json:"field"`
	Reason  string          `json:"reason"`
	Message string          `json:"message"`
	Value   json.RawMessage `json:"value"`
}

func decodeAPIError(status int, body []byte, quiet bool) *apiError {
	var env struct {
		Error *apiError `json:"error"`
	}
	if err := json.Unmarshal(body, &env); err != nil || env.Error == nil {
		raw := strings.TrimSpace(string(body))
		if !utf8.ValidString(raw) || len(raw) > 200 {
			raw = ""
		}
		return &apiError{status: status, raw: raw}
	}
	e := env.Error
	e.status, e.quiet = status, quiet
	return e
}

// cause returns the error's cause when it is the one-object kind.
func (e *apiError) cause() apiCause {
	var c apiCause
	_ = json.Unmarshal(e.Cause, &c) // "" or null leave it empty
	return c
}

// words says the error as the controller did: code, message, cause.
func (e *apiError) words() string {
	if e.Code == "" && e.Message == "" {
		s := fmt.Sprintf("HTTP %d %s", e.status, http.StatusText(e.status))
		if e.raw != "" {
			s += ": " + e.raw
		}
		return s
	}
	var b strings.Builder
	b.WriteString(e.Message)
	if e.Code != "" {
		fmt.Fprintf(&b, " (%s)", e.Code)
	}
	if e.CauseMessage != "" && e.CauseMessage != e.Message {
		b.WriteString(": " + e.CauseMessage)
	}
	c := e.cause()
	reason := c.Reason
	if reason == "" {
		reason = c.Message
	}
	if c.Field != "" || reason != "" {
		b.WriteString(": ")
		if c.Field != "" {
			b.WriteString(c.Field)
			if reason != "" {
				b.WriteString(" ")
			}
		}
		b.WriteString(reason)
		if v := scalar(c.Value); v != "" && !e.quiet {
			fmt.Fprintf(&b, " (value %s)", v)
		}
	}
	return b.String()
}

// scalar renders a short JSON scalar; objects, arrays and long values are
// left out (a validation cause may echo the whole request).
func scalar(v json.RawMessage) string {
	s := strings.TrimSpace(string(v))
	if s == "" || s == "null" || len(s) > 120 || s[0] == '{' || s[0] == '[' {
		return ""
	}
	return s
}

// duplicate reports a unique-index violation, which the controller answers
// with 400 COULD_NOT_VALIDATE rather than 409.
func (e *apiError) duplicate() bool {
	c := e.cause()
	return strings.Contains(strings.ToLower(c.Reason+" "+c.Message+" "+e.CauseMessage), "duplicate")
}

// noLeaderCode is a cluster's answer to a write while it has no quorum
// (503, zitifake/testdata/ha-v2.0.3/02-failure.json): not a controller
// asking to be asked more slowly, so never retried as a pushback.
const noLeaderCode = "CLUSTER_NO_LEADER"

// pushback says whether the controller answered "not now" about load: a
// 429 (RATE_LIMITED, SERVER_TOO_MANY_REQUESTS: refused before anything
// was done) or a 503 other than CLUSTER_NO_LEADER (TIMEOUT: the API's
// handler ran out of time, controller/api/timeouts.go).
func (e *apiError) pushback() bool {
	return e.status == http.StatusTooManyRequests || (e.status == http.StatusServiceUnavailable && e.Code != noLeaderCode)
}

// errPushback is matched (errors.Is) by a classified pushback (also
// backend.ErrUnavailable): a bulk run slows down and tries the identity
// again (bulk.go).
var errPushback = errors.New("the controller pushed back")

type pushbackError struct{ error }

func (e pushbackError) Unwrap() error        { return e.error }
func (e pushbackError) Is(target error) bool { return target == errPushback }

// classify turns the error into a typed backend error; what says which
// request failed.
func (e *apiError) classify(what string) error {
	err := e.classified(what)
	if e.pushback() {
		return pushbackError{err}
	}
	return err
}

func (e *apiError) classified(what string) error {
	w := e.words()
	switch {
	case e.status == http.StatusNotFound:
		return backend.NotFound("the controller has no such record: %s", w)
	case e.status == http.StatusConflict || (e.status == http.StatusBadRequest && e.duplicate()):
		return backend.Conflict("the controller refused the change: %s", w)
	case e.status == http.StatusBadRequest || e.status == http.StatusUnprocessableEntity:
		return backend.Invalid("the controller refused the request: %s", w)
	case e.status == http.StatusUnauthorized || e.status == http.StatusForbidden:
		return backend.Forbidden("the controller refused access: %s", w)
	case e.status == http.StatusTooManyRequests:
		return backend.Unavailable("the controller is limiting requests and still refused after retries: %s; try again in a moment", w)
	case e.status >= 500:
		return backend.Unavailable("the controller failed to %s: %s", what, w)
	}
	return backend.Unavailable("unexpected answer from the controller to %s: %s", what, w)
}

// ErrUntrusted is matched (with errors.Is) by the error saying the
// controller's certificate is not trusted, which is also
// backend.ErrUnavailable: the admin has to name the CA that signed it or
// pin the controller's own CA.
var ErrUntrusted = errors.New("the controller's certificate is not trusted")

// untrustedError is ErrUntrusted for the network named name.
type untrustedError struct{ name string }

func (e *untrustedError) Error() string {
	return fmt.Sprintf("the controller's certificate is not trusted: set ca: in the config, or run idcon network trust %s", e.name)
}

func (e *untrustedError) Unwrap() []error { return []error{backend.ErrUnavailable, ErrUntrusted} }

// transportError classes a failure to exchange with the controller at all.
func (c *Client) transportError(ctx context.Context, err error) error {
	if untrusted(err) {
		return &untrustedError{name: c.cfg.Name}
	}
	return classifyTransport(ctx, err, c.timeout)
}

// untrusted reports a certificate that no trusted CA signed (as opposed to
// one for another name, or expired).
func untrusted(err error) bool {
	if _, ok := errorsAs[x509.HostnameError](err); ok {
		return false
	}
	if _, ok := errorsAs[x509.CertificateInvalidError](err); ok {
		return false
	}
	_, unknown := errorsAs[x509.UnknownAuthorityError](err)
	_, unverified := errorsAs[*tls.CertificateVerificationError](err)
	return unknown || unverified
}

// classifyTransport is transportError for a given time limit.
func classifyTransport(ctx context.Context, err error, timeout time.Duration) error {
	switch {
	case errors.Is(err, context.Canceled):
		return backend.Unavailable("the request to the controller was cancelled")
	case errors.Is(err, context.DeadlineExceeded) || errors.Is(ctx.Err(), context.DeadlineExceeded):
		return backend.Unavailable("the controller did not answer in time (limit %s)", timeout)
	}
	if ne, ok := errorsAs[net.Error](err); ok && ne.Timeout() {
		return backend.Unavailable("the controller did not answer in time (limit %s): %v", timeout, unwrapURL(err))
	}
	if h, ok := errorsAs[x509.HostnameError](err); ok {
		return backend.Unavailable("the controller's certificate is not valid for this address (%v): check the controller address", h)
	}
	if ci, ok := errorsAs[x509.CertificateInvalidError](err); ok {
		return backend.Unavailable("the controller's certificate is not valid (%v)", ci)
	}
	if ua, ok := errorsAs[x509.UnknownAuthorityError](err); ok {
		return backend.Unavailable("the controller's certificate is not trusted (%v): set ca: or pin it", ua)
	}
	if ve, ok := errorsAs[*tls.CertificateVerificationError](err); ok {
		return backend.Unavailable("the controller's certificate is not trusted (%v): set ca: or pin it", ve.Err)
	}
	if _, ok := errorsAs[tls.RecordHeaderError](err); ok || strings.Contains(err.Error(), "HTTP response to HTTPS client") {
		return backend.Unavailable("the controller did not answer with TLS (%v): check the address and port", unwrapURL(err))
	}
	return backend.Unavailable("controller unreachable: %v", unwrapURL(err))
}

// unwrapURL drops url.Error's "Get \"https://...\":" prefix, which repeats
// the request's address (and its filter) in every message.
func unwrapURL(err error) error {
	if ue, ok := errorsAs[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
