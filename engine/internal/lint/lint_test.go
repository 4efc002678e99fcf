package lint_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"huigong/engine/internal/lint"
)

// write puts files into a fresh directory.
func write(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func violations(t *testing.T, dir string, allowed []string) []string {
	t.Helper()
	problems, err := lint.DeciderViolations(dir, allowed)
	if err != nil {
		t.Fatal(err)
	}
	for i := range problems {
		problems[i] = strings.TrimPrefix(problems[i], dir+string(filepath.Separator))
	}
	return problems
}

// TestDeciderViolations shows that the lint finds what it is meant to find, so that a green
// TestDeciderImports in a decider package means something.
func TestDeciderViolations(t *testing.T) {
	dir := write(t, map[string]string{
		"bad.go": `package bad

import (
	"crypto/rand"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os/exec"
	"syscall"
	clock "time"

	"github.com/gofiber/fiber/v2"
	"huigong/engine/journal"
	"huigong/engine/ledger"
	"huigong/engine/ledger/sub"
)

func f() {
	go fmt.Println(rand.N(2), exec.Command, clock.Now, journal.X, ledger.X, sub.X, sql.X, http.X, syscall.X, fiber.X)
	func() { go func() {}() }()
}
`,
		"pure.go": "package bad\n\nimport (\n\t\"math\"\n\t\"slices\"\n)\n\nconst max = math.MaxInt64\n\nvar _ = slices.Sort[[]int]\n",
		// Test files may do what they like.
		"bad_test.go": "package bad\n\nimport \"os\"\n\nfunc g() { go os.Exit(0) }\n",
	})
	want := []string{
		`bad.go:4: imports "crypto/rand"`,
		`bad.go:5: imports "database/sql"`,
		`bad.go:7: imports "math/rand/v2"`,
		`bad.go:8: imports "net/http"`,
		`bad.go:9: imports "os/exec"`,
		`bad.go:10: imports "syscall"`,
		`bad.go:11: imports "time"`,
		`bad.go:13: imports "github.com/gofiber/fiber/v2"`,
		`bad.go:14: imports "huigong/engine/journal"`,
		`bad.go:16: imports "huigong/engine/ledger/sub"`,
		`bad.go:20: starts a goroutine`,
		`bad.go:21: starts a goroutine`,
	}
	// The ledger is allowed by name; journal and a package under the ledger are not.
	if got := violations(t, dir, []string{"huigong/engine/ledger"}); !slices.Equal(got, want) {
		t.Fatalf("problems:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Without the allowlist, the ledger is forbidden too.
	got := violations(t, dir, nil)
	if !slices.Contains(got, `bad.go:15: imports "huigong/engine/ledger"`) || len(got) != len(want)+1 {
		t.Fatalf("without an allowlist:\n%s", strings.Join(got, "\n"))
	}
}

func TestDeciderViolationsClean(t *testing.T) {
	dir := write(t, map[string]string{
		"a.go": "package a\n\nimport (\n\t\"encoding/json\"\n\t\"huigong/engine/ledger\"\n)\n\nvar _ = json.Marshal\nvar _ ledger.Account\n",
	})
	if got := violations(t, dir, []string{"huigong/engine/ledger"}); len(got) != 0 {
		t.Fatalf("clean package: %v", got)
	}
}

// An allowlist may name only packages of the module: allowing "time" would defeat the lint.
func TestDeciderViolationsAllowsOnlyHuigong(t *testing.T) {
	dir := write(t, map[string]string{"a.go": "package a\n"})
	for _, allowed := range [][]string{{"time"}, {"os"}, {"huigongx/y"}} {
		if _, err := lint.DeciderViolations(dir, allowed); err == nil {
			t.Errorf("allowlist %q accepted", allowed)
		}
	}
}

func TestDeciderViolationsParseError(t *testing.T) {
	dir := write(t, map[string]string{"a.go": "package a\n\nfunc {\n"})
	if _, err := lint.DeciderViolations(dir, nil); err == nil {
		t.Fatal("a file that does not parse passed")
	}
}
