package api_test

import (
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"huigong/api"
)

// The OpenAPI document against the routes Fiber serves and against what those routes do.

// servedRoutes lists "METHOD /openapi/path" for every route Fiber serves, leaving out
// middleware (app.Use) and the HEAD twin Fiber adds to a GET.
func servedRoutes(s *api.Server) []string {
	var out []string
	gets := map[string]bool{}
	routes := s.App().GetRoutes(true)
	for _, r := range routes {
		if r.Method == http.MethodGet {
			gets[r.Path] = true
		}
	}
	for _, r := range routes {
		if r.Method == http.MethodHead && gets[r.Path] {
			continue
		}
		out = append(out, r.Method+" "+api.OpenAPIPath(r.Path))
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// servedDocument fetches /api/openapi.json and loads and validates it with kin-openapi.
func servedDocument(t *testing.T, h *harness) *openapi3.T {
	t.Helper()
	r := h.do(http.MethodGet, "/api/openapi.json", "", nil).must(t, http.StatusOK)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("/api/openapi.json has content type %q", ct)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(r.Body)
	if err != nil {
		t.Fatalf("the served document does not load: %v", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		t.Fatalf("the served document is not valid: %v", err)
	}
	return doc
}

// documentedOperations lists "METHOD /path" for every operation of doc.
func documentedOperations(doc *openapi3.T) map[string]*openapi3.Operation {
	out := map[string]*openapi3.Operation{}
	for path, item := range doc.Paths.Map() {
		for method, op := range item.Operations() {
			out[strings.ToUpper(method)+" "+path] = op
		}
	}
	return out
}

// Every route Fiber serves is documented and every documented operation is served; each
// operation has a summary, a tag, an operation id, its success response and the problem
// answer, and the security its route declares.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	h := newHarness(t)
	doc := servedDocument(t, h)
	ops := documentedOperations(doc)

	served := servedRoutes(h.server)
	if len(served) < 50 {
		t.Fatalf("only %d routes served: %v", len(served), served)
	}
	for _, k := range served {
		if ops[k] == nil {
			t.Errorf("%s is served but not documented", k)
		}
	}
	for k := range ops {
		if !slices.Contains(served, k) {
			t.Errorf("%s is documented but not served", k)
		}
	}

	routes := map[string]api.Route{}
	for _, r := range h.server.Routes() {
		routes[r.Method+" "+api.OpenAPIPath(r.Path)] = r
	}
	if len(routes) != len(ops) {
		t.Errorf("%d routes in the table, %d operations documented", len(routes), len(ops))
	}
	ids := map[string]string{}
	pathParam := regexp.MustCompile(`\{([a-z_]+)\}`)
	for k, op := range ops {
		r, ok := routes[k]
		if !ok {
			t.Errorf("%s is documented but not in the route table", k)
			continue
		}
		if strings.TrimSpace(op.Summary) == "" {
			t.Errorf("%s has no summary", k)
		}
		if len(op.Tags) != 1 || op.Tags[0] == "" {
			t.Errorf("%s has tags %q, want one", k, op.Tags)
		}
		if op.OperationID == "" {
			t.Errorf("%s has no operation id", k)
		} else if other, dup := ids[op.OperationID]; dup {
			t.Errorf("%s and %s share the operation id %s", k, other, op.OperationID)
		}
		ids[op.OperationID] = k
		if (r.Request != nil) != (op.RequestBody != nil) {
			t.Errorf("%s: request body documented %v, route has one %v", k, op.RequestBody != nil, r.Request != nil)
		}
		// Path parameters are documented as required positive integers, one per placeholder.
		var inPath []string
		for _, p := range op.Parameters {
			if p.Value.In == openapi3.ParameterInPath {
				inPath = append(inPath, p.Value.Name)
				if !p.Value.Required || p.Value.Schema == nil || !p.Value.Schema.Value.Type.Is(openapi3.TypeInteger) {
					t.Errorf("%s: path parameter %s is not a required integer", k, p.Value.Name)
				}
			}
		}
		var placeholders []string
		for _, m := range pathParam.FindAllStringSubmatch(k, -1) {
			placeholders = append(placeholders, m[1])
		}
		if !slices.Equal(inPath, placeholders) {
			t.Errorf("%s: path parameters %v, placeholders %v", k, inPath, placeholders)
		}

		// Responses: the route's success status, and problem+json for everything else.
		if op.Responses == nil || op.Responses.Len() != 2 {
			t.Errorf("%s: responses %v, want the success and the default", k, op.Responses)
			continue
		}
		success := op.Responses.Status(r.Status)
		if r.Status < 200 || r.Status > 299 || success == nil || success.Value.Description == nil || *success.Value.Description == "" {
			t.Errorf("%s: no described %d response", k, r.Status)
		} else if r.Response != nil && success.Value.Content.Get("application/json") == nil {
			t.Errorf("%s: the %d response has no JSON schema", k, r.Status)
		}
		def := op.Responses.Default()
		if def == nil || def.Value.Content.Get("application/problem+json") == nil {
			t.Errorf("%s: the default response is not application/problem+json", k)
		}

		// Security: none for public routes, a bearer token with the route's roles, or the
		// merchant signature with its four headers.
		var schemes []string
		if op.Security != nil {
			for _, req := range *op.Security {
				for name := range req {
					schemes = append(schemes, name)
				}
			}
		}
		roles := docRoles(op)
		switch {
		case r.Public:
			if len(schemes) != 0 || roles != nil {
				t.Errorf("%s is public but documents security %v roles %v", k, schemes, roles)
			}
		case r.Merchant:
			if !slices.Equal(schemes, []string{"merchantSignature"}) || roles != nil {
				t.Errorf("%s is signed by merchants but documents security %v roles %v", k, schemes, roles)
			}
			for _, hd := range []string{api.HeaderKeyID, api.HeaderTimestamp, api.HeaderNonce, api.HeaderSignature} {
				if p := op.Parameters.GetByInAndName(openapi3.ParameterInHeader, hd); p == nil || !p.Required {
					t.Errorf("%s does not document the required header %s", k, hd)
				}
			}
		default:
			want := make([]string, len(r.Roles))
			for i, x := range r.Roles {
				want[i] = string(x)
			}
			if !slices.Equal(schemes, []string{"bearer"}) || len(want) == 0 || !slices.Equal(roles, want) {
				t.Errorf("%s takes roles %v but documents security %v roles %v", k, want, schemes, roles)
			}
		}
	}
	for _, name := range []string{"bearer", "merchantSignature"} {
		if doc.Components == nil || doc.Components.SecuritySchemes[name] == nil {
			t.Errorf("the security scheme %s is not defined", name)
		}
	}
}

// docRoles is an operation's x-roles, nil when absent.
func docRoles(op *openapi3.Operation) []string {
	v, ok := op.Extensions["x-roles"]
	if !ok {
		return nil
	}
	list, _ := v.([]any)
	out := []string{}
	for _, x := range list {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}

// The security the document states is the security the server enforces: an operation with
// none answers without credentials; one with a bearer token refuses no token (401) and the
// roles it does not list (403 forbidden) and lets the roles it lists through; one with the
// merchant signature refuses an unsigned request and lets a signed one through. Path ids are 1
// and the tokens name union 1 and point 1, so an officer of union 1 is past the role check.
func TestOpenAPISecurityIsEnforced(t *testing.T) {
	h := newHarness(t)
	doc := servedDocument(t, h)
	roles := []api.Role{api.RoleMember, api.RoleOfficer, api.RoleFederation, api.RoleKeeper, api.RoleModule}
	tokens := map[api.Role]string{}
	for _, r := range roles {
		tokens[r] = h.token(r, 1, 1, 1)
	}
	ids := regexp.MustCompile(`\{[a-z_]+\}`)
	checked := 0
	for k, op := range documentedOperations(doc) {
		method, docPath, _ := strings.Cut(k, " ")
		path := ids.ReplaceAllString(docPath, "1")
		var schemes []string
		if op.Security != nil {
			for _, req := range *op.Security {
				for name := range req {
					schemes = append(schemes, name)
				}
			}
		}
		anon := h.do(method, path, "", nil)
		switch {
		case len(schemes) == 0:
			if anon.Status == http.StatusUnauthorized || anon.Status == http.StatusForbidden {
				t.Errorf("%s documents no security but answers %d without credentials: %s", k, anon.Status, anon.Body)
			}
		case slices.Equal(schemes, []string{"merchantSignature"}):
			if p := anon.Problem(t); anon.Status != http.StatusUnauthorized || p.Code != "bad_signature" {
				t.Errorf("%s without a signature: %d %s", k, anon.Status, anon.Body)
			}
			if r := h.signed(1, method, path, nil); r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden {
				t.Errorf("%s refuses a signed request: %d %s", k, r.Status, r.Body)
			}
		case slices.Equal(schemes, []string{"bearer"}):
			if p := anon.Problem(t); anon.Status != http.StatusUnauthorized || p.Code != "unauthenticated" {
				t.Errorf("%s without a token: %d %s", k, anon.Status, anon.Body)
			}
			listed := docRoles(op)
			for _, role := range roles {
				r := h.do(method, path, tokens[role], nil)
				refused := r.Status == http.StatusUnauthorized || (r.Status == http.StatusForbidden && r.Problem(t).Code == "forbidden")
				if want := !slices.Contains(listed, string(role)); refused != want {
					t.Errorf("%s as %s: %d %s; the document lists roles %v", k, role, r.Status, r.Body, listed)
				}
			}
		default:
			t.Errorf("%s documents security %v", k, schemes)
		}
		checked++
	}
	if checked < 50 {
		t.Fatalf("only %d operations checked", checked)
	}
}
