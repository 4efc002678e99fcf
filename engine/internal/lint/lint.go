// Package lint holds the checks that keep huigong's deciders pure (STYLE.md, "The core stays
// pure"), as pebble keeps its lint in internal/lint. Each decider package calls
// DeciderViolations on its own directory from a test, so a forbidden import or a goroutine
// fails that package's build.
package lint

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ForbiddenImports are the packages a decider must not import: clocks, randomness, IO, SQL and
// HTTP. A path also forbids every package under it ("os" forbids "os/exec").
var ForbiddenImports = []string{
	"time",
	"math/rand",
	"math/rand/v2",
	"crypto/rand",
	"os",
	"net",
	"net/http",
	"database/sql",
	"syscall",
	"github.com/gofiber/fiber/v2",
	// engine/ imports nothing of the rest of huigong (ARCHITECTURE.md), so a decider imports
	// no package of the module but the other deciders its caller allows by name.
	"huigong",
}

// importForbidden reports whether a decider may not import path. allowed names huigong
// packages exactly: allowing "huigong/engine/ledger" does not allow a package under it.
func importForbidden(path string, allowed []string) bool {
	if slices.Contains(allowed, path) {
		return false
	}
	for _, f := range ForbiddenImports {
		if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

// DeciderViolations checks every non-test .go file in dir and returns one line per forbidden
// import or go statement, as "file:line: what", in file then line order. allowed lists the
// huigong packages (other deciders) the package may import; nothing else is exempt. Build tags
// are ignored on purpose, so that a file behind the invariants tag is checked as well.
func DeciderViolations(dir string, allowed []string) ([]string, error) {
	for _, a := range allowed {
		if a != "huigong" && !strings.HasPrefix(a, "huigong/") {
			return nil, fmt.Errorf("lint: %q is not a huigong package; only deciders of the module may be allowed", a)
		}
	}
	paths, err := filepath.Glob(filepath.Join(dir, "*.go"))
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	var problems []string
	fset := token.NewFileSet()
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		// One full parse serves both checks: ImportsOnly would do for the imports, but the go
		// statements are in the function bodies.
		file, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return nil, err
		}
		for _, spec := range file.Imports {
			imported, err := strconv.Unquote(spec.Path.Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fset.Position(spec.Pos()), err)
			}
			if importForbidden(imported, allowed) {
				problems = append(problems, fmt.Sprintf("%s:%d: imports %q", path, fset.Position(spec.Pos()).Line, imported))
			}
		}
		ast.Inspect(file, func(n ast.Node) bool {
			if g, ok := n.(*ast.GoStmt); ok {
				problems = append(problems, fmt.Sprintf("%s:%d: starts a goroutine", path, fset.Position(g.Pos()).Line))
			}
			return true
		})
	}
	return problems, nil
}
