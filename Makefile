# chatd: `make run` starts the daemon on its defaults, `make test` runs every test.
# Both set up .venv first (python3 and the package registries are all they need).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# What is installed, each refreshed whenever pyproject.toml changes: the
# daemon's dependencies (for run), and those plus the test extras (pytest,
# Playwright...) for the tests.  Installing the test extras also
# satisfies the daemon, so `make test` then `make run` installs nothing more,
# and `make run` then `make test` installs only the extras.
DAEMON_STAMP := $(VENV)/.installed-daemon
TEST_STAMP   := $(VENV)/.installed-test

.PHONY: run test unit e2e bench bench-compare venv install install-daemon clean check-config

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(DAEMON_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet .
	touch $@

$(TEST_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet '.[test]'
	touch $@ $(DAEMON_STAMP)

# chatd itself is installed as a wheel (not editable), exactly as operators
# get it, so the tests exercise the installed plugin and web client.
define install-chatd
	$(BIN)/pip install --quiet --no-deps --force-reinstall .
	$(BIN)/python -c "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"
endef

# For the tests: chatd, its dependencies and the test extras.
install: $(TEST_STAMP)
	$(install-chatd)

# For running chatd: only what the daemon needs.
install-daemon: $(DAEMON_STAMP)
	$(install-chatd)

venv: install

# Ctrl-C stops chatd (it shuts down cleanly); the trap keeps make from
# adding its own "*** [run] Interrupt" line after it.
run: install-daemon
	@trap 'exit 0' INT; $(BIN)/twistd --nodaemon --pidfile= chatd --config tap.cfg

check-config: install-daemon
	$(BIN)/twistd --nodaemon --pidfile= chatd --config tap.cfg --check-config

# The npm packages of the end-to-end tests' Node clients (tests/e2e/node:
# irc-framework for IRC, autobahn and ws for WAMP), installed from its lock
# file whenever that changes.
# Without npm the tests that need it skip (CI, which has npm, fails them).
NODE_E2E := tests/e2e/node
NODE_E2E_STAMP := $(NODE_E2E)/node_modules/.package-lock.json

$(NODE_E2E_STAMP): $(wildcard $(NODE_E2E)/package-lock.json)
	@if command -v npm >/dev/null 2>&1; then \
	  cd $(NODE_E2E) && npm ci --no-audit --no-fund --silent; \
	else \
	  echo "make: npm is not installed: the irc-framework and autobahn-js tests will skip (apt-get install npm)"; \
	fi

test: install $(NODE_E2E_STAMP)
	$(BIN)/python -m pytest tests

unit: install
	$(BIN)/python -m pytest tests --ignore=tests/e2e

e2e: install $(NODE_E2E_STAMP)
	$(BIN)/python -m pytest tests/e2e

bench: install
	$(BIN)/python bench/run.py

# Before/after in one run: chatd at git revision BASE (default: the last
# commit) against this tree as installed, interleaved; BENCH_ARGS adds
# options (--quick, --repeat 5, a scenario...).
BASE ?= HEAD
bench-compare: install
	$(BIN)/python bench/run.py --compare $(BASE) $(BENCH_ARGS)

clean:
	rm -rf $(VENV) build dist *.egg-info
