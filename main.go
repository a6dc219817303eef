// Command idcon is a keyboard-driven console and a scriptable CLI for
// managing identity enrollment on zero-trust overlay networks. This file is
// wiring only; the commands live in package cli.
package main

import (
	"os"

	"github.com/idcon/idcon/cli"
)

func main() {
	// idcon holds controller passwords, MFA codes, session tokens and
	// enrollment JWTs in memory: none of it goes into a core dump
	// (nocore_*.go), whatever the shell's ulimit or GOTRACEBACK say.
	withholdCoreDumps()
	os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
