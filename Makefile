# Thin wrapper over CMake presets. Every target first makes sure the Debian packages are there.
.PHONY: setup build test test-asan demo bench format clean

JOBS ?= $(shell nproc)
TANDEM := build/release/bin/tandem

setup:
	@scripts/setup

build: setup
	@cmake --preset release >/dev/null
	@cmake --build --preset release -j $(JOBS)

test: build
	@ctest --preset release

test-asan: setup
	@cmake --preset debug-asan >/dev/null
	@cmake --build --preset debug-asan -j $(JOBS)
	@ctest --preset debug-asan

demo: build
	@scripts/demo

bench: build
	@scripts/bench

format:
	@git ls-files '*.h' '*.cpp' | xargs clang-format -i

clean:
	@rm -rf build
