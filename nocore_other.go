//go:build !unix

package main

// withholdCoreDumps: no core dumps to withhold on this system.
func withholdCoreDumps() {}
