# civisens — the two commands are `make run` and `make test`; see README.md.
SHELL := /bin/bash
.DEFAULT_GOAL := help

export CGO_ENABLED := 0
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
PROGRAMS := firmware-bridge gateway registry
# Cross-compilation targets: Raspberry Pi Zero/1 (ARMv6), Pi 2/3 (ARMv7), Pi 3/4/5 64-bit.
CROSS    := linux/arm/6 linux/arm/7 linux/arm64/-
TESTFLAGS ?= -count=1 -timeout 20m

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

.PHONY: build
build: web-assets ## build the three programs into bin/
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ $(addprefix ./,$(PROGRAMS))

.PHONY: web-assets
web-assets: ## npm ci (when the lock changed); vendor Leaflet into the registry, axe-core into var/vendor/
	@scripts/web-assets.sh

bin/influxd:
	scripts/influxd.sh install

.PHONY: influxd
influxd: bin/influxd ## build InfluxDB 1.8.10 into bin/ (once)

.PHONY: run
run: build ## run the whole system on its defaults (Ctrl-C stops it)
	@if [ -z "$$INFLUX_URL" ]; then $(MAKE) --no-print-directory bin/influxd; fi
	@exec scripts/run.sh

.PHONY: test-deps
test-deps: bin/influxd ## install what the tests need (InfluxDB 1.8.10, Debian's mosquitto)
	@scripts/test-deps.sh

.PHONY: test
test: test-deps web-assets ## vet, run every test (ARM ones under qemu too), cross-compile for the Raspberry Pi
	@unformatted=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(MAKE) --no-print-directory lint
	$(GO) test $(TESTFLAGS) ./...
	GO=$(GO) scripts/arm-tests.sh
	$(MAKE) --no-print-directory cross

STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
.PHONY: lint
lint: ## staticcheck (bugs, dead code), fetched through the Go module proxy
	$(GO) run $(STATICCHECK) ./...

.PHONY: test-short
test-short: ## the quick loop: unit tests only, no external servers
	$(GO) test -short ./...

.PHONY: cross
cross: web-assets ## build the three programs for linux/arm (ARMv6, ARMv7) and linux/arm64
	@set -e; for t in $(CROSS); do \
		IFS=/ read -r os arch arm <<<"$$t"; \
		out=var/cross/$$os-$$arch$${arm#-}; [ "$$arm" = "-" ] && out=var/cross/$$os-$$arch; \
		echo "cross: $$os/$$arch$${arm#-} -> $$out/"; \
		GOOS=$$os GOARCH=$$arch GOARM=$${arm#-} $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out/ $(addprefix ./,$(PROGRAMS)); \
		for p in $(PROGRAMS); do printf '  %-38s %9s\n' "$$out/$$p" "$$(numfmt --to=iec-i --suffix=B --format=%.1f $$(stat -c %s $$out/$$p))"; done; \
	done

.PHONY: pi
pi: cross ## the Raspberry Pi builds (same as cross): var/cross/linux-arm6, -arm7, -arm64, with sizes

.PHONY: deb
deb: web-assets ## .deb packages for amd64, arm64, armhf (nfpm) into var/dist/
	@scripts/deb.sh

.PHONY: bench
bench: bin/influxd ## the chain against its targets: medians of 3 runs (BENCH=quick: one short run); var/bench/
	@command -v mosquitto >/dev/null || [ -x /usr/sbin/mosquitto ] || { echo "bench: mosquitto is missing: run make test-deps"; exit 1; }
	CIVISENS_BENCH=$(or $(BENCH),full) $(GO) test -count=1 -run '^TestBench$$' -v -timeout 120m ./bench
	@if [ "$(or $(BENCH),full)" = full ]; then $(GO) test -run '^$$' -bench . -benchmem ./...; fi

FUZZTIME ?= 30s
.PHONY: fuzz
fuzz: ## run every fuzz target for FUZZTIME each (default 30s)
	@set -e; for pkg in $$($(GO) list ./...); do \
		for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
			echo "fuzz: $$pkg $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
		done; \
	done

.PHONY: clean
clean: ## remove build outputs (keeps var/ data and bin/influxd)
	rm -f $(addprefix bin/,$(PROGRAMS))
	rm -rf var/cross
