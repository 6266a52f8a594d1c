# Thin driver over CMake. Build trees: build/ (normal), build-asan/
# (AddressSanitizer + UndefinedBehaviorSanitizer) and build-tsan/
# (ThreadSanitizer; its tests run with ASLR off, see tests/CMakeLists.txt).
PREFIX ?= /usr/local
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE ?= cmake

.PHONY: all deps build build-asan build-tsan build-release demo test test-normal test-asan test-tsan bench soak install clean fuzz mcu footprint

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

# The library and the CLI at -O3, as a user's Release build compiles them:
# GCC's analysis differs with the level, and a warning there is an error.
build-release: deps
	@$(CMAKE) -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DRPMSG_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build build-release -j $(JOBS) --target rpmsg_obj rpmsg_nosys rpmsg_tool

demo: build
	@scripts/demo build

test: build-release test-normal test-asan test-tsan

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

# The library cross-compiled for Cortex-M4F and Cortex-M0+ (examples/mcu,
# docs/mcu.md), -Werror; build-mcu-m4/ and build-mcu-m0plus/.
mcu: deps
	@for cpu in cortex-m4 cortex-m0plus; do \
		$(CMAKE) -S examples/mcu -B build-mcu-$${cpu#cortex-} -DCMAKE_TOOLCHAIN_FILE=$(CURDIR)/cmake/toolchain-arm-none-eabi.cmake \
			-DRPMSG_MCU_CPU=$$cpu >/dev/null && $(CMAKE) --build build-mcu-$${cpu#cortex-} -j $(JOBS) || exit 1; \
	done

# Flash and RAM of the minimal remote per configuration (scripts/footprint;
# make bench runs it too).
footprint: deps
	@scripts/footprint

install: build
	@$(CMAKE) --install build --prefix $(PREFIX)

# libFuzzer runs of every fuzz/fuzz_*.c target (FUZZ_SECONDS each), with clang,
# ASan and UBSan, from the seeds in fuzz/corpus/<target>/ (read only: what
# libFuzzer finds goes to build-fuzz/corpus/<target>/). FUZZ_TARGETS narrows
# the set (e.g. FUZZ_TARGETS=fuzz_port_rx). See fuzz/README.md.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(patsubst fuzz/%.c,%,$(wildcard fuzz/fuzz_*.c))
fuzz:
	@scripts/install-deps fuzz
	@CC=clang $(CMAKE) -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DRPMSG_FUZZ=ON -DRPMSG_BUILD_TESTS=OFF -DRPMSG_BUILD_BENCH=OFF >/dev/null
	@$(CMAKE) --build build-fuzz -j $(JOBS) --target $(FUZZ_TARGETS)
	@for t in $(FUZZ_TARGETS); do \
		echo "== $$t"; mkdir -p build-fuzz/corpus/$$t; \
		dict=; [ -f fuzz/$$t.dict ] && dict=-dict=fuzz/$$t.dict; \
		build-fuzz/fuzz/$$t build-fuzz/corpus/$$t fuzz/corpus/$$t $$dict \
			-max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 > build-fuzz/$$t.log 2>&1; \
		rc=$$?; grep -E '^#[0-9]+[[:space:]]+(INITED|DONE)|^stat::(number_of_executed_units|average_exec_per_sec)' build-fuzz/$$t.log; \
		[ $$rc = 0 ] || { tail -n 40 build-fuzz/$$t.log; exit 1; }; \
	done

clean:
	rm -rf build build-asan build-tsan build-release build-fuzz build-mcu-m4 build-mcu-m0plus
