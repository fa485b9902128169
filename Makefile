# Civic Ledger. `make run` and `make test` are the two commands a newcomer needs.

GO       ?= go
PKGS      = $(shell $(GO) list ./...)
# The store and projection packages also run under the race detector.
RACEPKGS  = ./eventstore/... ./projections/... ./internal/...

.PHONY: run test test-kurrent check fmt vet generated build bench clean

## run: the server on a private PostgreSQL in .civic/ (http://127.0.0.1:8080)
run: build
	./bin/civic serve

## test: formatting, vet, dependency direction, every test, then some 20 s of fuzzing the request decoder and the document limits
## (a count of executions, not a duration: a duration races Go's fuzzing coordinator at its end, golang/go#75804,
## and fails with "context deadline exceeded" having found nothing)
test: check
	$(GO) test -race -count=1 $(RACEPKGS)
	$(GO) test -count=1 $(filter-out $(shell $(GO) list $(RACEPKGS)),$(PKGS))
	$(GO) test -run '^$$' -fuzz '^FuzzDocumentLimits$$' -fuzztime 40000x ./graph/
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeParams$$' -fuzztime 30000x ./graph/
	@if [ -n "$$KURRENTDB_URL" ]; then $(MAKE) --no-print-directory test-kurrent; else \
		echo "NOT RUN: the KurrentDB tests (the kurrent backend's conformance suite, crash test, copy-events round trip)."; \
		echo "         KURRENTDB_URL is not set. Start one (docker compose --profile kurrent up kurrentdb) and run"; \
		echo "         KURRENTDB_URL='kurrentdb://localhost:2113?tls=false' make test-kurrent"; fi

## test-kurrent: the tests that need a KurrentDB, against the one at KURRENTDB_URL (they fail without it, never skip)
test-kurrent:
	@test -n "$$KURRENTDB_URL" || { echo "test-kurrent: set KURRENTDB_URL, such as kurrentdb://localhost:2113?tls=false (docker compose --profile kurrent up kurrentdb)"; exit 2; }
	$(GO) test -tags kurrent -count=1 ./eventstore/kurrent/ ./eventstore/dense/ ./cmd/civic/ -run 'Kurrent|Conformance|Crash'

check: fmt vet generated

## generated: the gqlgen code in the tree is what the schema generates
generated:
	@before=$$(mktemp -d) && cp -r graph "$$before/" && $(GO) generate ./graph/... && \
	if ! diff -r -q "$$before/graph" graph; then \
		echo "go generate ./graph/... changed the files above: commit what it generates"; rm -rf "$$before"; exit 1; \
	fi; rm -rf "$$before"

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

## vet: also the tests that need a KurrentDB (the kurrent tag), so that they compile where they cannot run
vet:
	$(GO) vet ./...
	$(GO) vet -tags kurrent ./eventstore/kurrent/ ./eventstore/dense/ ./cmd/civic/

build:
	$(GO) build -o bin/civic ./cmd/civic

## bench: every benchmark, each against its bare-SQL baseline (see docs/PERFORMANCE.md)
BENCH = $(GO) test -run '^$$' -timeout 90m
bench:
	$(BENCH) ./eventstore/postgres/ -bench 'Append' -benchtime 20000x
	$(BENCH) ./eventstore/postgres/ -bench 'Sequencer|ReadAll' -benchtime 200000x
	$(BENCH) ./eventstore/postgres/ -bench 'SubscriberLatency' -benchtime 5000x
	$(BENCH) ./eventstore/postgres/ -bench 'Proofs' -benchtime 20000x
	$(BENCH) ./projections/ -bench 'CatchUp' -benchtime 1000000x
	$(BENCH) ./graph/ -bench 'ListQuery' -benchtime 20000x
	$(BENCH) ./graph/ -bench 'CertificateRegistry' -benchtime 20000x
	$(BENCH) ./graph/ -bench 'ReplayDecision' -benchtime 1000x
	$(BENCH) ./graph/ -bench 'ParticipationTrend' -benchtime 160x
	$(BENCH) ./graph/ -bench 'EventsSubscription' -benchtime 5x
	$(BENCH) ./internal/keyring/ -bench 'PersonalData' -benchtime 4000x
	$(BENCH) ./eventstore/dense/ -bench 'Follower' -benchtime 100000x
	@if [ -n "$$KURRENTDB_URL" ]; then $(BENCH) -tags kurrent ./eventstore/kurrent/ -bench 'Append|CatchUp'; else \
		echo "NOT RUN: the KurrentDB benchmarks (KURRENTDB_URL is not set)"; fi

clean:
	rm -rf bin
