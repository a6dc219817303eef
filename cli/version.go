package cli

import (
	"fmt"
	"runtime/debug"
)

// Commit and Date are stamped in by release builds beside Version:
//
//	go build -ldflags "-X github.com/idcon/idcon/cli.Version=v1.2.3
//	  -X github.com/idcon/idcon/cli.Commit=$(git rev-parse HEAD)
//	  -X github.com/idcon/idcon/cli.Date=$(git log -1 --format=%cI)"
//
// Date is the commit's date, not the build's, so that two builds of one
// commit are the same bytes. Left empty, Commit falls back to what the Go
// toolchain recorded (go build with VCS stamping).
var (
	Commit = ""
	Date   = ""
)

// versionLine is what idcon --version prints after "idcon version ":
// "v1.2.3 (commit 0123456789ab, built 2026-12-07T05:00:00Z)".
func versionLine() string {
	commit, date := Commit, Date
	if commit == "" || date == "" {
		if bi, ok := debug.ReadBuildInfo(); ok {
			for _, s := range bi.Settings {
				switch {
				case s.Key == "vcs.revision" && commit == "":
					commit = s.Value
				case s.Key == "vcs.time" && date == "":
					date = s.Value
				}
			}
		}
	}
	if len(commit) > 12 {
		commit = commit[:12]
	}
	if commit == "" {
		commit = "unknown"
	}
	if date == "" {
		date = "unknown"
	}
	return fmt.Sprintf("%s (commit %s, built %s)", Version, commit, date)
}
