# pci-policies: the entry point. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
CARGO ?= cargo
XTASK := $(CARGO) run --quiet --locked -p xtask --
# Tasks that need more than build and run do (kept out of a first `make run`): the registry
# tasks need the host's registry client and cosign, generate the Kubewarden CRD types.
XTASK_LIVE := $(CARGO) run --quiet --locked -p xtask --features live --
XTASK_GENERATE := $(CARGO) run --quiet --locked -p xtask --features generate --
WASM_TARGET := wasm32-wasip1

.PHONY: all setup build run bench generate artifacthub manifests pci-matrix publish record fuzz bench-variants test fmt-check lint unit e2e clean

all: build

## setup: install what building and testing need (idempotent; quick when done)
setup:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@missing=; command -v wasm-opt >/dev/null || missing="$$missing binaryen"; \
	command -v docker-registry >/dev/null || missing="$$missing docker-registry"; \
	if [ -n "$$missing" ]; then \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		echo "setup: installing Debian packages:$$missing"; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing >/dev/null; \
	fi
	@echo "setup: wasm target, rustfmt, clippy, wasm-opt ($$(wasm-opt --version)) and docker-registry (for the publishing tests) are installed"

## build: every policy to dist/<name>.wasm (optimised, annotated)
build: setup
	$(XTASK) build

## run: build, then evaluate every policy on examples/ and print the verdict table
run: build
	$(XTASK) run

## bench: wasm size, compile time, median and p99 evaluation time per policy and request
bench: build
	$(CARGO) run --quiet --locked --profile bench-host -p xtask -- bench

## generate: Artifact Hub packages (artifacthub/), manifests (manifests/), docs/pci-matrix.md
generate:
	$(XTASK_GENERATE) generate

## artifacthub, manifests, pci-matrix: names for `make generate` (one generator keeps them consistent)
artifacthub manifests pci-matrix: generate

## publish: push every policy, e.g. make publish REGISTRY=ghcr.io/acme/pci-policies [TAG=v0.1.0] [INSECURE=1]
publish: build
	@test -n "$(REGISTRY)" || { echo "usage: make publish REGISTRY=host[:port][/path] [TAG=tag] [INSECURE=1 for a plain-HTTP local registry]"; exit 2; }
	$(XTASK_LIVE) publish --registry '$(REGISTRY)' $(if $(TAG),--tag '$(TAG)') $(if $(INSECURE),--insecure) $(if $(DOCKER_CONFIG_JSON),--docker-config-json-path '$(DOCKER_CONFIG_JSON)')

## fuzz: short cargo-fuzz runs of every target (nightly toolchain; installs cargo-fuzz if missing)
FUZZ_SECONDS ?= 30
fuzz: setup
	@command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
	$(XTASK) fuzz --seconds $(FUZZ_SECONDS)

## bench-variants: opt-level and wasm-opt comparison (size, time) recorded in BENCHMARKS.md
bench-variants: setup
	$(CARGO) run --quiet --locked --profile bench-host -p xtask -- bench-variants

## record: regenerate the recorded replay fixtures (policies/*/test_data/recorded/) from live runs
record: build
	$(XTASK_LIVE) record

## test: format, lint, unit tests, build, end-to-end tests through the compiled policies
test: setup fmt-check lint unit build e2e

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --locked --workspace --all-targets --all-features -- -D warnings

# Unit tests need no built module; the end-to-end tests and the command's own tests (cli/tests)
# run the compiled modules of dist/.
unit:
	$(CARGO) test --locked --workspace --all-features --exclude e2e-tests --exclude pci-policies

e2e:
	$(CARGO) test --locked -p e2e-tests -p pci-policies

clean:
	$(CARGO) clean
	rm -rf dist
