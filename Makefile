# Makefile — the two set-up commands (`make demo`, `make test`) plus build, fuzz and bench helpers.
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)

.PHONY: all build deps demo test test-release test-asan fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DWM_SANITIZE=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD)/wasmind

# Release build with -Werror, then the same tests under ASan+UBSan.
test: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DWM_WERROR=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(BUILD) -j $(JOBS)
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DWM_SANITIZE=ON -DWM_WERROR=ON $(CMAKE_ARGS) >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	@scripts/run-tests.sh $(BUILD) $(ASAN_BUILD)

fuzz: deps
	$(MAKE) -C fuzz

bench: build
	@bench/run.sh $(BUILD)/wasmind

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) fuzz/out
