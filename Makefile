# The README's two commands: `make demo` (whole pipeline on local emulators) and `make test`.
# Everything they need is installed on first use and reused afterwards (stamps under .venv/ and .meltano/).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.8
PACKAGES := $(patsubst %/pyproject.toml,%,$(wildcard taps/*/pyproject.toml targets/*/pyproject.toml))
PLUGIN_FILES := meltano.yml $(wildcard taps/*/*.meltano.yml) $(wildcard taps/*/pyproject.toml targets/*/pyproject.toml)
export UV_LINK_MODE := copy

.PHONY: demo test setup system-deps plugins lint lock bench clean

demo: setup plugins
	$(BIN)/python scripts/demo.py

test: setup plugins
	$(BIN)/python -m pytest

setup: system-deps $(VENV)/.installed

system-deps:
	@bash scripts/ensure-system-deps.sh

$(VENV)/.installed: pyproject.toml requirements/dev.lock $(wildcard taps/*/pyproject.toml targets/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/dev.lock -e '.[dev]' $(addprefix -e ,$(PACKAGES))
	touch $@

plugins: .meltano/.installed

.meltano/.installed: $(VENV)/.installed $(PLUGIN_FILES)
	$(BIN)/meltano install
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy emulators $(addsuffix /*/,$(PACKAGES))

# Re-pin every Python dependency of the dev venv (run after changing a pyproject.toml).
lock:
	$(BIN)/uv pip compile -q --python-version 3.11 pyproject.toml --extra dev $(addsuffix /pyproject.toml,$(PACKAGES)) -o requirements/dev.lock

bench: setup plugins
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) .meltano output/*.duckdb
