# idcon: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT  ?= $(shell git rev-parse HEAD 2>/dev/null)
# The commit's date (UTC), not the build's: two builds of one commit are the same bytes.
DATE    ?= $(shell TZ=UTC git log -1 --date=format-local:%Y-%m-%dT%H:%M:%SZ --format=%cd 2>/dev/null)
LDFLAGS := -X github.com/idcon/idcon/cli.Version=$(VERSION) -X github.com/idcon/idcon/cli.Commit=$(COMMIT) -X github.com/idcon/idcon/cli.Date=$(DATE)

.PHONY: run build test test-lab bench bench-go lint fuzz mutate clean release snapshot

## run: open the console on the demo network (created on first use, never your real database)
run:
	$(GO) run -ldflags '$(LDFLAGS)' . --demo

## build: build ./idcon
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o idcon .

## test: the whole suite under the race detector (fuzz seed corpora included)
test:
	$(GO) test -race -count=1 -timeout 19m ./...

## test-lab: the tests that drive the real OpenZiti lab (TestLab…): ZITI_LAB=<../shared/lab/build.sh's LAB>, and ZITI_HA=<ha.sh's HA> for the cluster
test-lab:
	@[ -n "$(ZITI_LAB)" ] || { echo "test-lab: set ZITI_LAB to the folder ../shared/lab/build.sh laid out (ZITI_HA too for the cluster tests)"; exit 2; }
	ZITI_LAB="$(ZITI_LAB)" ZITI_HA="$(ZITI_HA)" $(GO) test -count=1 -p 1 -timeout 40m -run 'Lab' ./... # -p 1: the packages share one lab and one cluster

## bench: the benchmark table (100,000 identities beside the stock list, then 1,000,000; BENCH_LARGE=0 leaves the million out), written to docs/BENCHMARKS.md; with ZITI_LAB, figure 10 on the real lab too
bench:
	ZITI_LAB="$(ZITI_LAB)" $(GO) run ./bench -o docs/BENCHMARKS.md

## bench-go: the Go micro-benchmarks, one short pass each
bench-go:
	$(GO) test -run '^$$' -bench . -benchtime 10x -benchmem ./...

## lint: formatting and vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## fuzz: a short run of every fuzz target (FUZZTIME each)
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## mutate: mutation testing (gremlins) of the core packages; fails when a package's score is under its floor
# Each package's floor is the percentage of covered mutants its tests must
# kill (gremlins' "test efficacy"). Tests run with -short, which skips the
# few slow ones (seeding 6000 identities, waiting out a lock timeout), so the
# run stays under 25 minutes on 2 cores. Fakes, test helpers and demo data
# are not mutated. Logs: .tools/mutate/. Not part of `make test`.
GREMLINS_VERSION ?= v0.6.0
GREMLINS        := .tools/bin/gremlins
MUTATE_WORKERS  ?= 2
MUTATE_PACKAGES ?= model:95 safetext:95 backend/embedded:88 backend/openziti:95 delivery:95
# A mutant that turns a loop into an endless one that allocates (r++ → r--
# in a string builder) would take the machine's memory before its timeout:
# the test processes are capped, so such a mutant dies in seconds (killed).
MUTATE_VMEM_KB  ?= 6000000
MUTATE_EXCLUDE  := -E 'demo\.go$$' -E 'zitifake/' -E 'qrtest/' -E 'smtptest/'

$(GREMLINS):
	GOBIN=$(CURDIR)/.tools/bin $(GO) install github.com/go-gremlins/gremlins/cmd/gremlins@$(GREMLINS_VERSION)

mutate: $(GREMLINS)
	@mkdir -p .tools/mutate; fail=0; summary=""; start=$$(date +%s); \
	ulimit -v $(MUTATE_VMEM_KB); \
	for pf in $(MUTATE_PACKAGES); do \
	  pkg=$${pf%%:*}; floor=$${pf##*:}; log=.tools/mutate/$$(echo $$pkg | tr / -).log; \
	  echo "== $$pkg (floor $$floor%)"; \
	  GOFLAGS="-count=1 -short -vet=off -ldflags=-w" $(GREMLINS) unleash --workers $(MUTATE_WORKERS) --timeout-coefficient 5 \
	    $(MUTATE_EXCLUDE) -S lt ./$$pkg > $$log 2>&1; \
	  grep -E 'LIVED|TIMED OUT|^Killed|^Timed out|^Test efficacy|^Mutator coverage' $$log; \
	  eff=$$(sed -n 's/^Test efficacy: \([0-9.]*\)%.*/\1/p' $$log); \
	  if [ -n "$$eff" ] && awk -v e="$$eff" -v f="$$floor" 'BEGIN { exit !(e >= f) }'; then verdict=ok; else verdict=UNDER; fail=1; fi; \
	  summary="$$summary$$(printf '%-18s %7s%%  floor %3s%%  %s' $$pkg "$${eff:-?}" $$floor $$verdict)\n"; \
	done; \
	printf '\n== mutation scores (killed / (killed + lived)), %ss\n' $$(( $$(date +%s) - start )); printf '%b' "$$summary"; \
	exit $$fail

## release: the archives (linux/darwin x amd64/arm64), .deb and .rpm, and SHA256SUMS in dist/, from a tagged, clean HEAD (scripts/release.sh)
NFPM_VERSION ?= v2.48.0
NFPM         := .tools/bin/nfpm

$(NFPM):
	GOBIN=$(CURDIR)/.tools/bin $(GO) install github.com/goreleaser/nfpm/v2/cmd/nfpm@$(NFPM_VERSION)

release: $(NFPM)
	NFPM=$(NFPM) GO=$(GO) scripts/release.sh

## snapshot: make release from any commit (TARGETS="linux/amd64" PACKAGES=deb for a quick one)
snapshot: $(NFPM)
	SNAPSHOT=1 NFPM=$(NFPM) GO=$(GO) scripts/release.sh

clean:
	rm -f idcon
	rm -rf dist
