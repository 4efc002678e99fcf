# huigong: see README.md. Every target works with whichever top-level package
# directories exist (engine/, mall/, api/, bench/, loadtest/, cmd/...).

GO      ?= go
VERSION ?= dev
LDFLAGS := -X main.version=$(VERSION)

# All packages of the module (-e: a package that does not compile is still
# listed, so that `go test` reports its error instead of it being skipped).
ALL_PKGS = $(shell $(GO) list -e ./...)

# Test split.
#   RACE_PKGS  run with -race (the default: every package not in PLAIN_PKGS).
#   PLAIN_PKGS run without -race. Put long simulation packages here when the
#              race detector makes them too slow, as `go list` patterns, e.g.
#                PLAIN_PKGS := ./engine/sim/... ./loadtest/...
#              Both sets run with -tags invariants. Keep this list short: a
#              package here loses race detection.
PLAIN_PKGS ?= ./engine/sim/... ./engine/shardsim/...
PLAIN_LIST  = $(if $(strip $(PLAIN_PKGS)),$(shell $(GO) list -e $(PLAIN_PKGS)))
RACE_PKGS  ?= $(filter-out $(PLAIN_LIST),$(ALL_PKGS))

TEST_FLAGS ?= -tags invariants -count=1 -timeout 14m

BENCH     ?= .
BENCHTIME ?= 1s

.PHONY: all run test test-deps vet bench bench-compare build clean

all: build

# The demo server: data in ./data, HTTP on 127.0.0.1:8080.
run:
	$(GO) run ./cmd/huigong serve --demo

test: test-deps vet
	$(GO) test -race $(TEST_FLAGS) $(RACE_PKGS)
ifneq ($(strip $(PLAIN_LIST)),)
	$(GO) test $(TEST_FLAGS) $(PLAIN_LIST)
endif

# Installs redis-server and PostgreSQL when root; otherwise says what is missing.
test-deps:
	scripts/test-deps.sh

# Vet both builds: with and without the invariants tag.
vet:
	$(GO) vet ./...
	$(GO) vet -tags invariants ./...

bench:
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchtime $(BENCHTIME) ./...

bench-compare:
	@if [ -d bench/compare ]; then \
		$(GO) run ./bench/compare $(BENCH_COMPARE_FLAGS); \
	else \
		echo "bench-compare: bench/compare is not built yet" >&2; \
		exit 1; \
	fi

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/huigong ./cmd/huigong

clean:
	rm -rf bin
