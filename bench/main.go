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
// and as real processes in a pseudo-terminal. Then it does the same for a
// network of 1,000,000 identities (-large), without the baselines, for the
// table's last columns; BENCH_LARGE=0 (or -large 0) leaves that out.
//
//	BENCH_LARGE=0 go run ./bench -o ''  # the 100,000 column only
//
// -only takes some figures alone, to check them while working on them (it
// never writes the Markdown file: the table is one whole run's):
//
//	go run ./bench -only 4,4b           # the bulk resets, in-process and CLI
//	go run ./bench -only large          # the large column (1, 2a-c, 3a-b, 5, 6, 7, 9)
//	go run ./bench -only large -large 1000000
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"time"
)

func main() {
	cfg := defaultConfig()
	flag.IntVar(&cfg.Identities, "identities", cfg.Identities, "size of the network measured")
	flag.StringVar(&cfg.Out, "o", cfg.Out, "the Markdown file to write the table to ('' writes none)")
	flag.IntVar(&cfg.Large, "large", cfg.Large, "size of the second network measured, for the last columns (0: none; default $BENCH_LARGE, else 1000000)")
	flag.BoolVar(&cfg.Quick, "quick", false, "one run of each figure, for a smoke test")
	record := flag.String("record-latency", "", "measure the lab controller's per-request cost (ZITI_LAB) and write it to this file, nothing else")
	labN := flag.Int("lab-identities", 3000, "identities -record-latency makes on the lab (and deletes)")
	flag.StringVar(&cfg.Only, "only", "", "take only these figures, comma-separated: 4 (in-process bulk), 4b (CLI bulk), 8 (controller), 10 (bulk on the lab controller, ZITI_LAB), large (the large column); writes no file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if *record != "" {
		if err := recordLatency(ctx, *record, *labN, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "bench:", err)
			os.Exit(1)
		}
		return
	}
	if err := Run(ctx, cfg, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// Config says what to measure and where the result goes.
type Config struct {
	Identities int
	// Large is the size of the second network, measured for the table's
	// last columns without the baselines; 0 for none.
	Large int
	Out   string // Markdown file; "" for none
	Quick bool   // one run of each figure
	// Only, when set, is the figures to take alone (see onlyFigures); the
	// Markdown file is then not written.
	Only string
	// Root is the module's folder (found from go env GOMOD when empty).
	Root string
}

func defaultConfig() Config {
	cfg := Config{Identities: 100_000, Large: 1_000_000, Out: "docs/BENCHMARKS.md"}
	if v, ok := os.LookupEnv("BENCH_LARGE"); ok {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			fmt.Fprintf(os.Stderr, "bench: BENCH_LARGE=%q is not a size; use 0 to leave the large network out\n", v)
			os.Exit(2)
		}
		cfg.Large = n
	}
	return cfg
}

// Run measures every figure, prints the table to out and writes the
// Markdown file. log gets a line per step.
func Run(ctx context.Context, cfg Config, out, log io.Writer) error {
	r, err := newRunner(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer r.close()
	m := describeMachine()
	if cfg.Only != "" {
		return r.measureOnly(out, m)
	}
	rows, err := r.measure()
	if err != nil {
		return err
	}
	if cfg.Large > 0 {
		l := r.sized(cfg.Large)
		l.logf("the large network: %s identities", l.n())
		large, err := l.measureLarge()
		if err != nil {
			return fmt.Errorf("%s identities: %w", l.n(), err)
		}
		rows = withLarge(rows, large)
	}
	m.took = time.Since(m.date)
	table := renderTable(cfg, rows)
	fmt.Fprintf(out, "%s\n%s", m.line(), table)
	if cfg.Out == "" {
		return nil
	}
	return writeReport(cfg.Out, cfg, m, rows)
}
