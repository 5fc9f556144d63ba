# chatd: `make run` starts the daemon on its defaults, `make test` runs every test.
# Both set up .venv first (python3 and the package registries are all they need).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test unit e2e bench venv install clean check-config

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Dependencies, refreshed whenever pyproject.toml changes.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet '.[test]'
	touch $(STAMP)

# chatd itself is installed as a wheel (not editable), exactly as operators
# get it, so the tests exercise the installed plugin and web client.
install: $(STAMP)
	$(BIN)/pip install --quiet --no-deps --force-reinstall .
	$(BIN)/python -c "from twisted.plugin import IPlugin, getPlugins; list(getPlugins(IPlugin))"

venv: install

run: install
	$(BIN)/twistd --nodaemon --pidfile= chatd --config tap.cfg

check-config: install
	$(BIN)/twistd --nodaemon --pidfile= chatd --config tap.cfg --check-config

test: install
	$(BIN)/python -m pytest tests

unit: install
	$(BIN)/python -m pytest tests --ignore=tests/e2e

e2e: install
	$(BIN)/python -m pytest tests/e2e

bench: install
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) build dist *.egg-info
