# The README's two commands: `make demo` (whole pipeline on local emulators) and `make test`.
# Everything they need is installed on first use and reused afterwards (stamps under .venv/ and .meltano/).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
AIRFLOW_VENV := .venv-airflow
FAKESNOW_VENV := .venv-fakesnow
UV_VERSION := 0.13.8
PACKAGES := $(patsubst %/pyproject.toml,%,$(wildcard libs/*/pyproject.toml taps/*/pyproject.toml targets/*/pyproject.toml mappers/*/pyproject.toml))
PLUGIN_FILES := meltano.yml $(wildcard taps/*/*.meltano.yml) $(wildcard libs/*/pyproject.toml taps/*/pyproject.toml targets/*/pyproject.toml mappers/*/pyproject.toml)
export UV_LINK_MODE := copy

.PHONY: demo test setup system-deps plugins lint lock bench clean airflow airflow-setup schedules fakesnow-setup release-check emulators-up emulators-down sdk-canary

# umask 077: Meltano writes each plugin's config (credentials, the hash key) under .meltano/run/ with the
# caller's umask and leaves it there when a run is killed; keep those files private to this user.
demo: setup plugins
	umask 077 && $(BIN)/python scripts/demo.py

# Each package's tests run in their own session from their own folder, as they would standalone;
# the root session runs the cross-tap tests under tests/. The release check (mostly building and installing
# wheels, its own free ports) runs beside them to keep CI short; its log is printed at the end.
test: setup plugins airflow-setup fakesnow-setup lint
	@mkdir -p output; $(BIN)/python scripts/release_check.py > output/release-check.log 2>&1 & release=$$!; \
	trap 'kill $$release 2>/dev/null || true' EXIT; set -e; \
	for pkg in $(PACKAGES); do echo "==> pytest $$pkg"; (cd $$pkg && $(CURDIR)/$(BIN)/python -m pytest); done; \
	echo "==> pytest tests (end to end)"; $(BIN)/python -m pytest --durations=15; \
	echo "==> release check (ran beside the tests; full log: output/release-check.log)"; \
	if wait $$release; then tail -n 8 output/release-check.log; else cat output/release-check.log; exit 1; fi

# What a release publishes, built and installed the way a stranger would: each wheel alone in a fresh venv on
# the lowest and highest supported Python, and all four beside singer-io's tap-zendesk (RELEASING.md).
release-check: setup
	$(BIN)/python scripts/release_check.py

# The dev emulators in the background, on the ports meltano.yml's dev environment uses, for operator commands
# (`meltano invoke tap-xactly --discover`, `meltano run zengrc-to-warehouse`); emulators-down stops them.
emulators-up: setup
	$(BIN)/python scripts/dev_emulators.py up

emulators-down:
	$(BIN)/python scripts/dev_emulators.py down

setup: system-deps $(VENV)/.installed

system-deps:
	@bash scripts/ensure-system-deps.sh

$(VENV)/.installed: pyproject.toml requirements/dev.lock $(wildcard libs/*/pyproject.toml taps/*/pyproject.toml targets/*/pyproject.toml mappers/*/pyproject.toml)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(BIN)/uv pip install -q --python $(BIN)/python -r requirements/dev.lock -e '.[dev]' $(addprefix -e ,$(PACKAGES))
	touch $@

# Airflow runs the schedules (orchestrate/README.md) from its own venv, pinned by its lock file.
airflow-setup: $(AIRFLOW_VENV)/.installed

$(AIRFLOW_VENV)/.installed: orchestrate/airflow/requirements.lock | $(VENV)/.installed
	test -x $(AIRFLOW_VENV)/bin/python || $(PYTHON) -m venv $(AIRFLOW_VENV)
	$(BIN)/uv pip install -q --python $(AIRFLOW_VENV)/bin/python -r $<
	touch $@

# target-snowflake's SQL is exercised on fakesnow (docs/snowflake.md) from a venv of its own:
# the loader pins singer-sdk 0.55.0b3, which clashes with the dev venv. fakesnow[server] there is also the
# Snowflake stand-in the real prod jobs reach through a TLS proxy (tests/snowflake_sql/standin.py).
fakesnow-setup: $(FAKESNOW_VENV)/.installed

$(FAKESNOW_VENV)/.installed: tests/snowflake_sql/requirements.txt | $(VENV)/.installed
	test -x $(FAKESNOW_VENV)/bin/python || $(BIN)/uv venv -q --python $(PYTHON) $(FAKESNOW_VENV)
	$(BIN)/uv pip install -q --python $(FAKESNOW_VENV)/bin/python -r $<
	touch $@

# Local scheduler + UI (http://localhost:8080, login printed at start), state under .airflow/.
airflow: setup plugins airflow-setup
	orchestrate/airflow/airflow.sh standalone

# Re-snapshot the schedules the DAGs are built from; run after changing a job or schedule.
schedules: setup
	$(BIN)/meltano schedule list --format=json > orchestrate/meltano-schedules.json

plugins: .meltano/.installed

.meltano/.installed: $(VENV)/.installed $(PLUGIN_FILES)
	$(BIN)/meltano install
	touch $@

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy emulators utilities bench
	@set -e; for pkg in $(PACKAGES); do $(BIN)/mypy $$(ls -d $$pkg/*/ | grep -v -e /tests/ -e /hub/ -e egg-info); done

# Re-pin every Python dependency of the dev venv (run after changing a pyproject.toml). The kit is one of
# our own packages, installed editable by `make setup`: a path in the lock would break the plugins, which use
# it as a pip constraints file.
lock:
	$(BIN)/uv pip compile -q --python-version 3.11 pyproject.toml --extra dev $(addsuffix /pyproject.toml,$(PACKAGES)) --no-emit-package landing-tap-kit -o requirements/dev.lock
	$(BIN)/uv pip compile -q --python-version 3.11 orchestrate/airflow/requirements.in -o orchestrate/airflow/requirements.lock

# Every package's tests against the newest singer-sdk release from PyPI, in a fresh venv outside the dev lock:
# an SDK upgrade that breaks one of our seams (libs/landing-tap-kit/README.md, "SDK internals we rely on") shows
# here before users see it. The taps' own singer-sdk pin is overridden, nothing else; each package brings its
# declared test dependencies (its `test` extra). Not part of `make test`.
CANARY_VENV := .venv-sdk-canary
CANARY_PACKAGES := $(patsubst %/pyproject.toml,%,$(wildcard libs/*/pyproject.toml taps/*/pyproject.toml))
sdk-canary: setup
	rm -rf $(CANARY_VENV)
	$(BIN)/uv venv -q --python $(PYTHON) $(CANARY_VENV)
	echo "singer-sdk[msgspec]" > $(CANARY_VENV)/overrides.txt
	$(BIN)/uv pip install -q --python $(CANARY_VENV)/bin/python --refresh-package singer-sdk \
		--override $(CANARY_VENV)/overrides.txt -e . $(foreach pkg,$(CANARY_PACKAGES),-e '$(pkg)[test]') pytest pytest-timeout
	@$(CANARY_VENV)/bin/python -c "import importlib.metadata as m; print('==> sdk-canary: singer-sdk', m.version('singer-sdk'))"
	@failed=""; for pkg in $(CANARY_PACKAGES); do echo "==> sdk-canary: pytest $$pkg"; \
		(cd $$pkg && $(CURDIR)/$(CANARY_VENV)/bin/python -m pytest -q -p no:cacheprovider) || failed="$$failed $$pkg"; done; \
		if [ -n "$$failed" ]; then echo "==> sdk-canary: FAILED:$$failed"; exit 1; fi; echo "==> sdk-canary: every package green"

bench: setup plugins
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) $(AIRFLOW_VENV) $(FAKESNOW_VENV) .airflow .meltano output/*.duckdb
