package zitifake

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"go.yaml.in/yaml/v3"
)

// SpecDir is the folder holding the shared OpenZiti spec files
// (management.yml, management-prism.json): shared/openziti beside the
// repository. It is found from the working folder (a test runs in its
// package's folder) by walking up to the folder holding go.mod, so it works
// wherever the repository is cloned, as long as shared/ sits beside it.
func SpecDir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("finding the OpenZiti spec: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(filepath.Dir(dir), "shared", "openziti"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("finding the OpenZiti spec: no go.mod above the working folder, so no repository root to find shared/openziti beside")
		}
		dir = parent
	}
}

// loadedSpec is the Edge Management spec converted to OpenAPI 3, loaded
// once per test binary (it takes a few hundred milliseconds) and never
// changed afterwards.
var loadedSpec = sync.OnceValues(func() (*openapi3.T, error) {
	dir, err := SpecDir()
	if err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "management.yml")
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("the OpenZiti spec is missing (%v): shared/openziti/management.yml must sit beside the repo", err)
	}
	// kin-openapi reads Swagger 2.0 through encoding/json, so go through
	// a generic tree.
	var tree any
	if err := yaml.Unmarshal(raw, &tree); err != nil {
		return nil, fmt.Errorf("parse %s: %v", path, err)
	}
	js, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("re-encode %s: %v", path, err)
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(js, &doc2); err != nil {
		return nil, fmt.Errorf("read %s as Swagger 2.0: %v", path, err)
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return nil, fmt.Errorf("convert %s to OpenAPI 3: %v", path, err)
	}
	// Spec quirk: subTags (the values of tags and appData) is declared as
	// additionalProperties {type: object}, go-swagger's spelling of "any",
	// while the definition's own description says the values are "null,
	// string, boolean" and the controller stores string tags (as the ziti
	// CLI's --tags-json sets them). idcon keeps the email in a string tag,
	// so the fake validates tag values as the description says.
	if st := doc3.Components.Schemas["subTags"]; st != nil && st.Value != nil {
		st.Value.AdditionalProperties = openapi3.AdditionalProperties{Schema: openapi3.NewSchemaRef("", &openapi3.Schema{
			Type:     &openapi3.Types{openapi3.TypeString, openapi3.TypeBoolean},
			Nullable: true,
		})}
	}
	// The EST endpoint answers application/pkcs7-mime: base64 text, which
	// the spec declares as a string. kin-openapi only knows its decoders
	// by media type, in a registry of its own (set once here).
	openapi3filter.RegisterBodyDecoder("application/pkcs7-mime", openapi3filter.PlainBodyDecoder)
	return doc3, nil
})

// Spec returns the Edge Management spec as OpenAPI 3, loading it on first
// use.
func Spec() (*openapi3.T, error) { return loadedSpec() }

// specValidator checks requests and responses against the spec.
type specValidator struct {
	router routers.Router
	host   string // the server's host:port, which the router matches
}

func newSpecValidator(serverURL string) (*specValidator, error) {
	doc, err := loadedSpec()
	if err != nil {
		return nil, err
	}
	// A shallow copy with this server's URL: the spec names demo.ziti.dev.
	d := *doc
	d.Servers = openapi3.Servers{{URL: serverURL + apiPath}}
	r, err := gorillamux.NewRouter(&d)
	if err != nil {
		return nil, fmt.Errorf("route the spec: %v", err)
	}
	host := strings.TrimPrefix(strings.TrimPrefix(serverURL, "https://"), "http://")
	return &specValidator{router: r, host: host}, nil
}

// zitiSession checks the spec's security schemes: ztSession (an API key in
// the zt-session header, a legacy session) or oauth2 (an OIDC access
// token as Authorization: Bearer, which a v2 controller takes).
func zitiSession(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	h := in.RequestValidationInput.Request.Header
	switch in.SecuritySchemeName {
	case "ztSession":
		if h.Get("zt-session") == "" {
			return errors.New("no zt-session header")
		}
	case "oauth2":
		if !strings.HasPrefix(h.Get("Authorization"), "Bearer ") {
			return errors.New("no Authorization: Bearer header")
		}
	default:
		return fmt.Errorf("unknown security scheme %s", in.SecuritySchemeName)
	}
	return nil
}

var validationOptions = &openapi3filter.Options{
	AuthenticationFunc:    zitiSession,
	IncludeResponseStatus: true, // a status the spec doesn't list is a violation
	MultiError:            true,
}

// request validates a request whose body was read into body; it returns
// the route for the response check.
func (v *specValidator) request(r *http.Request, body []byte) (*openapi3filter.RequestValidationInput, error) {
	// The nodes of a fake cluster share one store and one spec: match
	// every node's requests as if made to the first.
	rr := r
	if r.Host != v.host {
		rr = r.Clone(r.Context())
		rr.Host, rr.URL.Host = v.host, ""
	}
	route, params, err := v.router.FindRoute(rr)
	if err != nil {
		return nil, fmt.Errorf("%s %s is not in the spec: %v", r.Method, r.URL.Path, err)
	}
	r2 := r.Clone(r.Context())
	r2.Body = io.NopCloser(bytes.NewReader(body))
	in := &openapi3filter.RequestValidationInput{Request: r2, PathParams: params, Route: route, Options: validationOptions}
	if err := openapi3filter.ValidateRequest(r.Context(), in); err != nil {
		return in, fmt.Errorf("request %s %s breaks the spec: %v", r.Method, r.URL.Path, err)
	}
	return in, nil
}

// response validates a response to a validated request.
func (v *specValidator) response(in *openapi3filter.RequestValidationInput, status int, header http.Header, body []byte) error {
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                validationOptions,
	}
	if err := openapi3filter.ValidateResponse(in.Request.Context(), out); err != nil {
		return fmt.Errorf("response %d to %s %s breaks the spec: %v", status, in.Request.Method, in.Request.URL.Path, err)
	}
	return nil
}
