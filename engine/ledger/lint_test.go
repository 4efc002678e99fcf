package ledger_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestDeciderImports enforces the purity the package doc promises: no file of the decider
// reads a clock, draws randomness, does IO, imports the rest of huigong or starts a goroutine.
// Build tags are ignored on purpose, so a file behind the invariants tag is checked as well.
func TestDeciderImports(t *testing.T) {
	problems, err := deciderViolations(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestDeciderLintCatches shows that the lint finds what it is meant to find, so that a green
// TestDeciderImports means something.
func TestDeciderLintCatches(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{
		"bad.go": `package bad

import (
	"fmt"
	"math/rand/v2"
	"os/exec"
	clock "time"

	"huigong/engine/journal"
)

func f() { go fmt.Println(rand.N(2), exec.Command, clock.Now, journal.X) }
`,
		"pure.go": "package bad\n\nimport \"math\"\n\nconst max = math.MaxInt64\n",
		// Test files may do what they like.
		"bad_test.go": "package bad\n\nimport \"os\"\n\nfunc g() { go os.Exit(0) }\n",
	}
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	problems, err := deciderViolations(dir)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`bad.go:5: imports "math/rand/v2"`,
		`bad.go:6: imports "os/exec"`,
		`bad.go:7: imports "time"`,
		`bad.go:9: imports "huigong/engine/journal"`,
		`bad.go:12: starts a goroutine`,
	}
	for i := range problems {
		problems[i] = strings.TrimPrefix(problems[i], dir+string(filepath.Separator))
	}
	if !slices.Equal(problems, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
}

// The decider lint. It lives in this test file while the ledger is the only decider package;
// when a second one (welfare, stock) needs it, it moves as is to an internal lint package
// (pebble keeps its lint in internal/lint) and each decider's test calls deciderViolations on
// its own directory.

// deciderForbiddenImports are the packages a decider must not import: clocks, randomness, IO,
// SQL and HTTP. A path also forbids every package under it ("os" forbids "os/exec").
var deciderForbiddenImports = []string{
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
	// engine/ imports nothing of ours (ARCHITECTURE.md), so a decider imports no package of
	// the huigong module.
	"huigong",
}

func deciderImportForbidden(path string) bool {
	for _, f := range deciderForbiddenImports {
		if path == f || strings.HasPrefix(path, f+"/") {
			return true
		}
	}
	return false
}

// deciderViolations checks every non-test .go file in dir and returns one line per forbidden
// import or go statement, as "file:line: what", in file then line order.
func deciderViolations(dir string) ([]string, error) {
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
			if deciderImportForbidden(imported) {
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
