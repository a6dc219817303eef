package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tea "charm.land/bubbletea/v2"
	"github.com/charmbracelet/colorprofile"
	"github.com/creack/pty"

	"github.com/idcon/idcon/backend"
	"github.com/idcon/idcon/backend/embedded"
	"github.com/idcon/idcon/bench/stocklist"
	"github.com/idcon/idcon/model"
	"github.com/idcon/idcon/ui"
)

// The terminal every figure is measured in.
const (
	termWidth  = 120
	termHeight = 40
)

// filterWord is what the filter figure types, one key at a time.
const filterWord = "alice"

// bulkSize is how many identities the bulk figure resets.
const bulkSize = 10_000

// runner holds what the figures share: the work folder, the binaries, the
// seeded database.
type runner struct {
	ctx  context.Context
	cfg  Config
	log  io.Writer
	dir  string
	env  []string // HOME and XDG_DATA_HOME in dir
	bin  string   // idcon
	base string   // the baseline program
	db   string   // the demo database idcon --demo uses
	runs int      // repeats of a timed run (median taken)
	size int      // identities in the network measured
	// large says this runner measures the large column (cfg.Large): the
	// figures the issue sets targets for at that size, without the
	// baselines that hold every identity in memory.
	large  bool
	dbSize float64 // the database file's size after seeding, MB
}

func newRunner(ctx context.Context, cfg Config, log io.Writer) (*runner, error) {
	if cfg.Root == "" {
		out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
		if err != nil || strings.TrimSpace(string(out)) == "" || strings.TrimSpace(string(out)) == os.DevNull {
			return nil, fmt.Errorf("can't find the module: run from the idcon repository (go env GOMOD: %v)", err)
		}
		cfg.Root = filepath.Dir(strings.TrimSpace(string(out)))
	}
	dir, err := os.MkdirTemp("", "idcon-bench-")
	if err != nil {
		return nil, err
	}
	r := &runner{ctx: ctx, cfg: cfg, log: log, dir: dir, runs: 5,
		env: []string{"HOME=" + dir, "XDG_DATA_HOME=" + filepath.Join(dir, "data"), "PATH=" + os.Getenv("PATH"),
			"LANG=C.UTF-8", "TERM=xterm-256color", "TZ=UTC"},
		bin: filepath.Join(dir, "idcon"), base: filepath.Join(dir, "baseline"),
		db: filepath.Join(dir, "data", "idcon", "demo.db"), size: cfg.Identities}
	if cfg.Quick {
		r.runs = 1
	}
	return r, nil
}

func (r *runner) close() { os.RemoveAll(r.dir) }

// sized is a runner for the large column: the same binaries, a demo
// database of n identities of its own.
func (r *runner) sized(n int) *runner {
	l := *r
	data := filepath.Join(r.dir, fmt.Sprintf("data-%d", n))
	l.env = slices.Clone(r.env)
	for i, e := range l.env {
		if strings.HasPrefix(e, "XDG_DATA_HOME=") {
			l.env[i] = "XDG_DATA_HOME=" + data
		}
	}
	l.db, l.size, l.large = filepath.Join(data, "idcon", "demo.db"), n, true
	return &l
}

func (r *runner) logf(format string, args ...any) { fmt.Fprintf(r.log, "bench: "+format+"\n", args...) }

// onlyFigures are what -only takes: each builds idcon and what the figure
// needs (its own demo network for 4b, the large network for large).
var onlyFigures = []string{"4", "4b", "8", "10", "large"}

// measureOnly takes the figures of cfg.Only alone and prints their table,
// with the load average before and after (a single figure is quick
// enough for the load to say whether it was measured on a quiet machine).
func (r *runner) measureOnly(out io.Writer, m machine) error {
	want := map[string]bool{}
	for _, f := range strings.Split(r.cfg.Only, ",") {
		f = strings.TrimSpace(f)
		if !slices.Contains(onlyFigures, f) {
			return fmt.Errorf("-only %q: no such figure to take alone; use some of %s", f, strings.Join(onlyFigures, ", "))
		}
		want[f] = true
	}
	if err := r.build(); err != nil {
		return err
	}
	var rows []row
	cfg := r.cfg
	cfg.Large = 0
	if want["4"] {
		if _, err := r.seed(); err != nil {
			return err
		}
		s, err := embedded.Open(r.db, embedded.Options{})
		if err != nil {
			return err
		}
		bulk, err := r.bulk(s, model.Network{ID: mustNetwork(r.ctx, s)})
		s.Close()
		if err != nil {
			return err
		}
		rows = append(rows, bulk)
	}
	if want["4b"] {
		more, err := r.bulkCLI()
		if err != nil {
			return err
		}
		rows = append(rows, more...)
	}
	if want["8"] {
		ctrl, err := r.controller()
		if err != nil {
			return err
		}
		rows = append(rows, ctrl...)
	}
	if want["10"] {
		lab, ok, err := r.labBulk()
		if err != nil {
			return err
		}
		if !ok {
			return errors.New("-only 10 needs the lab: set ZITI_LAB (and start it)")
		}
		rows = append(rows, lab)
	}
	if len(rows) > 0 {
		fmt.Fprintf(out, "%s\nLoad average before: %s; after: %s\n%s", m.line(), m.load, describeMachine().load, renderTable(cfg, rows))
	}
	if want["large"] {
		if r.cfg.Large == 0 {
			return errors.New("-only large with -large 0: give the large network's size")
		}
		l := r.sized(r.cfg.Large)
		l.logf("the large network: %s identities", l.n())
		large, err := l.measureLarge()
		if err != nil {
			return err
		}
		cfg.Identities = r.cfg.Large
		fmt.Fprintf(out, "%s\nLoad average before: %s; after: %s\n%s", m.line(), m.load, describeMachine().load, renderTable(cfg, large))
	}
	return nil
}

// build builds idcon and the baseline program.
func (r *runner) build() error {
	r.logf("building idcon and the baseline")
	for _, b := range [][]string{{"-o", r.bin, "."}, {"-o", r.base, "./bench/baseline"}} {
		cmd := exec.CommandContext(r.ctx, "go", append([]string{"build"}, b...)...)
		cmd.Dir = r.cfg.Root
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go build %s: %v\n%s", strings.Join(b, " "), err, out)
		}
	}
	return nil
}

// measure takes every figure, in an order that leaves the database as the
// next figure needs it (the bulk reset changes it, so it comes last).
func (r *runner) measure() ([]row, error) {
	if err := r.build(); err != nil {
		return nil, err
	}
	var rows []row
	seed, start, mem, s, nets, err := r.demo()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	net := nets[0]
	first, filter, move, err := r.console(s, net)
	if err != nil {
		return nil, err
	}
	bytesRow, err := r.bytesPerMove(s)
	if err != nil {
		return nil, err
	}
	bulk, err := r.bulk(s, net)
	if err != nil {
		return nil, err
	}
	rows = append(rows, first)
	rows = append(rows, filter...)
	rows = append(rows, move...)
	rows = append(rows, bytesRow, bulk)
	if rows, err = r.withBulkCLI(rows); err != nil { // figure 4b, bench/bulkcli.go
		return nil, err
	}
	rows = append(rows, start, mem, seed)
	ctrl, err := r.controller()
	if err != nil {
		return nil, err
	}
	rows = append(rows, ctrl...)
	if lab, ok, err := r.labBulk(); err != nil { // figure 10, bench/labbulk.go
		return nil, err
	} else if ok {
		rows = append(rows, lab)
	}
	return append(rows, r.fileSize()), nil
}

// demo seeds the demo network (figure 7), takes the process figures on it
// (5 and 6) and opens it for the in-process ones.
func (r *runner) demo() (seed, start, mem row, s *embedded.Store, nets []model.Network, err error) {
	if seed, err = r.seed(); err != nil {
		return
	}
	if start, mem, err = r.processes(); err != nil {
		return
	}
	if s, err = embedded.Open(r.db, embedded.Options{}); err != nil {
		return
	}
	nets, err = s.Networks(r.ctx)
	if err == nil && len(nets) != 1 {
		err = fmt.Errorf("the demo database holds %d networks", len(nets))
	}
	if err != nil {
		s.Close()
	}
	return
}

// measureLarge takes the large column's figures on a runner from sized:
// seeding, the console's first frame, filter and cursor keys, the cold
// start and peak memory of the process, the database's size.
func (r *runner) measureLarge() ([]row, error) {
	seed, start, mem, s, nets, err := r.demo()
	if err != nil {
		return nil, err
	}
	defer s.Close()
	first, filter, move, err := r.console(s, nets[0])
	if err != nil {
		return nil, err
	}
	rows := append([]row{first}, filter...)
	rows = append(rows, move...)
	return append(rows, start, mem, seed, r.fileSize()), nil
}

// fileSize is figure 9: the database file after seeding (no target; the
// issue asks for it to be reported).
func (r *runner) fileSize() row {
	return row{id: "9", figure: "Database file after seeding (`idcon demo`)", unit: unitSize,
		ours: r.dbSize, base: math.NaN(), target: math.NaN()}
}

func (r *runner) n() string { return fmtCount(r.size) }

// seed is figure 7: idcon demo --identities N, on the database the console
// figures then use. The baseline creates identities one CreateIdentity call
// (one transaction) each, as a seeding script without a bulk path would;
// it is timed on a sample and scaled up.
func (r *runner) seed() (row, error) {
	r.logf("seeding %s identities", r.n())
	t0 := time.Now()
	cmd := exec.CommandContext(r.ctx, r.bin, "--demo", "demo", "--identities", strconv.Itoa(r.size))
	cmd.Env = r.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return row{}, fmt.Errorf("idcon demo: %v: %s", err, out)
	}
	ours := time.Since(t0)
	cpu := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	var size int64
	for _, suffix := range []string{"", "-wal"} {
		if fi, err := os.Stat(r.db + suffix); err == nil {
			size += fi.Size()
		}
	}
	r.dbSize = float64(size) / (1 << 20)

	sample := min(2_000, r.size)
	s, err := embedded.Open(filepath.Join(r.dir, fmt.Sprintf("one-by-one-%d.db", r.size)), embedded.Options{})
	if err != nil {
		return row{}, err
	}
	defer s.Close()
	n, err := s.CreateNetwork(r.ctx, "one-by-one")
	if err != nil {
		return row{}, err
	}
	exp := time.Now().Add(7 * 24 * time.Hour)
	t0 = time.Now()
	for i := range sample {
		if _, err := s.CreateIdentity(r.ctx, n.ID, model.NewIdentity{Name: fmt.Sprintf("device-%06d", i), ExpiresAt: exp}); err != nil {
			return row{}, err
		}
	}
	base := time.Since(t0) * time.Duration(r.size) / time.Duration(sample)
	target := 10 * float64(r.size) / 100_000
	if r.large {
		target = 40 // issue 27's target at 1,000,000
	}
	return row{id: "7", figure: "Seeding: `idcon demo --identities N`, N the column's size", unit: unitTime,
		ours: ours.Seconds(), oursNote: unitTime.format(cpu.Seconds()) + " CPU",
		base: base.Seconds(), baseNote: fmt.Sprintf("one CreateIdentity each (timed on %s, scaled)", fmtCount(sample)),
		target: target}, nil
}

// processes is figures 5 and 6: the built binaries in a pseudo-terminal,
// from exec to the first frame of the list, and their peak resident memory
// once the list is open and has been used (moved through, filtered).
func (r *runner) processes() (start, mem row, err error) {
	r.logf("cold starts and memory")
	var oursT, baseT []float64
	var oursM, baseM float64
	for range r.runs {
		t, m, err := r.inTerminal(exec.Command(r.bin, "--demo"), "of "+r.n())
		if err != nil {
			return start, mem, fmt.Errorf("idcon --demo: %w", err)
		}
		oursT, oursM = append(oursT, t), max(oursM, m)
		if r.large {
			continue // the baseline would hold every identity in memory
		}
		t, m, err = r.inTerminal(exec.Command(r.base, r.db), fmt.Sprintf("%d items", r.size))
		if err != nil {
			return start, mem, fmt.Errorf("baseline: %w", err)
		}
		baseT, baseM = append(baseT, t), max(baseM, m)
	}
	start = row{id: "5", figure: "Cold start of `idcon --demo` to the first list frame", unit: unitTime,
		ours: median(oursT), base: median(baseT), target: 0.150}
	if r.large {
		start.target = math.NaN() // issue 16 sets none at 1,000,000
	}
	mem = row{id: "6", figure: "Peak resident memory with the network open (VmHWM)", unit: unitMB,
		ours: oursM, base: baseM, target: 100}
	return start, mem, nil
}

// inTerminal runs cmd in a termWidth×termHeight pseudo-terminal and returns
// how long it took to show ready, and its VmHWM (MB) after a few moves and
// a filter.
func (r *runner) inTerminal(cmd *exec.Cmd, ready string) (secs, mb float64, err error) {
	cmd.Env = r.env
	t0 := time.Now()
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: termHeight, Cols: termWidth})
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		cmd.Process.Kill()
		cmd.Wait()
		f.Close()
	}()
	var mu sync.Mutex
	var screen bytes.Buffer
	shown := make(chan time.Duration, 1)
	go func() {
		buf := make([]byte, 32*1024)
		for {
			n, err := f.Read(buf)
			mu.Lock()
			screen.Write(buf[:n])
			if bytes.Contains(screen.Bytes(), []byte(ready)) {
				select {
				case shown <- time.Since(t0):
				default:
				}
			}
			mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	var took time.Duration
	select {
	case took = <-shown:
	case <-time.After(60 * time.Second):
		mu.Lock()
		defer mu.Unlock()
		return 0, 0, fmt.Errorf("%q never appeared; the terminal shows:\n%s", ready, screen.String())
	}
	// Use it a little, as an admin would, then read its peak memory.
	for range 20 {
		f.Write([]byte("j"))
	}
	f.Write([]byte("/" + filterWord))
	time.Sleep(time.Second)
	mb, err = vmHWM(cmd.Process.Pid)
	return took.Seconds(), mb, err
}

// vmHWM is the process's peak resident set, in MB.
func vmHWM(pid int) (float64, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) == 3 && f[0] == "VmHWM:" && f[2] == "kB" {
			kb, err := strconv.ParseFloat(f[1], 64)
			return kb / 1024, err
		}
	}
	return 0, errors.New("no VmHWM in /proc/PID/status")
}

// console is figures 1 to 3 in-process: the first frame of the list, a
// typed filter and cursor moves, key to updated frame.
func (r *runner) console(s *embedded.Store, net model.Network) (first row, filter, move []row, err error) {
	r.logf("the console in-process")
	var oursOpen, baseOpen []float64
	var ours *driver
	var base *driver
	for range r.runs {
		t0 := time.Now()
		d := &driver{m: ui.New(ui.Options{Backend: s, PollInterval: noPolling})}
		d.send(tea.WindowSizeMsg{Width: termWidth, Height: termHeight})
		d.exec(d.m.Init())
		if !strings.Contains(d.view(), "of "+r.n()) {
			return first, nil, nil, fmt.Errorf("idcon's list did not open:\n%s", d.view())
		}
		oursOpen = append(oursOpen, time.Since(t0).Seconds())
		ours = d
		if r.large {
			continue // the baseline would hold every identity in memory
		}

		t0 = time.Now()
		items, err := stocklist.Load(r.ctx, s, net.ID, time.Now())
		if err != nil {
			return first, nil, nil, err
		}
		b := &driver{m: stocklist.New(items, termWidth, termHeight)}
		b.send(tea.WindowSizeMsg{Width: termWidth, Height: termHeight})
		baseOpen = append(baseOpen, time.Since(t0).Seconds())
		base = b
	}
	first = row{id: "1", figure: "Open the network: first frame of the list", unit: unitTime,
		ours: median(oursOpen), base: median(baseOpen), target: 0.050}

	rounds := 8
	if r.cfg.Quick {
		rounds = 1
	}
	// The frame a filter key asks for is the one drawn with its results.
	results := func(name string) func(tea.Msg, string) bool {
		return func(msg tea.Msg, _ string) bool { return typeName(msg) == name }
	}
	typeWord := func(d *driver, until func(tea.Msg, string) bool) (work, own []float64) {
		for range rounds {
			d.send(key("/"))
			for _, c := range filterWord {
				w, o := d.measure(key(string(c)), until)
				work, own = append(work, w.Seconds()), append(own, o.Seconds())
			}
			d.send(key("esc")) // clear the filter for the next round
		}
		return work, own
	}
	fo, fown := typeWord(ours, results("ui.pageLoadedMsg"))
	var fb, fbown []float64
	if base != nil {
		fb, fbown = typeWord(base, results("list.FilterMatchesMsg"))
	}
	medianTarget, p99Target := 0.016, 0.016
	if r.large {
		medianTarget, p99Target = 0.005, 0.010 // issue 27's targets at 1,000,000
	}
	filter = []row{
		{id: "2a", figure: "Typing a filter: key to updated frame, median", unit: unitTime, ours: median(fo), base: median(fb), target: medianTarget},
		{id: "2b", figure: "Typing a filter: key to updated frame, p99", unit: unitTime, ours: p99(fo), base: p99(fb), target: p99Target},
		{id: "2c", figure: "Typing a filter: of 2b, the Update and View calls alone, p99", unit: unitTime, ours: p99(fown), base: p99(fbown), target: 0.016},
	}

	moves := 200
	if r.cfg.Quick {
		moves = 40
	}
	// A move's frame is the one with its row: at once, unless the page
	// hasn't come (idcon prefetches the next page, so it has).
	loaded := func(_ tea.Msg, view string) bool { return !strings.Contains(view, "loading…") }
	moveDown := func(d *driver, until func(tea.Msg, string) bool) []float64 {
		var out []float64
		for range moves {
			w, _ := d.measure(key("j"), until)
			out = append(out, w.Seconds())
		}
		return out
	}
	mo := moveDown(ours, loaded)
	var mb []float64
	if base != nil {
		mb = moveDown(base, nil)
	}
	move = []row{
		{id: "3a", figure: "Moving the cursor: key to updated frame, median", unit: unitTime, ours: median(mo), base: median(mb), target: 0.016},
		{id: "3b", figure: "Moving the cursor: key to updated frame, p99", unit: unitTime, ours: p99(mo), base: p99(mb), target: 0.016},
	}
	return first, filter, move, nil
}

// countingWriter counts what a program writes to its terminal, and keeps
// the start of it to see when the first frame is out.
type countingWriter struct {
	n    atomic.Int64
	mu   sync.Mutex
	head bytes.Buffer
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.n.Add(int64(len(p)))
	w.mu.Lock()
	if w.head.Len() < 1<<20 {
		w.head.Write(p)
	}
	w.mu.Unlock()
	return len(p), nil
}

func (w *countingWriter) shows(s string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return bytes.Contains(w.head.Bytes(), []byte(s))
}

// settle waits until the program has written nothing for a while: the
// frame is out.
func (w *countingWriter) settle() int64 {
	last, since := w.n.Load(), time.Now()
	for time.Since(since) < 150*time.Millisecond {
		time.Sleep(10 * time.Millisecond)
		if n := w.n.Load(); n != last {
			last, since = n, time.Now()
		}
	}
	return last
}

// bytesPerMove is figure 3's third part: a real tea.Program at 120×40
// writing to a counting writer, the cursor moved down with j; the median
// of the bytes each move writes.
func (r *runner) bytesPerMove(s *embedded.Store) (row, error) {
	r.logf("bytes written per cursor move")
	moves := 60
	if r.cfg.Quick {
		moves = 10
	}
	count := func(m tea.Model, ready string) (float64, error) {
		in, feed := io.Pipe()
		w := &countingWriter{}
		p := tea.NewProgram(m, tea.WithInput(in), tea.WithOutput(w), tea.WithWindowSize(termWidth, termHeight),
			tea.WithoutSignalHandler(), tea.WithColorProfile(colorprofile.TrueColor),
			tea.WithEnvironment([]string{"TERM=xterm-256color"}))
		done := make(chan error, 1)
		go func() { _, err := p.Run(); done <- err }()
		defer func() {
			p.Quit()
			feed.Close()
			<-done
		}()
		deadline := time.Now().Add(60 * time.Second)
		for !w.shows(ready) {
			if time.Now().After(deadline) {
				return 0, fmt.Errorf("%q never appeared", ready)
			}
			time.Sleep(5 * time.Millisecond)
		}
		var per []float64
		before := w.settle()
		for range moves {
			feed.Write([]byte("j"))
			after := w.settle()
			per = append(per, float64(after-before))
			before = after
		}
		return median(per), nil
	}
	ours, err := count(ui.New(ui.Options{Backend: s, PollInterval: noPolling}), "of "+r.n())
	if err != nil {
		return row{}, fmt.Errorf("idcon: %w", err)
	}
	items, err := stocklist.Load(r.ctx, s, mustNetwork(r.ctx, s), time.Now())
	if err != nil {
		return row{}, err
	}
	base, err := count(stocklist.New(items, termWidth, termHeight), fmt.Sprintf("%d items", r.cfg.Identities))
	if err != nil {
		return row{}, fmt.Errorf("baseline: %w", err)
	}
	return row{id: "3c", figure: "Moving the cursor: bytes written to the terminal per move (120×40), median", unit: unitBytes,
		ours: ours, base: base, target: 300}, nil
}

func mustNetwork(ctx context.Context, s *embedded.Store) string {
	nets, err := s.Networks(ctx)
	if err != nil || len(nets) == 0 {
		return ""
	}
	return nets[0].ID
}

// perIdentity hides the store's own Bulker, so backend.Bulk falls back to
// one ResetEnrollment call (one transaction) per identity.
type perIdentity struct{ backend.Backend }

// bulk is figure 4: resetting bulkSize enrolled identities, batched (the
// embedded store's Bulker) and one call each (the fallback every backend
// has), on different identities of the same network.
func (r *runner) bulk(s *embedded.Store, net model.Network) (row, error) {
	p, err := s.Identities(r.ctx, net.ID, model.ListQuery{State: model.StateEnrolled, Limit: 1})
	if err != nil {
		return row{}, err
	}
	// The batched run finishes the batch in hand (up to 500 more): leave
	// enough enrolled for the baseline after it.
	size := min(bulkSize, (p.Total-500)/2)
	if size < 1 {
		return row{}, fmt.Errorf("only %d enrolled identities: measure a larger network", p.Total)
	}
	r.logf("bulk reset of %s identities", fmtCount(size))
	exp := time.Now().Add(7 * 24 * time.Hour)
	timeIt := func(b backend.Bulker) (float64, error) {
		n := 0
		t0 := time.Now()
		err := b.BulkApply(r.ctx, net.ID, backend.Selection{All: true, State: model.StateEnrolled}, model.ActionReset, exp,
			func(res backend.BulkResult) bool {
				if res.Err == nil {
					n++
				}
				return n < size
			})
		took := time.Since(t0)
		if err != nil {
			return 0, err
		}
		if n < size {
			return 0, fmt.Errorf("only %d of %d reset", n, size)
		}
		// The batched run may finish the batch in hand past size.
		return took.Seconds() * float64(size) / float64(n), nil
	}
	ours, err := timeIt(s)
	if err != nil {
		return row{}, err
	}
	base, err := timeIt(backend.Bulk(perIdentity{s}, nil))
	if err != nil {
		return row{}, err
	}
	return row{id: "4", figure: fmt.Sprintf("Bulk reset of %s identities (embedded backend)", fmtCount(size)), unit: unitTime,
		ours: ours, base: base, baseNote: "one ResetEnrollment each", target: 0.8 * float64(size) / bulkSize}, nil // issue 27: 0.8 s for 10,000
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// p99 is the 99th percentile: with fewer than 100 samples, the largest.
func p99(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[int(math.Ceil(0.99*float64(len(s))))-1]
}
