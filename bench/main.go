// Command bench measures idcon at the scale it is built for, a network of
// 100,000 identities, side by side with a baseline in the same run: the
// stock bubbles list holding every identity in memory (package
// stocklist), the approach most Bubble Tea apps take. It prints one table
// and writes it, with the machine's description, to docs/BENCHMARKS.md.
//
//	go run ./bench                      # what make bench runs
//	go run ./bench -identities 2000 -o ''
//
// It builds idcon and the baseline program, seeds a demo network with
// idcon itself, then times the console in-process (driving the model as
// Bubble Tea would), in a real tea.Program writing to a counting writer,
// and as real processes in a pseudo-terminal.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Identities, "identities", cfg.Identities, "size of the network measured")
	flag.StringVar(&cfg.Out, "o", cfg.Out, "the Markdown file to write the table to ('' writes none)")
	flag.BoolVar(&cfg.Quick, "quick", false, "one run of each figure, for a smoke test")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := Run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Config says what to measure and where the result goes.
type Config struct {
	Identities int
	Out        string // Markdown file; "" for none
	Quick      bool   // one run of each figure
	// Root is the module's folder (found from go env GOMOD when empty).
	Root string
}

func defaultConfig() Config {
	return Config{Identities: 100_000, Out: "docs/BENCHMARKS.md"}
}

// Run measures every figure, prints the table to out and writes the
// Markdown file. log gets a line per step.
func Run(ctx context.Context, cfg Config, out, log io.Writer) error {
	r, err := newRunner(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer r.close()
	rows, err := r.measure()
	if err != nil {
		return err
	}
	m := describeMachine()
	table := renderTable(rows)
	fmt.Fprintf(out, "%s\n%s", m.line(), table)
	if cfg.Out == "" {
		return nil
	}
	return writeReport(cfg.Out, cfg, m, rows)
}
