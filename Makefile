# Omni: `make run` serves the back office, `make test` runs the whole suite.
# Both create the virtualenv and install what they need on first use.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.DEFAULT_GOAL := help

.PHONY: help install run test lint format bench stop clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP) ## serve the admin, API, Celery worker and beat with demo data (Ctrl-C stops)
	$(BIN)/python manage.py run_backoffice

test: $(STAMP) ## run the whole test suite against PostgreSQL (embedded unless DATABASE_URL)
	$(BIN)/python -m pytest

lint: $(STAMP) ## ruff, formatting and migrations
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python manage.py makemigrations --check --dry-run

format: $(STAMP) ## format the code
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP) ## run every benchmark under bench/ and print one results table (BENCH_ARGS=--quick)
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

stop: $(STAMP) ## stop the embedded PostgreSQL and Redis
	$(BIN)/python -c "from omni import embedded; embedded.stop_all()"

clean: ## remove the virtualenv (keeps .omni/ data)
	rm -rf $(VENV)
