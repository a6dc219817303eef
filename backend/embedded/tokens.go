package embedded

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Enrollment tokens are JWTs in the style of OpenZiti's one-time tokens:
// ES256, a kid naming the network's key, and the claims iss (the network),
// sub (the identity), jti (this token), em "ott", iat and exp. They stay
// well under 450 bytes so a QR code of one is easy to scan.

const (
	tokenMethod  = "ott"
	tokenType    = "JWT"
	maxTokenSize = 4096 // anything longer is not one of ours
)

// The reasons Enroll refuses a token. Each error Enroll returns wraps one
// of them as well as its backend class.
var (
	ErrNotAToken     = errors.New("not an idcon enrollment token")
	ErrTokenReplaced = errors.New("token replaced")
	ErrTokenUsed     = errors.New("token already used")
	ErrTokenDeleted  = errors.New("token deleted")
	ErrTokenExpired  = errors.New("token expired")
)

type ottClaims struct {
	Method string `json:"em"`
	jwt.RegisteredClaims
}

// TokenClaims are an enrollment token's header and claims.
type TokenClaims struct {
	Issuer, Subject, ID, Method, KeyID string
	IssuedAt, ExpiresAt                time.Time
}

// issueToken signs a new token for identity sub. Its jti is fresh on every
// call, so each reset or reissue yields a different token.
func (n *network) issueToken(sub string, now, expires time.Time) (jti, signed string, err error) {
	jti = uuid.NewString()
	signed, err = n.sign(sub, jti, now, expires)
	return jti, signed, err
}

func (n *network) sign(sub, jti string, now, expires time.Time) (string, error) {
	tok := jwt.NewWithClaims(jwt.SigningMethodES256, ottClaims{
		Method: tokenMethod,
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    n.issuer,
			Subject:   sub,
			ID:        jti,
			IssuedAt:  jwt.NewNumericDate(now),
			ExpiresAt: jwt.NewNumericDate(expires),
		},
	})
	tok.Header["kid"] = n.keyID
	tok.Header["typ"] = tokenType
	return tok.SignedString(n.key)
}

// ParseToken reads an enrollment token's header and claims WITHOUT
// verifying its signature (Enroll does that): enough for a device to say
// what a token is for before using it. Anything that is not shaped like an
// idcon enrollment token is refused with an error wrapping ErrNotAToken.
func ParseToken(jwtText string) (TokenClaims, error) {
	text := strings.TrimSpace(jwtText)
	notToken := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrNotAToken, fmt.Sprintf(format, args...))
	}
	switch {
	case text == "":
		return TokenClaims{}, notToken("it is empty")
	case len(text) > maxTokenSize:
		return TokenClaims{}, notToken("it is %d bytes long, far more than a token", len(text))
	case strings.Count(text, ".") != 2:
		return TokenClaims{}, notToken("a token has three parts separated by dots")
	}
	var c ottClaims
	tok, _, err := jwt.NewParser().ParseUnverified(text, &c)
	if err != nil {
		return TokenClaims{}, notToken("%v", err)
	}
	kid, _ := tok.Header["kid"].(string)
	alg, _ := tok.Header["alg"].(string)
	switch {
	case alg != jwt.SigningMethodES256.Alg():
		return TokenClaims{}, notToken("it is signed with %q, not ES256", alg)
	case kid == "":
		return TokenClaims{}, notToken("its header names no key (kid)")
	case c.Method != tokenMethod:
		return TokenClaims{}, notToken("its enrollment method is %q, not %q", c.Method, tokenMethod)
	case c.Issuer == "" || c.Subject == "" || c.ID == "":
		return TokenClaims{}, notToken("it lacks an issuer, subject or token ID")
	case c.ExpiresAt == nil:
		return TokenClaims{}, notToken("it has no expiry")
	}
	out := TokenClaims{Issuer: c.Issuer, Subject: c.Subject, ID: c.ID, Method: c.Method, KeyID: kid, ExpiresAt: c.ExpiresAt.UTC()}
	if c.IssuedAt != nil {
		out.IssuedAt = c.IssuedAt.UTC()
	}
	return out, nil
}

// verifyToken checks the token's signature with the network's key.
func (n *network) verifyToken(text string) error {
	p := jwt.NewParser(jwt.WithValidMethods([]string{jwt.SigningMethodES256.Alg()}), jwt.WithoutClaimsValidation())
	_, err := p.ParseWithClaims(strings.TrimSpace(text), &ottClaims{}, func(*jwt.Token) (any, error) {
		return &n.key.PublicKey, nil
	})
	return err
}
