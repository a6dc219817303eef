package embedded

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/idcon/idcon/model"
)

// benchSize is the size of the demo network the benchmarks query: the
// scale the console must stay responsive at (IDCON_BENCH_IDENTITIES
// changes it, e.g. to 1000000).
var benchSize = func() int {
	if n, err := strconv.Atoi(os.Getenv("IDCON_BENCH_IDENTITIES")); err == nil && n > 0 {
		return n
	}
	return 100_000
}()

// benchNet is one 100k network shared by the query benchmarks (built once
// per test binary run; making it is measured by BenchmarkSeedDemo).
var benchNet struct {
	once sync.Once
	dir  string
	s    *Store
	id   string
	err  error
}

// TestMain removes the benchmarks' shared network when the binary ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchNet.s != nil {
		benchNet.s.Close()
	}
	if benchNet.dir != "" {
		os.RemoveAll(benchNet.dir)
	}
	os.Exit(code)
}

func bigNetwork(b *testing.B) (*Store, string) {
	b.Helper()
	benchNet.once.Do(func() {
		// Not b.TempDir: the store outlives this benchmark.
		dir, err := os.MkdirTemp("", "idcon-bench-")
		benchNet.dir = dir
		if err != nil {
			benchNet.err = err
			return
		}
		s, err := Open(filepath.Join(dir, "bench.db"), Options{})
		if err != nil {
			benchNet.err = err
			return
		}
		n, err := s.SeedDemo(context.Background(), "bench", benchSize)
		benchNet.s, benchNet.id, benchNet.err = s, n.ID, err
	})
	if benchNet.err != nil {
		b.Fatalf("building the %d-identity network: %v", benchSize, benchNet.err)
	}
	return benchNet.s, benchNet.id
}

func BenchmarkSeedDemo(b *testing.B) {
	for b.Loop() {
		b.StopTimer()
		s, err := Open(filepath.Join(b.TempDir(), "seed.db"), Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.SeedDemo(b.Context(), "demo", benchSize); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
}

func benchList(b *testing.B, q model.ListQuery) {
	s, id := bigNetwork(b)
	ctx := context.Background()
	var total int
	for b.Loop() {
		p, err := s.Identities(ctx, id, q)
		if err != nil {
			b.Fatal(err)
		}
		total = p.Total
	}
	b.ReportMetric(float64(total), "matches")
}

func BenchmarkIdentitiesFirstPage(b *testing.B) {
	benchList(b, model.ListQuery{Limit: 25})
}

func BenchmarkIdentitiesFilter(b *testing.B) {
	benchList(b, model.ListQuery{Filter: "ali", Limit: 25})
}

// One and two characters: too short for the trigram index.
func BenchmarkIdentitiesFilterOneChar(b *testing.B) {
	benchList(b, model.ListQuery{Filter: "a", Limit: 25})
}

func BenchmarkIdentitiesFilterTwoChars(b *testing.B) {
	benchList(b, model.ListQuery{Filter: "al", Limit: 25})
}

func BenchmarkIdentitiesFilterRare(b *testing.B) {
	benchList(b, model.ListQuery{Filter: "alice-laptop-1", Limit: 25})
}

func BenchmarkIdentitiesFilterNoMatch(b *testing.B) {
	benchList(b, model.ListQuery{Filter: "nobody-at-all", Limit: 25})
}

func BenchmarkIdentitiesStatePending(b *testing.B) {
	benchList(b, model.ListQuery{State: model.StatePending, Limit: 25})
}

func BenchmarkIdentitiesStateEnrolled(b *testing.B) {
	benchList(b, model.ListQuery{State: model.StateEnrolled, Limit: 25})
}

func BenchmarkIdentitiesStateExpiredByExpiry(b *testing.B) {
	benchList(b, model.ListQuery{State: model.StateExpired, Sort: model.SortExpires, Desc: true, Limit: 25})
}

func BenchmarkIdentitiesFilterAndState(b *testing.B) {
	benchList(b, model.ListQuery{Filter: "ali", State: model.StatePending, Limit: 25})
}

func BenchmarkIdentitiesDeepPage(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortCreated, Offset: 90_000, Limit: 25})
}

func BenchmarkNetworks(b *testing.B) {
	s, _ := bigNetwork(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.Networks(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIdentityByName(b *testing.B) {
	s, id := bigNetwork(b)
	ctx := context.Background()
	for b.Loop() {
		if _, err := s.IdentityByName(ctx, id, "laptop-alice"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateIdentity(b *testing.B) {
	s, id := bigNetwork(b)
	ctx := context.Background()
	i := 0
	for b.Loop() {
		i++
		_, err := s.CreateIdentity(ctx, id, model.NewIdentity{
			Name: fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i), ExpiresAt: time.Now().Add(48 * time.Hour),
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// The list's orders (the console's o): the first page of each, and pages
// deep into the parts a sort is laid out in (orderSegments).

func BenchmarkIdentitiesSortState(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortState, Limit: 25})
}

func BenchmarkIdentitiesSortStateDeep(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortState, Offset: 60_000, Limit: 25})
}

func BenchmarkIdentitiesSortStateDesc(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortState, Desc: true, Limit: 25})
}

func BenchmarkIdentitiesSortStateFilter(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortState, Filter: "ali", Limit: 25})
}

func BenchmarkIdentitiesSortExpires(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortExpires, Limit: 25})
}

func BenchmarkIdentitiesSortExpiresTokenless(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortExpires, Offset: 50_000, Limit: 25})
}

func BenchmarkIdentitiesSortSessions(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortSessions, Limit: 25})
}

func BenchmarkIdentitiesSortSessionsDeep(b *testing.B) {
	benchList(b, model.ListQuery{Sort: model.SortSessions, Offset: 90_000, Limit: 25})
}
