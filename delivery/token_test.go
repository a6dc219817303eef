package delivery

import (
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// maxTokenLen is the longest enrollment token idcon hands out.
const maxTokenLen = 450

// makeJWT returns a token shaped like an ES256 enrollment token (header,
// claims, 64-byte signature) of exactly size bytes. It is the same for the
// same size: the QR tests then decode the same codes on every run. (The
// gozxing decoder misses about 1 in 100 valid codes that zbar reads; random
// tokens would make the tests flaky, not stricter.) The signature is a hash,
// not a signature: nothing here verifies it.
func makeJWT(t testing.TB, size int) string {
	t.Helper()
	enc := base64.RawURLEncoding
	for kid := 0; kid < 4; kid++ {
		header := map[string]string{"alg": "ES256", "typ": "JWT"}
		if kid > 0 {
			header["kid"] = strings.Repeat("k", kid)
		}
		h, err := json.Marshal(header)
		if err != nil {
			t.Fatal(err)
		}
		for pad := 0; pad < size; pad++ {
			p, err := json.Marshal(map[string]any{
				"iss":   "https://ctrl.example.org:1280/",
				"sub":   "7cRkVtE2Xq",
				"jti":   "0f9d1f7e-5b4e-4a43-9d7e-1c2b3a4d5e6f",
				"em":    "ott",
				"exp":   1898690700,
				"ctrls": strings.Repeat("c", pad),
			})
			if err != nil {
				t.Fatal(err)
			}
			signed := enc.EncodeToString(h) + "." + enc.EncodeToString(p)
			sig := sha512.Sum512([]byte(signed))
			tok := signed + "." + enc.EncodeToString(sig[:])
			if len(tok) == size {
				return tok
			}
			if len(tok) > size {
				break
			}
		}
	}
	t.Fatalf("could not make a token of %d bytes", size)
	return ""
}

func TestMakeJWTSizes(t *testing.T) {
	for _, size := range []int{maxTokenLen, 449, 315} {
		tok := makeJWT(t, size)
		if len(tok) != size || strings.Count(tok, ".") != 2 || tok != makeJWT(t, size) {
			t.Errorf("makeJWT(%d) made %d bytes, or not a JWT, or not the same twice", size, len(tok))
		}
	}
}
