package api

import (
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// The OpenAPI 3 document, built from the route table: each route's method, path, auth, query
// parameters and body types (by reflection over their JSON tags).

var pathParam = regexp.MustCompile(`:([A-Za-z_]+)`)

// OpenAPIPath turns a Fiber path into an OpenAPI path: /unions/:union -> /unions/{union}.
func OpenAPIPath(p string) string { return pathParam.ReplaceAllString(p, "{$1}") }

func (s *Server) openAPIHandler(c *fiber.Ctx) error {
	return c.JSON(s.OpenAPI())
}

// OpenAPI returns the document.
func (s *Server) OpenAPI() map[string]any {
	paths := map[string]any{}
	schemas := map[string]any{}
	gen := &schemaGen{defs: schemas}
	problemRef := gen.ref(reflect.TypeOf(Problem{}))
	for _, r := range s.routes {
		p := OpenAPIPath(r.Path)
		item, _ := paths[p].(map[string]any)
		if item == nil {
			item = map[string]any{}
			paths[p] = item
		}
		op := map[string]any{
			"summary":     r.Summary,
			"operationId": operationID(r),
			"tags":        []string{r.Tag},
		}
		var params []any
		for _, m := range pathParam.FindAllStringSubmatch(r.Path, -1) {
			params = append(params, map[string]any{"name": m[1], "in": "path", "required": true,
				"schema": map[string]any{"type": "integer", "minimum": 1}})
		}
		for name, desc := range r.Query {
			params = append(params, map[string]any{"name": name, "in": "query", "required": false, "description": desc,
				"schema": map[string]any{"type": "string"}})
		}
		switch {
		case r.Merchant:
			op["security"] = []any{map[string]any{"merchantSignature": []any{}}}
			for _, h := range []string{HeaderKeyID, HeaderTimestamp, HeaderNonce, HeaderSignature} {
				params = append(params, map[string]any{"name": h, "in": "header", "required": true, "schema": map[string]any{"type": "string"}})
			}
		case !r.Public:
			roles := make([]string, len(r.Roles))
			for i, x := range r.Roles {
				roles[i] = string(x)
			}
			op["security"] = []any{map[string]any{"bearer": []any{}}}
			op["x-roles"] = roles
		}
		if params != nil {
			op["parameters"] = params
		}
		if r.Request != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": gen.ref(reflect.TypeOf(r.Request))}}}
		}
		success := map[string]any{"description": "success"}
		switch {
		case r.Produces != "":
			// Produces may list several types, comma-separated, for a body whose format the
			// caller picks (the audit pack as CSV or XLSX).
			content := map[string]any{}
			for _, ct := range strings.Split(r.Produces, ",") {
				content[strings.TrimSpace(ct)] = map[string]any{"schema": map[string]any{"type": "string", "format": "binary"}}
			}
			success["content"] = content
		case r.Response != nil:
			success["content"] = map[string]any{"application/json": map[string]any{"schema": gen.ref(reflect.TypeOf(r.Response))}}
		}
		op["responses"] = map[string]any{
			itoa(r.Status): success,
			"default": map[string]any{"description": "a problem", "content": map[string]any{
				"application/problem+json": map[string]any{"schema": problemRef}}},
		}
		item[strings.ToLower(r.Method)] = op
	}
	return map[string]any{
		"openapi": "3.0.3",
		"info":    map[string]any{"title": "huigong", "version": "1", "description": "The points and welfare-mall engine of a trade-union member platform."},
		"paths":   paths,
		"components": map[string]any{
			"schemas": schemas,
			"securitySchemes": map[string]any{
				"bearer":            map[string]any{"type": "http", "scheme": "bearer", "bearerFormat": "JWT (EdDSA)"},
				"merchantSignature": map[string]any{"type": "apiKey", "in": "header", "name": HeaderSignature},
			},
		},
	}
}

func operationID(r Route) string {
	p := strings.NewReplacer("/api/v1/", "", "/", "_", ":", "by_", "-", "_").Replace(r.Path)
	return strings.ToLower(r.Method) + "_" + p
}

func itoa(n int) string { return strconv.Itoa(n) }

// schemaGen turns Go types into JSON schemas by their JSON tags.
type schemaGen struct {
	defs map[string]any
}

func (g *schemaGen) ref(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct || t.Name() == "" {
		return g.schema(t)
	}
	name := t.Name()
	if _, ok := g.defs[name]; !ok {
		g.defs[name] = map[string]any{} // Placeholder against recursion.
		g.defs[name] = g.schema(t)
	}
	return map[string]any{"$ref": "#/components/schemas/" + name}
}

func (g *schemaGen) schema(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"}
		}
		return map[string]any{"type": "array", "items": g.ref(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": g.ref(t.Elem())}
	case reflect.Interface:
		return map[string]any{}
	case reflect.Struct:
		if t.String() == "time.Time" {
			return map[string]any{"type": "string", "format": "date-time"}
		}
		props := map[string]any{}
		var required []string
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			tag := f.Tag.Get("json")
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			if f.Anonymous && name == "" {
				for k, v := range g.schema(f.Type)["properties"].(map[string]any) {
					props[k] = v
				}
				continue
			}
			if name == "" {
				name = f.Name
			}
			s := g.ref(f.Type)
			if f.Type.Kind() == reflect.Pointer || f.Type.Kind() == reflect.Slice || f.Type.Kind() == reflect.Map {
				s = map[string]any{"allOf": []any{s}, "nullable": true}
			}
			props[name] = s
			if !strings.Contains(opts, "omitempty") && f.Type.Kind() != reflect.Pointer {
				required = append(required, name)
			}
		}
		out := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
		if len(required) > 0 {
			out["required"] = required
		}
		return out
	}
	return map[string]any{}
}
