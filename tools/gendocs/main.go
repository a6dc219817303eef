// Command gendocs writes idcon's man pages and shell completions from the
// command tree (cli.WriteDocs), for make release and the packages:
//
//	go run ./tools/gendocs -o DIR [-version v1.2.3] [-date 2026-12-07T05:00:00Z]
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/idcon/idcon/cli"
)

func main() {
	out := flag.String("o", "", "the folder to write man/ and completions/ into")
	version := flag.String("version", cli.Version, "the version the man pages name")
	date := flag.String("date", "", "the man pages' date, RFC 3339 (default now)")
	flag.Parse()
	if *out == "" || flag.NArg() > 0 {
		fmt.Fprintln(os.Stderr, "gendocs: usage: go run ./tools/gendocs -o DIR [-version V] [-date RFC3339]")
		os.Exit(2)
	}
	if err := cli.WriteDocs(*out, *version, *date); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}
