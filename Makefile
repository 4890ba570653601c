# tradeops developer entry points. Every target creates .venv on first use; `make help` lists them.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The PostgreSQL URL the suite uses: yours if set, else the one scripts/dev/ensure-tools.sh found.
PG_URL_FILE := build/dev/test-postgres-url
PG_URL_DEFAULT := postgresql+psycopg://postgres@127.0.0.1:5432/test

.DEFAULT_GOAL := help
.PHONY: help setup native pure tools services demo test lint typecheck unit promtool bench clean

help: ## List the targets.
	@awk 'BEGIN {FS = ":[^#]*## "} /^[a-z][a-z-]*:.*## / {printf "  make %-10s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP) native ## Create .venv with tradeops (editable) and the dev tools, and compile the hot path.

native: $(STAMP) ## Compile the hot path with mypyc (a no-op when up to date; see src/tradeops/_native.py).
	@$(BIN)/python scripts/dev/build_native.py

pure: $(STAMP) ## Remove the compiled hot path: tradeops runs pure Python.
	@$(BIN)/python scripts/dev/build_native.py --clean

tools: ## Install what the tests need and is missing (promtool, Alertmanager, PostgreSQL, actionlint); quiet when all is there.
	@scripts/dev/ensure-tools.sh

services: tools ## Same as `make tools`.

demo: $(STAMP) ## The main job: four strategies on one paper account over the embedded synthetic market.
	@$(BIN)/python scripts/dev/build_native.py --best-effort
	$(BIN)/tradeops demo
	$(BIN)/tradeops report run reports/demo

lint: $(STAMP) ## ruff check, ruff format --check, import-linter layers.
	$(BIN)/ruff check src tests scripts setup.py
	$(BIN)/ruff format --check src tests scripts setup.py
	$(BIN)/lint-imports

typecheck: $(STAMP) ## mypy.
	$(BIN)/mypy

promtool: $(STAMP) tools ## Validate alert rules, rule tests, Alertmanager config, dashboard and CI workflow.
	$(BIN)/tradeops alerts validate

unit: native tools ## The whole pytest suite on 2 workers.
	@url=$$(cat $(PG_URL_FILE) 2>/dev/null || true); \
	export TRADEOPS_TEST_POSTGRES_URL="$${TRADEOPS_TEST_POSTGRES_URL:-$${url:-$(PG_URL_DEFAULT)}}"; \
	set -x; $(BIN)/python -m pytest -n 2 -p no:cacheprovider

test: tools lint typecheck promtool unit ## What CI runs: install missing tools, lint, types, alert checks, the whole suite.

bench: native ## The paper-engine benchmark as JSON.
	$(BIN)/tradeops bench paper --json

clean: ## Remove .venv and build/cache directories.
	@test ! -x $(BIN)/python || $(BIN)/python scripts/dev/build_native.py --clean
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
