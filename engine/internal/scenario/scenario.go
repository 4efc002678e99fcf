// Package scenario holds what the datadriven scenario tests of the engine's deciders share:
// reading the expected outputs of a testdata file, and amounts written as yuan.
package scenario

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// ExpectedLines returns the expected-output lines of every directive of a datadriven file, so
// a test can check which result codes the files cover.
func ExpectedLines(tb testing.TB, path string) []string {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	var lines []string
	expected := false
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case line == "----":
			expected = true
		case strings.TrimSpace(line) == "":
			expected = false
		case expected:
			lines = append(lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

// ParseYuan reads yuan with exactly two decimals ("5.00", "-0.07") as fen, by joining the
// digits: never through a float.
func ParseYuan(s string) (int64, error) {
	sign := ""
	digits := s
	if rest, ok := strings.CutPrefix(s, "-"); ok {
		sign, digits = "-", rest
	}
	whole, frac, ok := strings.Cut(digits, ".")
	if !ok || len(frac) != 2 || whole == "" || !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("amount %q must be yuan with two decimals, such as 5.00", s)
	}
	return strconv.ParseInt(sign+whole+frac, 10, 64)
}

func allDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Yuan formats fen as yuan with two decimals, the inverse of ParseYuan.
func Yuan(fen int64) string {
	sign := ""
	magnitude := uint64(fen)
	if fen < 0 {
		sign, magnitude = "-", -magnitude // Two's complement: exact even for math.MinInt64.
	}
	return fmt.Sprintf("%s%d.%02d", sign, magnitude/100, magnitude%100)
}
