# Two commands do all the set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

VENDOR_STAMP := static/vendor/.stamp
PY_STAMP := $(VENV)/.installed
SYS_STAMP := var/.system-packages
# The suite runs on both cores (pytest-xdist): each worker has its own test database and var/ directory.
TEST_WORKERS ?= 2

.PHONY: install run test lint bench-ingestion bench-etl bench-analytics clean

install: $(PY_STAMP) $(VENDOR_STAMP) $(SYS_STAMP)

$(PY_STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# Front-end libraries come from npm at the versions pinned in package.json and are copied into static/vendor/.
$(VENDOR_STAMP): package.json scripts/vendor.sh scripts/clickstream-web.js
	bash scripts/vendor.sh
	touch $@

# Debian packages the tests and benchmarks use: Chromium for browser tests, Java for Spark, nginx and wrk for
# the collector benchmark. Installed only when missing.
$(SYS_STAMP): scripts/system-packages.sh
	bash scripts/system-packages.sh
	mkdir -p var && touch $@

run: install
	bash scripts/run.sh

test: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy .
	$(PY) manage.py makemigrations --check --dry-run --settings=portal.settings.test
	$(PY) -m pytest -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

lint:
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench-ingestion: install
	$(PY) bench/ingestion.py

bench-etl: install
	$(PY) bench/etl.py --events $${EVENTS:-1000000}

bench-analytics: install
	$(PY) bench/analytics.py --events $${EVENTS:-1000000}

clean:
	rm -rf $(VENV) static/vendor node_modules var/staticfiles
