# georank — everything a fresh Debian 12 machine needs, as root:
#   make test   set-up + build + every test
#   make demo   set-up + build + the built-in demo
BUILD ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all setup build test demo bench fuzz format clean

all: build

setup:
	@scripts/setup

$(BUILD)/build.ninja: CMakeLists.txt cmake/GeorankRuntime.cmake | setup
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)

build: setup $(BUILD)/build.ninja
	cmake --build $(BUILD) -j $(JOBS)

test: build
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

demo: build
	$(BUILD)/bin/georank demo

bench: build
	@for b in $(BUILD)/bench/bench_*; do echo "== $$b"; $$b; done

fuzz:
	@scripts/fuzz

format:
	clang-format -i $$(git ls-files '*.cpp' '*.hpp')

clean:
	rm -rf $(BUILD)
