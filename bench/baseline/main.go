// Command baseline is the benchmarks' baseline program: the stock bubbles
// list holding every identity of the database's first network, run full
// screen like idcon's console, so its cold start and memory can be
// measured the same way.
//
//	baseline DB
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	tea "charm.land/bubbletea/v2"

	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/bench/stocklist"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "baseline:", err)
		os.Exit(1)
	}
}

func run() error {
	if len(os.Args) != 2 {
		return fmt.Errorf("usage: baseline DB")
	}
	s, err := embedded.Open(os.Args[1], embedded.Options{})
	if err != nil {
		return err
	}
	defer s.Close()
	ctx := context.Background()
	nets, err := s.Networks(ctx)
	if err != nil {
		return err
	}
	if len(nets) == 0 {
		return fmt.Errorf("%s holds no network", os.Args[1])
	}
	items, err := stocklist.Load(ctx, s, nets[0].ID, time.Now())
	if err != nil {
		return err
	}
	_, err = tea.NewProgram(stocklist.New(items, 80, 24)).Run()
	return err
}
