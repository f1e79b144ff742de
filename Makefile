# Thin wrappers over CMake. `make run` and `make test` work on a fresh
# Debian 12 machine as root: they install what is missing first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=
CTEST_FLAGS ?=
DIR        ?= var

.PHONY: all deps build run test test-asan test-tsan bench fuzz format clean

all: build

deps:
	@./scripts/install-deps

build: deps
	@cmake -S . -B $(BUILD) $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

# A demo instance under ./var (created once), served in the foreground.
run: build
	@[ -f $(DIR)/directgate.conf ] || ./$(BUILD)/directgate init --dir $(DIR) --demo
	./$(BUILD)/directgate serve --dir $(DIR)

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) $(CTEST_FLAGS)

# The whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer.
test-asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DDG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(ASAN_BUILD) -j$(JOBS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  ctest --output-on-failure -j$(JOBS) $(CTEST_FLAGS)

# The whole suite under ThreadSanitizer (daemons in the integration tests
# too), with tests/tsan.supp.
test-tsan: deps
	@cmake -S . -B build-tsan -DDG_TSAN=ON -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS) >/dev/null
	@cmake --build build-tsan -j$(JOBS)
	cd build-tsan && TSAN_OPTIONS=suppressions=$(CURDIR)/tests/tsan.supp \
	  ctest --output-on-failure -j$(JOBS) $(CTEST_FLAGS)

bench: build
	@./scripts/run-bench $(BUILD)

# libFuzzer targets (clang): make fuzz, then build-fuzz/tests/fuzz_<name>.
fuzz: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DDG_FUZZ=ON -DDG_SANITIZE=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build $(FUZZ_BUILD) -j$(JOBS)

format:
	@find core certs smime hisp adt gateway tests bench -name '*.[ch]' | xargs clang-format -i

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) build-tsan
