package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The README's walkthrough, run as written against a fresh demo server.
//
// The walkthrough is the README's text between <!-- walkthrough:begin --> and
// <!-- walkthrough:end -->. Each ```sh block is a step; the <!-- walkthrough:expect TEXT -->
// comments before a block are texts its output must contain. The steps run in order in one
// bash process (so their variables carry over) under set -euo pipefail, and every curl in them
// uses --fail-with-body, so an HTTP error fails its step.
//
// Only three lines are changed, all in the first block: the assignments HG= (to this test's
// huigong binary), API= (to the test server's address) and DATA= (to its data directory).

const (
	walkthroughBegin  = "<!-- walkthrough:begin -->"
	walkthroughEnd    = "<!-- walkthrough:end -->"
	walkthroughExpect = "<!-- walkthrough:expect "
)

type walkthroughStep struct {
	code    string
	expects []string
}

// parseWalkthrough extracts the steps of the README's walkthrough.
func parseWalkthrough(readme string) ([]walkthroughStep, error) {
	_, rest, ok := strings.Cut(readme, walkthroughBegin)
	if !ok {
		return nil, fmt.Errorf("no %s", walkthroughBegin)
	}
	body, _, ok := strings.Cut(rest, walkthroughEnd)
	if !ok {
		return nil, fmt.Errorf("no %s", walkthroughEnd)
	}
	var steps []walkthroughStep
	var expects []string
	lines := strings.Split(body, "\n")
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		switch {
		case strings.HasPrefix(line, walkthroughExpect):
			text, ok := strings.CutSuffix(strings.TrimPrefix(line, walkthroughExpect), " -->")
			if !ok || text == "" {
				return nil, fmt.Errorf("malformed expectation %q", line)
			}
			expects = append(expects, text)
		case line == "```sh":
			var code []string
			for i++; i < len(lines) && strings.TrimSpace(lines[i]) != "```"; i++ {
				code = append(code, lines[i])
			}
			if i == len(lines) {
				return nil, fmt.Errorf("a code block of the walkthrough does not end")
			}
			steps = append(steps, walkthroughStep{code: strings.Join(code, "\n"), expects: expects})
			expects = nil
		case strings.HasPrefix(line, "```"):
			return nil, fmt.Errorf("a code block that is not sh in the walkthrough: %q", line)
		}
	}
	if len(expects) > 0 {
		return nil, fmt.Errorf("expectations %q after the last block", expects)
	}
	return steps, nil
}

// substitute replaces the assignment of each name in code, which must occur exactly once.
func substitute(code string, values map[string]string) (string, error) {
	for name, value := range values {
		re := regexp.MustCompile(`(?m)^` + name + `=.*$`)
		if n := len(re.FindAllString(code, -1)); n != 1 {
			return "", fmt.Errorf("%d assignments of %s in the first block, want 1", n, name)
		}
		code = re.ReplaceAllLiteralString(code, name+"="+shellQuote(value))
	}
	return code, nil
}

func TestReadmeWalkthrough(t *testing.T) {
	for _, tool := range []string{"bash", "curl", "awk"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("the walkthrough needs %s, which is not installed", tool)
		}
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	steps, err := parseWalkthrough(string(readme))
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}
	if len(steps) < 5 {
		t.Fatalf("the walkthrough has %d steps", len(steps))
	}

	data := filepath.Join(t.TempDir(), "data")
	s := startServer(t, "--demo", "--data", data)
	first, err := substitute(steps[0].code, map[string]string{"HG": huigongBinary(t), "API": "http://" + s.addr, "DATA": data})
	if err != nil {
		t.Fatalf("README.md: %v", err)
	}

	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for i, st := range steps {
		code := st.code
		if i == 0 {
			code = first
		}
		fmt.Fprintf(&script, "echo '@@step %d@@'\n%s\n", i, code)
	}
	script.WriteString("echo '@@done@@'\n")
	path := filepath.Join(t.TempDir(), "walkthrough.sh")
	if err := os.WriteFile(path, []byte(script.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("bash", path)
	cmd.Dir = root // as the README says: from the repository's root
	// Under -race, a process waits a second at exit for the race reports; the walkthrough runs
	// the binary a dozen times.
	cmd.Env = append(os.Environ(), "GORACE=atexit_sleep_ms=0")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("walkthrough ran in %v", time.Since(start))
	parts := regexp.MustCompile(`(?m)^@@step (\d+)@@$`).Split(string(out), -1)
	if err != nil || !strings.Contains(string(out), "@@done@@") {
		t.Fatalf("the walkthrough failed (%v) in step %d:\n%s\n--- output:\n%s\n--- server log:\n%s",
			err, len(parts)-2, steps[max(0, len(parts)-2)].code, out, s.stderr.String())
	}
	for i, st := range steps {
		for _, want := range st.expects {
			if !strings.Contains(parts[i+1], want) {
				t.Errorf("step %d does not print %q:\n%s\n--- its output:\n%s", i, want, st.code, parts[i+1])
			}
		}
	}
	s.stop(syscall.SIGTERM)
}

func TestParseWalkthrough(t *testing.T) {
	good := "intro\n" + walkthroughBegin + "\n```sh\nHG=x\n```\ntext\n" + walkthroughExpect + "ok -->\n```sh\necho ok\n```\n" + walkthroughEnd + "\n```sh\nignored\n```\n"
	steps, err := parseWalkthrough(good)
	if err != nil || len(steps) != 2 || steps[0].code != "HG=x" || len(steps[0].expects) != 0 ||
		steps[1].code != "echo ok" || len(steps[1].expects) != 1 || steps[1].expects[0] != "ok" {
		t.Fatalf("parsed %+v, %v", steps, err)
	}
	for name, bad := range map[string]string{
		"no begin":          "```sh\nx\n```\n" + walkthroughEnd,
		"no end":            walkthroughBegin + "\n```sh\nx\n```\n",
		"unterminated code": walkthroughBegin + "\n```sh\nx\n" + walkthroughEnd,
		"other language":    walkthroughBegin + "\n```go\nx\n```\n" + walkthroughEnd,
		"dangling expect":   walkthroughBegin + "\n```sh\nx\n```\n" + walkthroughExpect + "y -->\n" + walkthroughEnd,
	} {
		if _, err := parseWalkthrough(bad); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	code, err := substitute("HG=\"go run ./cmd/huigong\"  # comment\nAPI=http://x\nDATA=./data\nTOKEN=$HG\n",
		map[string]string{"HG": "/tmp/a b/huigong", "API": "http://127.0.0.1:1", "DATA": "/d"})
	if err != nil || code != "HG='/tmp/a b/huigong'\nAPI=http://127.0.0.1:1\nDATA=/d\nTOKEN=$HG\n" {
		t.Errorf("substituted %q, %v", code, err)
	}
	if _, err := substitute("HG=a\nHG=b\n", map[string]string{"HG": "x"}); err == nil {
		t.Error("two assignments substituted")
	}
}
