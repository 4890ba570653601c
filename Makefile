# tradeops developer entry points. Every target creates .venv on first use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint typecheck unit promtool bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

setup: $(STAMP)

## The main job: four strategies on one paper account over the embedded synthetic market.
demo: $(STAMP)
	$(BIN)/tradeops demo

lint: $(STAMP)
	$(BIN)/ruff check src tests scripts
	$(BIN)/ruff format --check src tests scripts
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

promtool: $(STAMP)
	$(BIN)/tradeops alerts validate

unit: $(STAMP)
	$(BIN)/python -m pytest -n 2 -p no:cacheprovider

## What CI runs: lint, types, import layers, alert rules, the whole suite.
test: lint typecheck promtool unit

bench: $(STAMP)
	$(BIN)/tradeops bench paper --json

clean:
	rm -rf $(VENV) build *.egg-info .mypy_cache .ruff_cache .pytest_cache
