# The two commands: `make run` and `make test`. Each installs what is missing
# (Debian packages, npm packages), configures, builds, then runs.
SHELL := /bin/bash
BUILD ?= build
JOBS ?= $(shell nproc)
# CI sets CI=true: warnings become errors there.
WERROR := $(if $(filter true 1 yes,$(CI)),ON,OFF)
CMAKE_FLAGS ?=

APT_PACKAGES := cmake g++ make libcaf-dev libboost1.81-dev \
                libboost-json1.81-dev doctest-dev liblmdb-dev

.PHONY: run test build configure deps apt-deps npm-deps clean

# The node on 127.0.0.1:4000; pass options with ARGS="--port=4001 ...".
# `chanstate-node demo` still runs the seed scenario in-process.
run: build
	$(BUILD)/bin/chanstate-node $(ARGS)

test: build npm-deps
	ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)

build: configure
	cmake --build $(BUILD) -j $(JOBS)

configure: apt-deps
	cmake -S . -B $(BUILD) -DCHANSTATE_WARNINGS_AS_ERRORS=$(WERROR) $(CMAKE_FLAGS)

deps: apt-deps npm-deps

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

npm-deps:
	@if [ -f test/e2e/package.json ]; then \
	  if [ ! -d test/e2e/node_modules ] || [ test/e2e/package-lock.json -nt test/e2e/node_modules ]; then \
	    (cd test/e2e && npm ci --no-audit --no-fund) && touch test/e2e/node_modules; \
	  fi; \
	fi

clean:
	rm -rf $(BUILD)
