# Thin wrapper: `make demo` and `make test` install what is missing, build, and run.
# `make demo` is the news pipeline (scripts/demo-news.sh); `make hello` the minimal job.
BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CCACHE := $(shell command -v ccache 2>/dev/null)
# Lets ccache share results between checkouts in different directories.
export CCACHE_BASEDIR ?= $(CURDIR)
CMAKE_FLAGS := -DCMAKE_BUILD_TYPE=Release $(if $(CCACHE),-DCMAKE_CXX_COMPILER_LAUNCHER=$(CCACHE))
HELLO_JOB ?= examples/jobs/hello.toml

.PHONY: all deps build test demo hello bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_FLAGS)
	cmake --build $(BUILD_DIR) -j $(JOBS)

test: build
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

clean:
	rm -rf $(BUILD_DIR)
