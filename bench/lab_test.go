package main

import (
	"encoding/json"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// What the load average is said to mean follows from the figure and the
// cores, worked out by hand here.
func TestLoadWords(t *testing.T) {
	quiet := loadWords(machine{cores: 2, load: "1.30, 0.37, 0.13"})
	for _, want := range []string{"on 2 cores", "1.30 runnable tasks", "65% of the cores", "fewer runnable tasks than cores"} {
		if !strings.Contains(quiet, want) {
			t.Errorf("load 1.30 on 2 cores: %q lacks %q", quiet, want)
		}
	}
	loaded := loadWords(machine{cores: 2, load: "8.96, 7.10, 6.02"})
	for _, want := range []string{"8.96 runnable tasks", "448% of the cores", "slower than a quiet machine"} {
		if !strings.Contains(loaded, want) {
			t.Errorf("load 8.96 on 2 cores: %q lacks %q", loaded, want)
		}
	}
	if got := loadWords(machine{cores: 2, load: "unknown"}); !strings.Contains(got, "could not be read") {
		t.Errorf("unknown load: %q", got)
	}
}

// The recorded fixture's note is what the generator writes for the
// machine and load recorded beside it, and names the bench's identities
// as seedLab names them.
func TestLatencyFixtureNote(t *testing.T) {
	data, err := os.ReadFile("../backend/openziti/zitifake/testdata/latency-v2.0.3.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct{ Note, Machine, Load string }
	if err := json.Unmarshal(data, &fx); err != nil {
		t.Fatal(err)
	}
	cores := regexp.MustCompile(`(\d+) cores`).FindStringSubmatch(fx.Machine)
	if cores == nil {
		t.Fatalf("machine %q names no core count", fx.Machine)
	}
	n, _ := strconv.Atoi(cores[1])
	if want := latencyNote("pf-ctl-lat-", machine{cores: n, load: fx.Load}); fx.Note != want {
		t.Errorf("the fixture's note is\n%s\nthe generator writes\n%s", fx.Note, want)
	}
	if labPrefix+"lat-" != "pf-ctl-lat-" {
		t.Errorf("seedLab names them %slat-NNNNN", labPrefix)
	}
}

// BENCHMARKS.md's figure 8 method carries the real controller's recorded
// per-request cost (figures copied by hand from the fixture).
func TestControllerMethodHasRecordedCost(t *testing.T) {
	for _, want := range []string{
		"| GET /identities, a page of 500 (sort by name) | 500 | 140.09 ms |",
		"| GET /enrollments, a page of 500 (sort by id) | 500 | 46.29 ms |",
		"| GET /authenticators, a page of 500 (sort by id) | 500 | 67.46 ms |",
		"of 200 | 200 | 34.70 ms |",
		"×1.52",
		"load average 1.21, 0.37, 0.13",
	} {
		if !strings.Contains(controllerMethod, want) {
			t.Errorf("the method of figure 8 lacks %q:\n%s", want, controllerMethod)
		}
	}
}
