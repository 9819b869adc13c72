# Everything runs from a virtual environment this Makefile creates from pinned requirements.
# Needs only python3 (3.11-3.13) on the PATH; no AWS account, no Docker.

PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=
MODE   ?= relaunch
PORT   ?= 5055

.PHONY: help demo sandbox sandbox-env test test-fast lint validate-template scan sam-build lock clean

help:
	@echo "make demo [MODE=stop]   run the guard end to end on the embedded AWS (moto); MODE relaunch|stop|notify"
	@echo "make sandbox [PORT=5055] the embedded AWS with example jobs on 127.0.0.1, for ict-guard; Ctrl-C stops it"
	@echo "make -s sandbox-env     shell lines (eval them) that send ict-guard to the sandbox"
	@echo "make test               run the test suite (unit, integration, template, sandbox, reliability, bench)"
	@echo "make sdk-venv           the SageMaker Python SDK in its own venv (.venv-sdk), for the defaults schema test"
	@echo "make lint               ruff over the repository and mypy over ict_guard, ict_guard_cli, functions"
	@echo "make load               1,000 jobs with injected faults through the guard; prints figures"
	@echo "make validate-template  sam validate --lint (SAM CLI in its own venv, .venv-sam)"
	@echo "make scan               checkov and cfn-lint-serverless on every template (own venv, .venv-scan)"
	@echo "make sam-build          sam build with Python 3.13 and import every built handler (needs .venv-3.13)"
	@echo "make lock               re-resolve requirements/dev.txt from requirements/dev.in"

# The SAM CLI's own venv (its pins clash with .venv): `make test` needs it too, for the template
# tests that run cfn-lint and the SAM translator; scripts/validate-template creates the same venv
# with the same stamp (a copy of requirements/sam.txt), so either one serves the other.
SAM_VENV  := .venv-sam
SAM_STAMP := $(SAM_VENV)/.requirements-sam.txt

$(SAM_STAMP): requirements/sam.txt
	rm -rf $(SAM_VENV)
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/python -m pip install -qq --disable-pip-version-check -r requirements/sam.txt
	cp requirements/sam.txt $(SAM_STAMP)

# The SageMaker Python SDK's own venv (its attrs<26 clashes with .venv): the test that validates
# `ict-guard defaults` with the SDK's schema and config loader runs scripts/validate_sdk_config.py
# there (tests/unit/test_cli_defaults.py; it fails instead of skipping when CI=true).
SDK_VENV  := .venv-sdk
SDK_STAMP := $(SDK_VENV)/.requirements-sdk.txt

$(SDK_STAMP): requirements/sdk.txt
	rm -rf $(SDK_VENV)
	$(PYTHON) -m venv $(SDK_VENV)
	$(SDK_VENV)/bin/python -m pip install -qq --disable-pip-version-check -r requirements/sdk.txt
	cp requirements/sdk.txt $(SDK_STAMP)

.PHONY: sdk-venv
sdk-venv: $(SDK_STAMP)

$(STAMP): requirements/dev.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed (found %s)" % sys.version.split()[0])'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) -m sandbox.demo --mode $(MODE)

# The embedded AWS on its own (sandbox/server.py), seeded with example jobs, until Ctrl-C.
sandbox: $(STAMP)
	$(PY) -m sandbox.server --port $(PORT)

sandbox-env: $(STAMP)
	@$(PY) -m sandbox.server --print-env --port $(PORT)

# The load run (tests/reliability/test_load.py, marker `load`, excluded from `make test`):
# LOAD_JOBS (1000), LOAD_FAULT_RATE (0.2 per HTTP attempt) and LOAD_SEED change it.
.PHONY: load
load: $(STAMP)
	$(PY) -m pytest -m load tests/reliability/test_load.py $(PYTEST_ARGS)

test: $(STAMP) $(SAM_STAMP) $(SDK_STAMP)
	$(PY) -m pytest -n auto $(PYTEST_ARGS)

# Static checks, configured in pyproject.toml: ruff over the whole repository, mypy over the
# packages it names ([tool.mypy]).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(PY) -m mypy

# Benchmarks on the embedded AWS (bench/): `bench` runs every figure and writes bench/RESULTS.md;
# `bench-ci` is the reduced run (few repeats, small history), printed only.
.PHONY: bench bench-ci
bench: $(STAMP)
	$(PY) -m bench

bench-ci: $(STAMP)
	$(PY) -m bench --reduced

validate-template:
	scripts/validate-template

# Security scanners in their own venv (.venv-scan, requirements/scan.txt; scripts/scan).
scan:
	scripts/scan

# The Lambda runtime's Python: `make test PYTHON=<python3.13> VENV=.venv-3.13` first.
sam-build:
	scripts/sam-build

lock: $(STAMP)
	$(PY) -m pip install --quiet -r requirements/dev.in
	$(PY) -m pip freeze --exclude-editable > requirements/dev.txt

clean:
	rm -rf $(VENV) .venv-sam .venv-scan .venv-sdk .venv-3.13 .aws-sam
