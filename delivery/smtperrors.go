package delivery

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"syscall"

	"github.com/wneessen/go-mail"
	"github.com/wneessen/go-mail/smtp"

	"github.com/idcon/idcon/safetext"
)

// SendErrorKind says what went wrong with a Send, for callers that react
// differently (offer a retry, point at the settings).
type SendErrorKind int

// Kinds of SendError.
const (
	KindOther       SendErrorKind = iota
	KindUnreachable               // no SMTP session: refused, unknown host, no route, turned away
	KindTimeout                   // the deadline passed
	KindCanceled                  // the context was cancelled
	KindTLS                       // TLS could not be set up
	KindAuth                      // login refused, required, or not possible
	KindSender                    // the server refused the From address
	KindRecipient                 // the server refused the recipient
	KindRejected                  // the server refused the message itself
	KindDropped                   // the connection broke during the exchange
)

var kindNames = [...]string{"other", "unreachable", "timeout", "canceled", "tls", "auth", "sender", "recipient", "rejected", "dropped"}

func (k SendErrorKind) String() string {
	if k >= 0 && int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// SendError is a failed Send in plain words: one sentence naming the server
// and what to do. Its text never holds the token or the password. Send made
// one attempt; the caller may offer the admin a retry, and should warn
// first when MaybeSent is true.
type SendError struct {
	Kind   SendErrorKind
	Server string // host:port
	// MaybeSent is true when the failure came after the message itself
	// began to flow and before the server's verdict: the server may have
	// accepted it, so a retry could deliver it twice.
	MaybeSent bool
	msg       string
}

func (e *SendError) Error() string { return e.msg }

// sendStage is where in the SMTP exchange a Send failed.
type sendStage int

const (
	stageConnect sendStage = iota // dial, greeting, EHLO, STARTTLS, AUTH: nothing sent
	stageMail                     // MAIL FROM
	stageRcpt                     // RCPT TO
	stageData                     // the DATA command: nothing of the message sent yet
	stageContent                  // writing the message
	stageDataEnd                  // the final "." and the server's verdict
)

// newScrubber returns a function that makes server or library text fit for
// an error message: secrets replaced, controls dropped, length bounded.
func newScrubber(secrets ...string) func(string) string {
	return func(s string) string {
		for _, secret := range secrets {
			// A very short password would match ordinary words; servers do
			// not echo passwords, so only longer ones are worth replacing.
			if len(secret) >= 6 {
				s = strings.ReplaceAll(s, secret, "[hidden]")
			}
		}
		return safetext.Line(s, 200)
	}
}

// classifySendError turns what go-mail and the network said into one plain
// sentence.
func classifySendError(ctx context.Context, err error, c SMTPConfig, r Registration, stage sendStage, scrub func(string) string) *SendError {
	server := c.Addr()
	e := &SendError{Server: server}

	var reply *textproto.Error
	hasReply := errors.As(err, &reply)
	replyText := ""
	if hasReply {
		replyText = scrub(strconv.Itoa(reply.Code) + " " + reply.Msg)
	}
	// A reply to the final "." is the server's verdict: not delivered.
	// Anything else after the message began may or may not have arrived.
	e.MaybeSent = stage == stageContent || (stage == stageDataEnd && !hasReply)
	maybeSent := ""
	if e.MaybeSent {
		maybeSent = "; the message may have been delivered: check with the recipient before sending it again"
	}

	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(ctx.Err(), context.Canceled):
		e.Kind = KindCanceled
		e.msg = "sending the email was cancelled" + maybeSent
	case errors.Is(ctx.Err(), context.DeadlineExceeded) || isTimeout(err):
		e.Kind = KindTimeout
		e.msg = fmt.Sprintf("the SMTP server %s did not answer in time%s", server, maybeSent)
	case stage == stageConnect && errors.As(err, &dnsErr):
		e.Kind = KindUnreachable
		what := "its name could not be looked up"
		if dnsErr.IsNotFound {
			what = "no such host"
		}
		e.msg = fmt.Sprintf("could not reach the SMTP server %s: %s", server, what)
	case stage == stageConnect && errors.As(err, &opErr) && opErr.Op == "dial":
		e.Kind = KindUnreachable
		e.msg = fmt.Sprintf("could not reach the SMTP server %s: %s", server, scrub(rootText(opErr.Err)))
	case stage == stageConnect && isTLSError(err):
		e.Kind = KindTLS
		e.msg = fmt.Sprintf("could not set up TLS with the SMTP server %s: %s", server, scrub(rootText(err)))
	case stage == stageConnect && strings.Contains(err.Error(), "does not support STARTTLS"):
		e.Kind = KindTLS
		e.msg = fmt.Sprintf("the SMTP server %s does not offer STARTTLS: set %s=tls if it speaks TLS from the start (port 465), or none for a trusted local relay", server, EnvSMTPTLS)
	case stage == stageConnect && isAuthError(err):
		e.Kind = KindAuth
		switch {
		case hasReply && reply.Code >= 400 && reply.Code < 500:
			e.msg = fmt.Sprintf("the SMTP server %s could not check the username and password just now (%s): try again later", server, replyText)
		case hasReply:
			e.msg = "the SMTP server refused the username or password"
		case errors.Is(err, smtp.ErrUnencrypted):
			e.msg = fmt.Sprintf("refusing to send the SMTP password to %s without encryption: set %s=starttls or tls", server, EnvSMTPTLS)
		default:
			e.msg = fmt.Sprintf("the SMTP server %s offers no login method idcon can use: check %s and %s", server, EnvSMTPTLS, EnvSMTPUser)
		}
	case stage == stageConnect && hasReply:
		e.Kind = KindUnreachable
		e.msg = fmt.Sprintf("the SMTP server %s turned the connection away: %s", server, replyText)
	case stage == stageMail && hasReply && reply.Code == 530:
		e.Kind = KindAuth
		e.msg = fmt.Sprintf("the SMTP server %s requires a login: set %s and %s", server, EnvSMTPUser, EnvSMTPPassword)
	case stage == stageMail && hasReply:
		e.Kind = KindSender
		e.msg = fmt.Sprintf("the SMTP server %s refused the sender %s: %s", server, scrub(c.From), replyText)
	case stage == stageRcpt && hasReply:
		e.Kind = KindRecipient
		e.msg = fmt.Sprintf("the SMTP server %s refused the recipient %s: %s", server, scrub(r.To), replyText)
	case (stage == stageData || stage == stageDataEnd) && hasReply:
		e.Kind = KindRejected
		e.msg = fmt.Sprintf("the SMTP server %s refused the message: %s", server, replyText)
	case isConnectionLost(err):
		e.Kind = KindDropped
		e.msg = fmt.Sprintf("the SMTP server %s closed the connection%s", server, maybeSent)
	default:
		e.msg = fmt.Sprintf("sending the email through %s failed: %s%s", server, scrub(rootText(err)), maybeSent)
	}
	return e
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) ||
		(errors.As(err, &ne) && ne.Timeout())
}

func isTLSError(err error) bool {
	var (
		verify     *tls.CertificateVerificationError
		header     tls.RecordHeaderError
		alert      tls.AlertError
		unknownCA  x509.UnknownAuthorityError
		hostname   x509.HostnameError
		invalidCrt x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &header) || errors.As(err, &alert) ||
		errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalidCrt) ||
		strings.Contains(err.Error(), "tls: ")
}

func isAuthError(err error) bool {
	return errors.Is(err, smtp.ErrUnencrypted) || errors.Is(err, mail.ErrNoSupportedAuthDiscovered) ||
		strings.Contains(err.Error(), "SMTP AUTH")
}

func isConnectionLost(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) || errors.Is(err, smtp.ErrNoConnection)
}

// rootText is the innermost error's text: "connection refused" rather than
// "dial tcp 127.0.0.1:25: connect: connection refused".
func rootText(err error) string {
	for {
		inner := errors.Unwrap(err)
		if inner == nil {
			return err.Error()
		}
		err = inner
	}
}
