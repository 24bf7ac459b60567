# RoadCheck. `make run` runs the demo; `make test` runs every test.
GO       ?= go
BIN      := build/bin
GOFLAGS  ?= -buildvcs=false
export GOFLAGS

.PHONY: run run-cli test build package gui-perf bench bench-hub bench-scan bench-trust-scale lint tidy-check fuzz deps-image deps-gui deps-test clean

## run: the terminal GUI on the demo world (installs the Debian packages it needs)
run: deps-gui
	$(GO) run ./app/roadcheck --demo

## run-cli: the same demo in the terminal: build, import, verify every sample
run-cli: deps-image
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./app/rcctl
	RCCTL=$(BIN)/rcctl bash build/demo-run.sh

## test: vet, all tests with the race detector, the CLI demo and the GUI smoke test under Xvfb
test: deps-test
	$(GO) vet ./...
	$(GO) test -race -timeout 14m ./...
	$(MAKE) --no-print-directory run-cli
	bash build/xvfb-smoke.sh

## package: a Linux desktop package of the GUI (fyne tooling) into build/out
package: deps-gui
	bash build/package/package.sh linux

## gui-perf: cold start and verdict latency of the GUI under Xvfb
gui-perf: deps-test
	bash build/gui-perf.sh

## build: every program into build/bin
build: deps-gui
	@mkdir -p $(BIN)
	$(GO) build -o $(BIN)/ ./app/...

## bench: the benchmarks whose figures are in the README
bench:
	$(GO) test -run '^$$' -bench 'Verify$$|RawSM2Verify$$' -benchtime 3s -count 3 ./internal/verify
	$(GO) test -run '^$$' -bench 'Import' -benchtime 5x ./internal/trust
	$(GO) test -run '^$$' -bench . -benchtime 1x ./internal/records/... ./internal/syncclient/... ./internal/hub/...

## bench-hub: the hub on both stores (bbolt, PostgreSQL started by the tests): ingestion, storage, queries, counters and export at 10 M records, packing a day of 5 M
bench-hub: deps-test
	RC_BENCH_RECORDS=$${RC_BENCH_RECORDS:-10000000} RC_BENCH_DAY_RECORDS=$${RC_BENCH_DAY_RECORDS:-5000000} $(GO) test -run '^$$' -bench 'Ingest|Query|Counters|Export|PackDay' -benchtime 1x -timeout 180m ./internal/hub/pgstore
	$(GO) test -run '^$$' -bench 'IngestSecurity' -benchtime 100x ./internal/hub
	$(GO) test -run '^$$' -bench 'QueryAudit' -benchtime 3x ./internal/hub

## bench-trust-scale: the trust store and feed on the national world (10 M entries; generated once into $$TMPDIR)
bench-trust-scale:
	bash build/bench-trust-scale.sh

## bench-scan: the QR decoder against zbarimg on the generated camera corpus (classic and hard families)
bench-scan:
	@bash build/deps.sh scan image
	bash build/bench-scan.sh

## lint: formatting (fails on any unformatted file) and go vet
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...

## tidy-check: go.mod and go.sum are tidy
tidy-check:
	$(GO) mod tidy -diff

## fuzz: a short run of every fuzz target
fuzz:
	$(GO) test -run '^$$' -fuzz 'FuzzParse$$' -fuzztime 30s ./internal/credential
	$(GO) test -run '^$$' -fuzz 'FuzzBase45$$' -fuzztime 15s ./internal/credential
	$(GO) test -run '^$$' -fuzz 'FuzzParseStatusList$$' -fuzztime 30s ./internal/credential
	$(GO) test -run '^$$' -fuzz 'FuzzImport$$' -fuzztime 30s ./internal/trust
	$(GO) test -run '^$$' -fuzz 'FuzzSplitPEM$$' -fuzztime 15s ./internal/trust
	$(GO) test -run '^$$' -fuzz 'FuzzGrey$$' -fuzztime 30s ./internal/scan/internal/imagecodec
	$(GO) test -run '^$$' -fuzz 'FuzzLoadImage$$' -fuzztime 30s ./internal/scan

deps-image:
	@bash build/deps.sh image

deps-gui:
	@bash build/deps.sh gui

deps-test:
	@bash build/deps.sh gui test

clean:
	rm -rf $(BIN)
