# The front door. `make run` serves, `make test` tests; both build .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip --disable-pip-version-check -q

.PHONY: install install-test run test test-slow lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip setuptools wheel

# Reinstall only when a project file changes.
$(VENV)/.installed: $(BIN)/python server/pyproject.toml client/pyproject.toml
	$(PIP) install -e ./server -e './client[cli,mcp]'
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed server/pyproject.toml client/pyproject.toml
	$(PIP) install -e './server[test]' -e './client[cli,mcp,test]'
	touch $@

install: $(VENV)/.installed

install-test: $(VENV)/.installed-test

run: install
	$(BIN)/trainerday-server db upgrade
	$(BIN)/trainerday-server demo
	$(BIN)/trainerday-server serve --host 127.0.0.1 --port 8000

# The two distributions are tested separately: each tests/ is its own root with its own conftest.
test: install-test
	$(BIN)/pytest server/tests -m "not slow" -n auto
	$(BIN)/pytest client/tests -m "not slow" -n auto

test-slow: install-test
	$(BIN)/pytest server/tests -m slow
	$(BIN)/pytest client/tests -m slow

lint: install-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --config-file server/pyproject.toml server/src
	$(BIN)/mypy --config-file client/pyproject.toml client/src

bench: install-test
	$(BIN)/python bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
