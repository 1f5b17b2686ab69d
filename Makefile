# Open311 GeoReport v2 server. `make help` lists the targets.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV        ?= .venv
PYTHON      ?= python3
PY          := $(VENV)/bin/python
OPEN311     := $(VENV)/bin/open311
BIND        ?= 127.0.0.1:8000
WORKERS     ?= 2
# The demo region: Los Angeles County and two of its cities (load the county first).
DEMO        ?= jurisdictions/lacounty.gov jurisdictions/lacity.org jurisdictions/smgov.net
# What reads without jurisdiction_id are about on the demo (a base-URL-only client's view).
DEFAULT_JURISDICTION ?= lacity.org
SUDO        := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: help deps venv db run test lint openapi bench clean stop

help: ## List the targets
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	  awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-10s %s\n", $$1, $$2}'

deps: ## Install PostgreSQL + PostGIS and python3-venv from apt when missing
	@if ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1 || \
	    ! $(PYTHON) -c 'import venv, ensurepip' >/dev/null 2>&1; then \
	  echo "installing PostgreSQL + PostGIS (apt)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-common postgresql python3-venv >/dev/null && \
	  PGV=$$(ls /usr/lib/postgresql | sort -n | tail -1) && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq postgresql-$$PGV-postgis-3 >/dev/null; \
	fi

$(VENV)/.installed: pyproject.toml
	@[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	@touch $@

venv: $(VENV)/.installed ## Make the virtualenv with the project installed

db: deps venv ## Start the private PostGIS cluster (unless OPEN311_DATABASE_URL is set)
	@if [ -z "$$OPEN311_DATABASE_URL" ]; then $(PY) -m open311.pgcluster start; fi
	@# The private cluster's database is the demo's (make run reloads it): one whose schema
	@# differs from the models' is made again. The flag does nothing to a
	@# configured database (OPEN311_DATABASE_URL or the config file): that one is refused.
	$(OPEN311) db upgrade --reset-if-drifted

run: db ## Install what is missing, load the demo region, make a demo key, serve on $(BIND)
	@for bundle in $(DEMO); do $(OPEN311) jurisdictions load $$bundle | grep -v '^note:' || exit 1; done
	@KEY=$$($(OPEN311) keys create --name demo --replace --quiet) && \
	  echo && echo "Demo API key (a new one each run): $$KEY" && \
	  echo "Try:" && \
	  echo "  curl -s 'http://$(BIND)/open311/v2/services.json?lat=34.0537&long=-118.2428'" && \
	  echo "  curl -s -X POST http://$(BIND)/open311/v2/requests.json -d api_key=$$KEY -d service_code=GRAFFITI -d lat=34.0537 -d long=-118.2428 -d 'attribute[SURFACE]=BUILDING' -d 'description=Tag on the wall of City Hall'" && echo
	OPEN311_DEFAULT_JURISDICTION=$${OPEN311_DEFAULT_JURISDICTION-$(DEFAULT_JURISDICTION)} \
	  $(OPEN311) serve --bind $(BIND) --workers $(WORKERS)

test: deps venv lint ## Lint, then the whole test suite (starts its own PostGIS cluster)
	$(PY) -m pytest -q $(PYTEST_ARGS)

bench: deps venv ## Benchmarks under gunicorn vs raw SQL (5M rows; BENCH_ARGS="--rows 200000 --duration 10")
	@if ! command -v wrk >/dev/null 2>&1; then \
	  echo "installing wrk (apt)"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq wrk >/dev/null; \
	fi
	@if [ -z "$$OPEN311_BENCH_DATABASE_URL" ]; then $(PY) -m open311.pgcluster start; fi
	$(PY) bench/run.py $(BENCH_ARGS)

LINTED = open311 schemas geo tests bench wsgi.py

lint: venv ## Format, lint, types (mypy, pyproject [tool.mypy]) and layers (import-linter)
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

openapi: db ## Rewrite openapi.yaml from the code
	$(OPEN311) openapi write --format yaml openapi.yaml

stop: ## Stop the private PostGIS clusters (the demo's and the test suite's)
	@[ ! -x $(PY) ] || { $(PY) -m open311.pgcluster stop; \
	  $(PY) -m open311.pgcluster stop --data-dir var/pgtest; }

clean: stop ## Remove the virtualenv and the private cluster's data
	rm -rf $(VENV) var
