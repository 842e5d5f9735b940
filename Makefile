# The two commands: `make run` and `make test`. Each installs what is missing
# (Debian packages, npm packages), configures, builds, then runs.
# CI adds `make test-asan`, `make test-tsan` and `make fuzz` (README,
# "Sanitizers and fuzzing"); `make soak` and `make soak-chaos` run by hand
# (README, "Soak").
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
# CI sets CI=true: warnings become errors there.
WERROR := $(if $(filter true 1 yes,$(CI)),ON,OFF)
CMAKE_FLAGS ?=

# libmimalloc-dev: the allocator linked by default (CHANSTATE_ALLOCATOR);
# elixir: the OTP peer of `make bench`, whose smoke test runs in `make test`.
APT_PACKAGES := cmake g++ make libcaf-dev libboost1.81-dev \
                libboost-json1.81-dev doctest-dev liblmdb-dev libmimalloc-dev \
                libssl-dev elixir chromium prometheus-cpp-dev prometheus libspdlog-dev

.PHONY: run test build configure deps apt-deps npm-deps clean bench \
        test-asan build-asan test-tsan build-tsan fuzz build-fuzz fuzz-apt-deps \
        soak soak-chaos package

# The node on 127.0.0.1:4000; pass options with ARGS="--port=4001 ...".
# `chanstate-node demo` still runs the seed scenario in-process.
run: build
	$(BUILD)/bin/chanstate-node $(ARGS)

test: build npm-deps
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

# npm-deps first: the demo page embeds phoenix.js from the pinned package.
build: configure npm-deps
	cmake --build $(BUILD) -j $(JOBS)

# The Debian package (CPack): chanstate-node, its systemd unit and
# /etc/chanstate/node.ini, the headers, libraries and CMake package.
package: build
	cd $(BUILD) && cpack -G DEB

configure: apt-deps
	cmake -S . -B $(BUILD) -DCHANSTATE_WARNINGS_AS_ERRORS=$(WERROR) $(CMAKE_FLAGS)

deps: apt-deps npm-deps

# chanstate-bench against the OTP peer (test/bench/peer), alternating runs in
# one sitting, medians of 3; ~17 min on 2 cores. BENCH_ARGS="--reps=5" or
# "--scale-channels=1000000" to change it. Not part of `make test` (its smoke
# test is).
BENCH_ARGS ?=
bench: build
	node test/bench/peer/compare.js $(BUILD)/bin/chanstate-bench \
	  test/bench/peer/peer.exs $(BENCH_ARGS)

# Installs only what dpkg does not already have, so a ready machine pays nothing.
apt-deps:
	@missing=$$(for p in $(APT_PACKAGES); do \
	    dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	  done); \
	if ! command -v node >/dev/null || ! command -v npm >/dev/null; then missing="$$missing nodejs npm"; fi; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

# test/browser's playwright-core drives Debian's chromium: it downloads no browser.
npm-deps: apt-deps
	@for d in test/e2e test/browser; do \
	  if [ -f $$d/package.json ]; then \
	    if [ ! -d $$d/node_modules ] || [ $$d/package-lock.json -nt $$d/node_modules ]; then \
	      (cd $$d && npm ci --no-audit --no-fund) && touch $$d/node_modules || exit 1; \
	    fi; \
	  fi; \
	done

clean:
	rm -rf $(BUILD)

# --- Sanitizers -------------------------------------------------------------
# ASan+UBSan build of the unit, app and e2e suites in its own folder. The
# Beast TUs take minutes and gigabytes each under ASan, so never more than
# two jobs.
ASAN_BUILD ?= build-asan
SAN_JOBS := $(shell j=$(JOBS); [ "$$j" -gt 2 ] && j=2; echo $$j)
ASAN_TARGETS := chanstate-unit-tests chanstate-app-tests chanstate-node
# Every sanitized process (including each chanstate-node the e2e suites
# start) writes its reports to $(ASAN_LOGS); any file there fails the run,
# even when the test that started the process did not look at its exit code.
ASAN_LOGS = $(abspath $(ASAN_BUILD))/sanitizer-logs
# UBSan stays recoverable at compile time (the default) so that the
# suppressions file works, and halts at run time on the first report:
# test/sanitizers/ubsan.supp explains the one suppressed CAF report.
ASAN_ENV = ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:strict_init_order=1:detect_stack_use_after_return=1:log_path=$(ASAN_LOGS)/asan \
           UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$(CURDIR)/test/sanitizers/ubsan.supp:log_path=$(ASAN_LOGS)/ubsan

build-asan: apt-deps
	cmake -S . -B $(ASAN_BUILD) -DCHANSTATE_SANITIZERS=address,undefined \
	  -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O1 -g -fno-omit-frame-pointer" \
	  -DCHANSTATE_WARNINGS_AS_ERRORS=$(WERROR) $(CMAKE_FLAGS)
	cmake --build $(ASAN_BUILD) -j $(SAN_JOBS) --target $(ASAN_TARGETS)

# The bench targets are not built here; their tests run in `make test`, and
# so do the examples and the package check (they install the build).
test-asan: build-asan npm-deps
	@rm -rf $(ASAN_LOGS) && mkdir -p $(ASAN_LOGS)
	@status=0; \
	$(ASAN_ENV) ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(SAN_JOBS) \
	  -E '^(bench_smoke|soak_smoke|soak_chaos_smoke|soak_model|peer_smoke|package_deb|examples?_.*)$$' || status=$$?; \
	if [ -n "$$(ls -A $(ASAN_LOGS))" ]; then \
	  echo "sanitizer reports:"; for f in $(ASAN_LOGS)/*; do echo "== $$f"; cat "$$f"; done; \
	  status=1; \
	fi; \
	exit $$status

# ThreadSanitizer only for the code that crosses threads without CAF (the
# commit cell, snapshots, the journal's figures and core): test/tsan/CMakeLists.txt
# says why no actor runs there.
TSAN_BUILD ?= build-tsan

build-tsan: apt-deps
	cmake -S test/tsan -B $(TSAN_BUILD)
	cmake --build $(TSAN_BUILD) -j $(SAN_JOBS)

test-tsan: build-tsan
	TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 \
	  ctest --test-dir $(TSAN_BUILD) --output-on-failure -j $(SAN_JOBS)

# --- Fuzzing ----------------------------------------------------------------
# libFuzzer targets (test/fuzz), built with clang++-14 in their own folder;
# the main build stays g++. Each target runs FUZZ_SECONDS from the seed corpus
# in test/fuzz/corpus plus what earlier runs found (kept in the build folder);
# any crash, leak, UBSan report or timeout fails the run and leaves the input
# in $(FUZZ_BUILD)/artifacts.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := wire_codec connect_params demo_channel token
FUZZ_APT_PACKAGES := clang-14 libclang-rt-14-dev
fuzz_dict = test/fuzz/$(if $(filter connect_params,$(1)),query,phoenix).dict

fuzz-apt-deps:
	@$(MAKE) --no-print-directory apt-deps APT_PACKAGES="$(APT_PACKAGES) $(FUZZ_APT_PACKAGES)"

build-fuzz: fuzz-apt-deps
	cmake -S test/fuzz -B $(FUZZ_BUILD) -DCMAKE_CXX_COMPILER=clang++-14
	cmake --build $(FUZZ_BUILD) -j $(SAN_JOBS)

fuzz: build-fuzz
	@mkdir -p $(FUZZ_BUILD)/artifacts
	@$(foreach t,$(FUZZ_TARGETS), \
	  mkdir -p $(FUZZ_BUILD)/corpus/$(t); \
	  echo "fuzz_$(t): $(FUZZ_SECONDS) s"; \
	  if ! $(FUZZ_BUILD)/fuzz_$(t) -max_total_time=$(FUZZ_SECONDS) -timeout=10 \
	      -rss_limit_mb=2048 -print_final_stats=1 -dict=$(call fuzz_dict,$(t)) \
	      -artifact_prefix=$(FUZZ_BUILD)/artifacts/$(t)- \
	      $(FUZZ_BUILD)/corpus/$(t) test/fuzz/corpus/$(t) \
	      > $(FUZZ_BUILD)/fuzz_$(t).log 2>&1; then \
	    tail -n 60 $(FUZZ_BUILD)/fuzz_$(t).log; echo "fuzz_$(t) FAILED"; exit 1; \
	  fi; \
	  grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units|^stat::peak_rss_mb' \
	    $(FUZZ_BUILD)/fuzz_$(t).log; \
	)

# --- Soak -------------------------------------------------------------------
# Not part of `make test`: SOAK_CLIENTS Phoenix clients (default 10 000)
# against a node on a free loopback port for SOAK_SECONDS (default 300),
# with crash storms, clean leaves and dropped transports; every client's
# state is checked after every storm. Ends with one JSON line (lost, stale,
# leaked, peak_rss_mb, rss_growth_pct, ...); exits non-zero on any lost,
# stale or leaked state, any error, a node that died, or RSS growth over
# SOAK_MAX_RSS_GROWTH_PCT. test/bench/soak.sh starts and stops the node.
# Each process holds one descriptor per client: raise the limit first.
SOAK_SECONDS ?= 300
SOAK_CLIENTS ?= 10000
SOAK_MAX_RSS_GROWTH_PCT ?= 10
SOAK_ARGS ?=

soak: build
	ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn); \
	SOAK_SECONDS=$(SOAK_SECONDS) SOAK_CLIENTS=$(SOAK_CLIENTS) \
	  test/bench/soak.sh $(BUILD)/bin/chanstate-node $(BUILD)/bin/chanstate-bench \
	  --max-rss-growth-pct=$(SOAK_MAX_RSS_GROWTH_PCT) $(SOAK_ARGS)

# The same soak against a node with a journal that is SIGKILLed and
# restarted on its port every 20-40 s (seeded by SOAK_SEED), with crash
# storms in which clients crash back-to-back, one add between crashes. Its
# JSON adds node_kills; lost/stale/leaked/mismatched count acknowledged
# values only. SOAK_SECONDS defaults to 180 here.
SOAK_SEED ?= 1

soak-chaos: build
	ulimit -n 65536 2>/dev/null || ulimit -n $$(ulimit -Hn); \
	SOAK_CHAOS=1 SOAK_SEED=$(SOAK_SEED) \
	  SOAK_SECONDS=$(if $(filter file,$(origin SOAK_SECONDS)),180,$(SOAK_SECONDS)) \
	  SOAK_CLIENTS=$(SOAK_CLIENTS) \
	  test/bench/soak.sh $(BUILD)/bin/chanstate-node $(BUILD)/bin/chanstate-bench \
	  --seed=$(SOAK_SEED) $(SOAK_ARGS)
