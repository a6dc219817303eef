//go:build unix && !linux

package main

import "golang.org/x/sys/unix"

// withholdCoreDumps makes the process write no core file: a core size
// limit of 0 that can't be raised again (best effort).
func withholdCoreDumps() {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}
