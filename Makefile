# Thin wrapper: `make demo` and `make test` install what is missing, build, and run.
# `make demo` is the news pipeline (scripts/demo-news.sh) on the Release build in build/;
# `make hello` the minimal job. `make test` builds everything with AddressSanitizer and
# UndefinedBehaviorSanitizer in build-asan and runs the whole suite there: one build serves the
# tests and the sanitizers (`make check-asan` is the same; `make test-release` runs the suite on
# the Release build). `make check-tsan` and `make fuzz` build in their own directories
# (docs/reliability.md).
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CCACHE := $(shell command -v ccache 2>/dev/null)
# Lets ccache share results between checkouts in different directories.
export CCACHE_BASEDIR ?= $(CURDIR)
# Unity builds: each target's sources compiled in batches (a library build takes 45% of the CPU
# time it takes file by file). CMakeLists.txt makes them the default for any build.
UNITY := -DCMAKE_UNITY_BUILD=ON
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Release $(UNITY) $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))
HELLO_JOB ?= examples/jobs/hello.toml
ASAN_BUILD_DIR ?= build-asan
TSAN_BUILD_DIR ?= build-tsan
FUZZ_BUILD_DIR ?= build-fuzz
FUZZ_SECONDS ?= 60
# Sanitizer builds: -Og with line tables only (-g1: stacks with file:line, 25% faster to
# compile than -g). -Og compiles a batch in about 70% of the time -O1 takes with ASan (23 s
# against 33 s for the library's heaviest), and runs nearly as fast.
SAN_FLAGS := -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-Og -g1" \
             $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))
# What ThreadSanitizer runs: the scheduler, the journal writer, the sinks' publish threads (the
# S3 sink's I/O thread, storage_sink, the SQLite example storage) and
# the Python binding's run loop (ctest labels: the test binary's name, or "python").
TSAN_LABELS := ^(scheduler_tests|journal_tests|s3_tests|s3_fault_tests|sink_tests|sqlite_storage_tests|service_tests|python)$$
TSAN_TARGETS := scheduler_tests journal_tests s3_tests s3_fault_tests sink_tests sqlite_storage_tests service_tests drover_cli drover_python
# Extra ctest arguments for the sanitizer runs, e.g. SAN_CTEST_ARGS='-E "http read"'.
SAN_CTEST_ARGS ?=

.PHONY: all deps build test test-release demo hello bench clean check-asan check-tsan fuzz

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: check-asan

# The suite on the Release build (build/), without the sanitizers.
test-release: build
	@rm -f $(BUILD_DIR)/tests/s3rver/.npm-ci-failed
	ctest --test-dir $(BUILD_DIR) --output-on-failure -j $(JOBS)

demo: build
	scripts/demo-news.sh $(BUILD_DIR)

hello: build
	$(BUILD_DIR)/drover run $(HELLO_JOB)
	@echo "read it with: zcat out/hello/date=2018-01-06/day-2018-01-06.jsonl.gz"


bench: build
	@scripts/install-deps.sh --bench
	bench/run-all.sh $(BUILD_DIR)

# The whole suite with AddressSanitizer and UndefinedBehaviorSanitizer (g++): `make test`.
check-asan: deps
	cmake -S . -B $(ASAN_BUILD_DIR) $(SAN_FLAGS) $(UNITY) -DDROVER_SANITIZE=address,undefined
	cmake --build $(ASAN_BUILD_DIR) -j $(JOBS)
	@rm -f $(ASAN_BUILD_DIR)/tests/s3rver/.npm-ci-failed
	ctest --test-dir $(ASAN_BUILD_DIR) --output-on-failure -j $(JOBS) $(SAN_CTEST_ARGS)

# The threaded parts with ThreadSanitizer (g++); a race stops the process that has it.
check-tsan: deps
	cmake -S . -B $(TSAN_BUILD_DIR) $(SAN_FLAGS) $(UNITY) -DDROVER_SANITIZE=thread -DDROVER_BUILD_BENCH=OFF
	cmake --build $(TSAN_BUILD_DIR) -j $(JOBS) --target $(TSAN_TARGETS)
	@rm -f $(TSAN_BUILD_DIR)/tests/s3rver/.npm-ci-failed
	TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 $(TSAN_OPTIONS)" \
	  ctest --test-dir $(TSAN_BUILD_DIR) --output-on-failure -j $(JOBS) -L '$(TSAN_LABELS)' $(SAN_CTEST_ARGS)

# libFuzzer targets (clang, ASan+UBSan), each run for FUZZ_SECONDS (tests/fuzz/run.sh).
fuzz:
	@scripts/install-deps.sh --fuzz
	cmake -S . -B $(FUZZ_BUILD_DIR) $(SAN_FLAGS) $(UNITY) -DCMAKE_CXX_COMPILER=clang++-16 \
	  -DDROVER_SANITIZE=address,undefined -DDROVER_BUILD_FUZZ=ON -DDROVER_BUILD_TESTS=OFF \
	  -DDROVER_BUILD_EXAMPLES=OFF -DDROVER_BUILD_BENCH=OFF -DDROVER_BUILD_PYTHON=OFF -DDROVER_INSTALL=OFF
	cmake --build $(FUZZ_BUILD_DIR) -j $(JOBS) --target fuzz_targets
	tests/fuzz/run.sh $(FUZZ_BUILD_DIR) $(FUZZ_SECONDS)

clean:
	rm -rf $(BUILD_DIR) $(ASAN_BUILD_DIR) $(TSAN_BUILD_DIR) $(FUZZ_BUILD_DIR)
