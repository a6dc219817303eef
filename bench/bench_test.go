package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmoke runs the whole driver on a small network, once each, and
// checks that the table and the report hold every figure. It asserts no
// timing: the figures themselves come from make bench.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the benchmark driver builds idcon and runs it in a terminal")
	}
	report := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	var out, log bytes.Buffer
	if err := Run(t.Context(), Config{Identities: 2000, Quick: true, Out: report}, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	doc, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "2a", "2b", "2c", "3a", "3b", "3c", "4", "4b", "5", "6", "7", "8"} {
		for what, text := range map[string]string{"table": out.String(), "report": string(doc)} {
			if !strings.Contains(text, "\n| "+id+" | ") {
				t.Errorf("the %s has no row %s:\n%s", what, id, text)
			}
		}
	}
	for _, want := range []string{"Machine: ", "cores", "go1.", "`idcon demo --identities 2000`", "How each figure is taken"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// Every row has a figure for idcon and for the baseline.
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.HasPrefix(line, "| ") && !strings.HasPrefix(line, "| #") {
			cells := strings.Split(line, " | ")
			if len(cells) < 4 || cells[2] == "—" || strings.HasPrefix(cells[3], "—") {
				t.Errorf("a figure is missing: %s", line)
			}
		}
	}
}
