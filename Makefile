# Adgang — make run starts the service, make test runs everything CI runs.
GO        ?= go
BIN       := $(CURDIR)/bin
TOOLS     := $(CURDIR)/.tools/bin
OPA_VER   := $(shell $(GO) list -m -f '{{.Version}}' github.com/open-policy-agent/opa 2>/dev/null)
OPA       := $(TOOLS)/opa
FUZZTIME  ?= 3s
# make run takes the data directory and listen addresses from --data's
# environment (ADGANG_DATA, default ./data; ADGANG_DECISION_ADDR,
# ADGANG_ADMIN_ADDR …) like `adgang serve`; DATA=DIR overrides.
DATA      ?=
# adgang version: the version and commit come from git.
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
# make run DEMO=1 loads the demo data set into an empty store.
DEMO      ?=

.PHONY: all build run test vet gotest console-test chromium postgres fuzz policy-test lint bench bench-full bench-go tools clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/adgang ./cmd/adgang

run: build
	$(BIN)/adgang serve $(if $(DATA),--data $(DATA)) $(if $(DEMO),--demo)

# The opa CLI at exactly go.mod's version, for `opa test/fmt/check`.
$(OPA): go.mod
	GOBIN=$(TOOLS) $(GO) install github.com/open-policy-agent/opa@$(OPA_VER)
	@touch $(OPA)

# The official OPA TypeScript SDK, driven unchanged by pdp/api's
# TestOPATypeScriptSDK (node and npm needed); installed only when missing.
OPA_SDK_VER := 1.7.10
OPA_SDK     := $(CURDIR)/.tools/node/node_modules/@styra/opa/package.json
$(OPA_SDK):
	mkdir -p $(CURDIR)/.tools/node
	cd $(CURDIR)/.tools/node && npm install --no-audit --no-fund --no-save @styra/opa@$(OPA_SDK_VER)
	@touch $(OPA_SDK)

tools: $(OPA) $(OPA_SDK)

# build first: TestREADME builds the binary with `make run` in a copy of the
# repository, which -trimpath lets use the same build cache.
test: vet build gotest console-test fuzz policy-test

vet:
	$(GO) vet ./...

# The long tests (a 100k-row and a 50 MB import with sync writes, the
# decision cache's heap against its byte accounting, and
# the SIGKILL crash tests that run the server as a subprocess) skip under
# -short; they run once more without the race detector, which would make
# them ten times slower without testing anything the short run does not,
# one package at a time so the import timings are not shared with others.
LONG_TESTS := ^(TestImport100k|TestImport50MB|TestImportCrash|TestLifecycleCrash|TestDecisionLogCrash|TestFleet|TestDecisionCacheBytes)$$

# The OPA differential and SDK tests (pdp/api) need both tools, the fleet
# tests (store/pg, cmd/adgang TestFleet) PostgreSQL: never skipped. The
# store's contract tests run a second time with every store a fleet node
# of PostgreSQL (ADGANG_TEST_STORE=postgres).
gotest: $(OPA) $(OPA_SDK) postgres
	$(GO) test -race -short -count=1 ./...
	ADGANG_TEST_STORE=postgres $(GO) test -short -count=1 ./store/
	$(GO) test -p 1 -count=1 -v -run '$(LONG_TESTS)' ./admin/api/ ./cmd/adgang/ ./pdp/
	$(GO) test -count=1 ./store/pg/

# Debian's PostgreSQL server for the fleet tests, which start a throwaway
# cluster of their own (store/pgtest); installed only when missing, and
# only where the machine allows it (root and apt-get). The Debian package
# also creates and starts a default cluster; the tests do not use it.
postgres:
	@if ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || [ -n "$$ADGANG_PG_BIN" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's postgresql for the fleet tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; \
	else echo "PostgreSQL is missing: install Debian's postgresql package (the fleet tests need it) or set ADGANG_PG_BIN"; exit 1; fi

# Debian's chromium for the console's browser tests; installed only when
# missing, and only where the machine allows it (root and apt-get).
chromium:
	@if [ -x /usr/lib/chromium/chromium ] || command -v chromium >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	  echo "installing Debian's chromium for the console tests"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core; \
	else echo "chromium is missing: install Debian's chromium package (the console tests need it)"; exit 1; fi

# The admin console in a real browser (chromedp, headless chromium) with
# the axe-core WCAG 2.1 AA check on every page: once, without -race.
# make screenshots rewrites docs/console/*.png from the same run.
console-test: chromium
	$(GO) test -count=1 -run '^TestConsole' ./admin/api/console/

screenshots: chromium
	mkdir -p docs/console
	ADGANG_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run '^TestConsoleFlows$$' ./admin/api/console/

# Every identifier and CSV parser is fuzzed for a few seconds per target.
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; \
	    .ci/fuzz-one $(GO) $$pkg $$f $(FUZZTIME) || exit 1; \
	  done; \
	done

policy-test: $(OPA) build
	$(OPA) test -v policies/
	$(BIN)/adgang policy test policies/

lint: $(OPA)
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	@test -z "$$($(OPA) fmt --list policies/)" || { $(OPA) fmt --list policies/; echo "opa fmt needed"; exit 1; }
	$(OPA) check --strict policies/

# Load benchmark against a stock OPA server and a constant baseline
# (10k users, about 5 minutes); writes docs/benchmarks.md and .json.
# Each write-mix loop runs 60 s: one loop's ratio moves by a standard
# error of ~4.5 points at 24 s on this shared 2-core machine (the report's
# "blocks" column), ~3 at 60 s.
bench: build $(OPA)
	$(GO) build -o $(BIN)/adgang-bench ./cmd/adgang-bench
	$(BIN)/adgang-bench -sizes 10000 -duration 8s -rate-duration 4s -write-duration 60s -out docs

bench-full: build $(OPA)
	$(GO) build -o $(BIN)/adgang-bench ./cmd/adgang-bench
	$(BIN)/adgang-bench -sizes 10000,100000,1000000 -rounds 2 -out docs

# Go micro-benchmarks (login read and in-process decision at 100k and 1M
# users, an admin write).
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem ./store/ ./pdp/api/ ./admin/

clean:
	rm -rf $(BIN)
