# idcon: the two commands a newcomer needs are `make run` and `make test`.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/idcon/idcon/cli.Version=$(VERSION)

.PHONY: run build test bench bench-go lint fuzz clean

## run: open the console on the demo network (created on first use, never your real database)
run:
	$(GO) run -ldflags '$(LDFLAGS)' . --demo

## build: build ./idcon
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o idcon .

## test: the whole suite under the race detector (fuzz seed corpora included)
test:
	$(GO) test -race -count=1 -timeout 15m ./...

## bench: the benchmark table (100,000 identities, side by side with the stock list), written to docs/BENCHMARKS.md
bench:
	$(GO) run ./bench -o docs/BENCHMARKS.md

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

clean:
	rm -f idcon
