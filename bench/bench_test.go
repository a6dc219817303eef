package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestSmoke runs the whole driver on two small networks (the second
// standing in for the 1,000,000 of make bench), once each, and checks that
// the table and the report hold every figure. It asserts no timing: the
// figures themselves come from make bench.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the benchmark driver builds idcon and runs it in a terminal")
	}
	report := filepath.Join(t.TempDir(), "BENCHMARKS.md")
	var out, log bytes.Buffer
	if err := Run(t.Context(), Config{Identities: 2000, Large: 3000, Quick: true, Out: report}, &out, &log); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	doc, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"1", "2a", "2b", "2c", "3a", "3b", "3c", "4", "4b", "5", "6", "7", "8", "8b", "9"} {
		for what, text := range map[string]string{"table": out.String(), "report": string(doc)} {
			if !strings.Contains(text, "\n| "+id+" | ") {
				t.Errorf("the %s has no row %s:\n%s", what, id, text)
			}
		}
	}
	for _, want := range []string{"Machine: ", "cores", "go1.", "`idcon demo --identities 2000`", "`idcon demo --identities 3000`",
		"Load average", "How each figure is taken", "| idcon, 3,000 |", "## What moved (issue 27)", "## Where the bulk reset's time goes (4b)"} {
		if !strings.Contains(string(doc), want) {
			t.Errorf("the report lacks %q", want)
		}
	}
	// Every row has a figure for idcon and for the baseline (but the
	// file's size, which has none), a target and a verdict; the rows the
	// large network is measured for have its figure, target and verdict.
	large := map[string]bool{"1": true, "2a": true, "2b": true, "2c": true, "3a": true, "3b": true, "5": true, "6": true, "7": true, "9": true}
	rows := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| #") {
			continue
		}
		rows++
		cells := strings.Split(strings.Trim(line, "| "), " | ")
		if len(cells) != 10 {
			t.Errorf("%d cells, want 10: %s", len(cells), line)
			continue
		}
		id := cells[0]
		if cells[2] == "—" || strings.HasPrefix(cells[3], "—") && id != "9" || cells[5] == "" || cells[6] == "" {
			t.Errorf("a figure is missing: %s", line)
		}
		if large[id] && (cells[7] == "—" || cells[8] == "" || cells[9] == "") || !large[id] && (cells[7] != "—" || cells[9] != "—") {
			t.Errorf("the large network's figure is wrong: %s", line)
		}
	}
	if rows != 15 { // 10, the lab's, is not taken under -quick
		t.Errorf("%d rows, want 15:\n%s", rows, out.String())
	}
}
