# Makefile - the two set-up commands, `make run` and `make test`; CMake does the building.
BUILD ?= build
CMAKE_FLAGS ?=
MAKEFLAGS += --no-print-directory
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
# The tests' tooling (scripts/test-tools.sh, run by test and asan): a venv with tests/requirements.txt, and
# the CPU llama.cpp build's cache; ctest gets the venv's Python and the llama.cpp binaries (unless set already).
VENV := $(CURDIR)/.tools/venv
LLAMA_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/mlgate/llama
TEST_TOOLS = scripts/test-tools.sh $(VENV) $(LLAMA_CACHE)
TEST_CMAKE = -DPython3_EXECUTABLE=$(VENV)/bin/python3
TEST_ENV = MLGATE_LLAMA_COMPLETION="$${MLGATE_LLAMA_COMPLETION:-$(LLAMA_CACHE)/bin/llama-completion}" \
	MLGATE_LLAMA_SERVER="$${MLGATE_LLAMA_SERVER:-$(LLAMA_CACHE)/bin/llama-server}"
# The wheel corpus (make test-corpus) and GPU-only tests stay out of make test and make asan.
TEST_SKIP = corpus|gpu

.PHONY: all deps build run install test test-tools test-corpus asan asan-clang bench fuzz fixtures clean

all: build

deps:
	@scripts/deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

# Audits this machine, then scans its CUDA libraries and Python environments for common GPUs.
run: build
	@scripts/run-default.sh $(BUILD)/mlgate

# Installs the command, libmlgate (.so and .a), its headers and pkg-config file, the man pages and the
# bash completion under PREFIX (DESTDIR for staging).
PREFIX ?= /usr/local
install: build
	@DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --prefix $(PREFIX)

# Sets up the test tooling (the first time ~10 min, for llama.cpp; cached after), builds, runs every test but
# the corpus's.
test: deps
	@$(TEST_TOOLS)
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo $(TEST_CMAKE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)
	@cd $(BUILD) && $(TEST_ENV) ctest --output-on-failure -LE '$(TEST_SKIP)'

# The test tooling alone: the venv, Debian's espeak-ng, the CPU llama.cpp build (each cached).
test-tools: deps
	@$(TEST_TOOLS)

# The wheel-corpus facts (test_corpus): downloads the corpus (bench/corpus.sh, ~3 GB, cached in
# ~/.cache/mlgate/wheels) with the venv's pip, then runs them.
test-corpus: build
	@scripts/test-tools.sh --venv-only $(VENV)
	@PATH="$(VENV)/bin:$$PATH" bench/corpus.sh >/dev/null
	@cd $(BUILD) && ctest --output-on-failure --no-tests=error -L corpus

# The same tests under AddressSanitizer + UndefinedBehaviorSanitizer, with the same tooling.
asan: deps
	@$(TEST_TOOLS)
	@cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMLGATE_SANITIZE=ON $(TEST_CMAKE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && $(TEST_ENV) ctest --output-on-failure -LE '$(TEST_SKIP)'

# The same with clang, whose sanitizers add unsigned-integer-overflow and implicit-conversion (CMakeLists.txt).
asan-clang: deps
	@scripts/deps.sh clang
	@$(TEST_TOOLS)
	@CC=clang cmake -S . -B build-asan-clang -DCMAKE_BUILD_TYPE=Debug -DMLGATE_SANITIZE=ON $(TEST_CMAKE) $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-asan-clang -j $(JOBS)
	@cd build-asan-clang && $(TEST_ENV) ctest --output-on-failure -LE '$(TEST_SKIP)'

# Speed figures (bench/): scans, inspect vs gguf.GGUFReader, fit on a MoE shape, the gate's overhead, plan.
bench: build
	@scripts/test-tools.sh --venv-only $(VENV)
	@bench/scan-speed.sh $(BUILD)/mlgate
	@$(VENV)/bin/python3 bench/inspect-speed.py $(BUILD)/mlgate
	@$(VENV)/bin/python3 bench/moe-fit.py $(BUILD)/mlgate
	@$(VENV)/bin/python3 bench/check-overhead.py $(BUILD)/mlgate
	@python3 bench/plan-speed.py $(BUILD)/mlgate

# libFuzzer (clang, ASan+UBSan) over every parser and checker, FUZZ_SECONDS each (tests/fuzz/run.sh: FUZZ_JOBS,
# FUZZ_TARGETS="gguf matrix"), seeded with tests/fuzz/corpus; prints each target's executions and exec/s
FUZZ_TARGETS ?=
fuzz:
	@scripts/deps.sh clang
	@tests/fuzz/run.sh $${FUZZ_SECONDS:-60} $(FUZZ_TARGETS)

# Rebuilds tests/fixtures with nvcc (only needed when a fixture changes).
fixtures:
	@tests/fixtures/build.sh

clean:
	rm -rf $(BUILD) build-asan build-asan-clang build-fuzz
