# Thin driver over CMake. Build trees: build/ (normal), build-asan/
# (AddressSanitizer + UndefinedBehaviorSanitizer) and build-tsan/
# (ThreadSanitizer; its tests run with ASLR off, see tests/CMakeLists.txt).
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake

.PHONY: all deps build build-asan build-tsan demo test test-normal test-asan test-tsan bench soak install clean fuzz

all: build

deps:
	@scripts/install-deps

build: deps
	@$(CMAKE) -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@$(CMAKE) --build build -j $(JOBS) -- --no-print-directory

build-asan: deps
	@$(CMAKE) -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DRPMSG_SANITIZE=ON -DRPMSG_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build build-asan -j $(JOBS)

# Optimised: TSan slows code 5-15x, and -O2 keeps the run short.
build-tsan: deps
	@$(CMAKE) -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRPMSG_SANITIZE=thread -DRPMSG_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build build-tsan -j $(JOBS)

demo: build
	@scripts/demo build

test: test-normal test-asan test-tsan

test-normal: build
	cd build && ctest --output-on-failure -j $(JOBS) -LE soak

test-asan: build-asan
	cd build-asan && ctest --output-on-failure -j $(JOBS) -LE soak

test-tsan: build-tsan
	cd build-tsan && ctest --output-on-failure -j $(JOBS) -LE soak

soak: build
	cd build && RPMSG_SOAK=1 ctest --output-on-failure -L soak

bench: build
	@scripts/bench build

install: build
	@$(CMAKE) --install build --prefix $(PREFIX)

# libFuzzer runs of every fuzz/fuzz_*.c target (FUZZ_SECONDS each), with clang.
FUZZ_SECONDS ?= 60
fuzz: deps
	@CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DRPMSG_FUZZ=ON -DRPMSG_BUILD_TESTS=OFF -DRPMSG_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build build-fuzz -j $(JOBS)
	@for f in build-fuzz/fuzz/fuzz_*; do echo "== $$f"; $$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 2>&1 | tail -n 3 || exit 1; done

clean:
	rm -rf build build-asan build-tsan build-fuzz
