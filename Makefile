# gisgw: the two commands are `make run` and `make test`; the rest are helpers.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint openapi bench install install-dev clean

$(BIN)/python:
	scripts/venv.sh

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

## make run: migrate the SQLite database, start the embedded GIS stand seeded with demo data, and the gateway
run: install
	@scripts/system-deps.sh run
	$(BIN)/gisgw db upgrade
	$(BIN)/gisgw demo

## make test: lint, types, then the whole suite on SQLite and on a throwaway PostgreSQL
test: install-dev
	@scripts/system-deps.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	@echo "================ pytest on SQLite ================"
	GISGW_TEST_DB=sqlite $(BIN)/pytest $(PYTEST_ARGS)
	@echo "================ pytest on PostgreSQL ================"
	GISGW_TEST_DB=postgresql scripts/with-postgres.sh $(BIN)/pytest $(PYTEST_ARGS)

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

openapi: install
	$(BIN)/gisgw openapi

bench: install-dev
	@scripts/system-deps.sh
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache
