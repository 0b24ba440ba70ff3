# Makefile - the two set-up commands, `make run` and `make test`; CMake does the building.
BUILD ?= build
CMAKE_FLAGS ?=
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: all deps build run test asan bench fuzz fixtures clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Audits this machine, then scans its CUDA libraries and Python environments for common GPUs.
run: build
	@scripts/run-default.sh $(BUILD)/mlgate

test: build
	@cd $(BUILD) && ctest --output-on-failure

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer.
asan: deps
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMLGATE_SANITIZE=ON $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ctest --output-on-failure

bench: build
	@bench/scan-speed.sh $(BUILD)/mlgate
	@python3 bench/inspect-speed.py $(BUILD)/mlgate || echo "inspect-speed: needs the gguf package (pip install gguf)"
	@python3 bench/moe-fit.py $(BUILD)/mlgate || echo "moe-fit: needs the gguf package (pip install gguf)"
	@python3 bench/check-overhead.py $(BUILD)/mlgate

# libFuzzer (clang) over the parsers, seeded with the fixtures: FUZZ_SECONDS=600 make fuzz
fuzz:
	@tests/fuzz/run.sh $${FUZZ_SECONDS:-60}

# Rebuilds tests/fixtures with nvcc (only needed when a fixture changes).
fixtures:
	@tests/fixtures/build.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz
