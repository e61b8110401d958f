# arca-net: one entry point per job. `make test` and `make demo` work on a
# fresh Debian machine: they install what they need first (`make setup`).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PNPM_VERSION := 10.34.8
# Debian packages the lab, the integration tests and the benchmarks use
# (debootstrap and skopeo: the helper-VM test image and its OCI export).
APT_PACKAGES := openvswitch-switch ovn-central ovn-host iproute2 busybox-static iperf3 \
	tcpdump bind9-dnsutils clang libclang-rt-14-dev qemu-system-x86 python3 make g++ fonts-dejavu-core iputils-ping ethtool \
	openvswitch-common uuid-runtime docker.io debootstrap skopeo vde2 iptables arping hping3
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# node-gyp builds against the headers of the running Node (no header download).
export npm_config_nodedir ?= $(abspath $(dir $(shell command -v node))..)
BUF := packages/proto/node_modules/.bin/buf

.PHONY: help setup apt-packages pnpm deps build proto proto-check lint test clean demo bench vminit helpervm pack helpervm-test-image soak

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

setup: apt-packages pnpm deps build ## install Debian packages, pnpm, dependencies; build everything

apt-packages: ## apt-get install the Debian packages that are missing
	@missing=$$(for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "setup: installing Debian packages:" $$missing; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	else echo "setup: Debian packages present"; fi

pnpm: ## install the pinned pnpm from the npm registry when missing
	@if [ "$$(pnpm --version 2>/dev/null)" != "$(PNPM_VERSION)" ]; then \
	  echo "setup: installing pnpm@$(PNPM_VERSION)"; npm install -g --silent pnpm@$(PNPM_VERSION); \
	else echo "setup: pnpm $(PNPM_VERSION) present"; fi

deps: ## pnpm install with the frozen lockfile
	pnpm install --frozen-lockfile --reporter=append-only

build: ## native addon (node-gyp) and TypeScript (tsc -b)
	pnpm -r --if-present run build:native
	pnpm exec tsc -b

pack: build ## npm tarballs of host, vsock, proto, log, forwarder, controller, lab (+ deps) in dist/pack (docs/embedding.md)
	node scripts/pack.mjs

# grpc.health.v1's .proto, from the package that publishes it (not a copy).
HEALTH_PROTO := packages/proto/node_modules/grpc-health-check/proto
# $(call descriptor-set,OUT): the FileDescriptorSet that server reflection serves:
# our contracts plus grpc.health.v1 (two serialized sets concatenated are one set).
define descriptor-set
$(BUF) build --exclude-source-info --as-file-descriptor-set -o $(1).arca && \
$(BUF) build $(HEALTH_PROTO) --exclude-source-info --as-file-descriptor-set -o $(1).health && \
cat $(1).arca $(1).health > $(1) && rm -f $(1).arca $(1).health
endef

proto: ## regenerate packages/proto/src/gen from proto/
	$(BUF) generate
	$(call descriptor-set,packages/proto/src/gen/arca-net.binpb)

proto-check: ## fail when the generated code differs from what proto/ produces
	@tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	$(BUF) generate -o "$$tmp" && \
	$(call descriptor-set,"$$tmp/packages/proto/src/gen/arca-net.binpb") && \
	if diff -r "$$tmp/packages/proto/src/gen" packages/proto/src/gen >/dev/null; then \
	  echo "proto-check: generated code is up to date"; \
	else diff -r "$$tmp/packages/proto/src/gen" packages/proto/src/gen | head -40; \
	  echo "proto-check: packages/proto/src/gen is stale or hand-edited: run 'make proto'"; exit 1; fi

lint: ## biome (lint and formatting of the whole tree) and the type check of every test file
	pnpm exec biome check .
	pnpm exec tsc -p tsconfig.test.json

test: setup lint proto-check ## everything CI runs: setup, lint, proto drift, all tests
	pnpm exec vitest run

FUZZ_SECONDS ?= 60
.PHONY: fuzz
fuzz: ## libFuzzer run of the vsock stream decoder (FUZZ_SECONDS, default 60); fails on any crash
	$(MAKE) -C packages/vsock/fuzz fuzz FUZZ_SECONDS=$(FUZZ_SECONDS)

demo: setup ## the lab tour: two networks, three containers, DNS, isolation, counters (KEEP=1 keeps the lab up; HOSTS=2: the cluster tour)
	@$(SUDO) node packages/cli/dist/main.js lab demo $(if $(filter 1,$(KEEP)),--keep) $(if $(HOSTS),--hosts $(HOSTS))

.PHONY: conformance
conformance: build ## Docker conformance alone: Docker's CLI against a private dockerd and a lab (also in make test); refreshes test/conformance/results.md
	DOCKER_API_RESULTS_MD=$(CURDIR)/test/conformance/results.md pnpm exec vitest run test/conformance

bench: setup ## run every benchmark; writes bench/results/latest.{json,md,png} (QUICK=1: about two minutes, most of it bringing labs up and down)
	node vminit/build.mjs
	node bench/dist/main.js

soak: setup ## the reliability report (about 10 minutes): faults, hostile guests and containers (a 10 s flood), frame integrity with 16 pairs; writes bench/results/reliability.{json,md}
	rm -f bench/results/reliability.json
	ARCA_NET_RELIABILITY_OUT=$(CURDIR)/bench/results/reliability.json \
	ARCA_NET_FRAME_PAIRS=$${SOAK_PAIRS:-16} ARCA_NET_FRAME_COUNT=$${SOAK_FRAMES:-50000} \
	ARCA_NET_FLOOD_SECONDS=$${SOAK_FLOOD_SECONDS:-10} \
		pnpm exec vitest run test/e2e/faults.test.ts test/reliability/frames.test.ts test/security
	node test/reliability/report.mjs bench/results/reliability.json

vminit: build ## bundle the forwarder (vminit/dist); with Docker and VMINIT_BASE_IMAGE=<image> also the image arca-net/vminit
	node vminit/build.mjs
	@if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
	  echo "make vminit: bundle ready in vminit/dist; no Docker engine here, so no image (needs: docker, VMINIT_BASE_IMAGE=<base vminit image with node >= 20, ip, busybox>)"; \
	elif [ -z "$(VMINIT_BASE_IMAGE)" ]; then \
	  echo "make vminit: bundle ready in vminit/dist; set VMINIT_BASE_IMAGE=<base vminit image with node >= 20, ip, busybox> to build the image"; \
	else docker build --build-arg BASE_IMAGE=$(VMINIT_BASE_IMAGE) -t $(or $(VMINIT_IMAGE),arca-net/vminit) vminit; fi

helpervm: build ## bundle the controller (helpervm/dist); with Docker also the image arca-net/helpervm (Alpine) and its OCI layout in helpervm/dist/oci
	node helpervm/build.mjs
	@if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
	  echo "make helpervm: bundle ready in helpervm/dist; no Docker engine here, so no image (needs: a Docker engine, Alpine's package repositories reachable or HELPERVM_BASE_IMAGE=<image with node >= 20, Open vSwitch, OVN>, and Docker >= 25 or skopeo for the OCI layout)"; \
	else helpervm/image.sh production; fi

helpervm-test-image: build ## the helper image on a debootstrap Debian 12 base (cached root fs), arca-net/helpervm:test; needs root and a Docker engine
	node helpervm/build.mjs
	@if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then \
	  echo "make helpervm-test-image: needs a Docker engine (DOCKER_HOST); test/image/ starts its own"; exit 1; \
	else helpervm/image.sh test; fi

clean: ## remove build outputs
	rm -rf packages/*/dist packages/*/build packages/*/*.tsbuildinfo vminit/dist helpervm/dist dist/pack packages/vsock/prebuilds
