# pci-policies: the entry point. `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
CARGO ?= cargo
XTASK := $(CARGO) run --quiet --locked -p xtask --
WASM_TARGET := wasm32-wasip1

.PHONY: all setup build run bench test fmt-check lint unit e2e clean

all: build

## setup: install what building and testing need (idempotent; quick when done)
setup:
	@rustup target list --installed | grep -qx '$(WASM_TARGET)' || rustup target add $(WASM_TARGET)
	@rustup component list --installed | grep -q '^rustfmt' || rustup component add rustfmt
	@rustup component list --installed | grep -q '^clippy' || rustup component add clippy
	@command -v wasm-opt >/dev/null || { \
		if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq binaryen >/dev/null; }
	@echo "setup: wasm target, rustfmt, clippy and wasm-opt ($$(wasm-opt --version)) are installed"

## build: every policy to dist/<name>.wasm (optimised, annotated)
build: setup
	$(XTASK) build

## run: build, then evaluate every policy on examples/ and print the verdict table
run: build
	$(XTASK) run

## bench: wasm size, compile time, median and p99 evaluation time per policy and request
bench: build
	$(XTASK) bench

## test: format, lint, unit tests, build, end-to-end tests through the compiled policies
test: setup fmt-check lint unit build e2e

fmt-check:
	$(CARGO) fmt --all -- --check

lint:
	$(CARGO) clippy --locked --workspace --all-targets -- -D warnings

unit:
	$(CARGO) test --locked --workspace --exclude e2e-tests

e2e:
	$(CARGO) test --locked -p e2e-tests

clean:
	$(CARGO) clean
	rm -rf dist
