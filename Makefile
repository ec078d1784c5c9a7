# bannertui — every command a newcomer needs.  Only python3, make and git are assumed.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
UV    := $(VENV)/bin/uv
UV_VERSION := 0.13.8
STAMP := $(VENV)/.installed-stamp
export UV_PROJECT_ENVIRONMENT := $(VENV)
export UV_NO_PROGRESS := 1

.PHONY: install demo test check test-loaded lint typecheck unit bench load load-short clean pg-up pg-down help

help:
	@echo "make demo   set up and run the app on its embedded demo database"
	@echo "make test   set up and run every check (lint, types, import rules, tests)"
	@echo "make check  the quick edit loop: lint, types, import rules, unit tests"
	@echo "make test-loaded  the UI and provider tests with every core kept busy, 3 runs in a row"
	@echo "make bench  run the benchmarks and print their figures"
	@echo "make load   the load and fault harness on PostgreSQL and SQLite (about 15 minutes)"

## install: the virtual environment at .venv, from the committed lock file, with every extra
## (receiver, demo, serve: make demo and make test need them; quick when nothing changed)
install: $(STAMP)

$(STAMP): pyproject.toml uv.lock Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	@$(PY) -m pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"
	$(UV) sync --frozen --quiet --all-extras
	@touch $@

## demo: seed (first time) and run the app on the embedded demo database
demo: install
	$(VENV)/bin/bannertui demo

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

typecheck: install
	$(VENV)/bin/mypy

## check: the edit loop's quick pass (lint, types, import rules and the pure unit tests)
check: install lint typecheck
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/pytest -q tests/unit

unit: install
	$(VENV)/bin/pytest

## test: every check, on TEST_WORKERS pytest-xdist workers (twice the cores: the UI tests spend
## half their time waiting for the screen, which another worker fills).  PostgreSQL-backed
## tests run against a local server that scripts/pg.sh installs (Debian package) and starts
## on loopback; BANNERTUI_TEST_PG=0 skips them.
## The browser test of `bannertui serve` needs Chromium, which scripts/chromium.sh installs.
TEST_WORKERS ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) )))
test: install lint typecheck
	@set -e; \
	if [ "$${BANNERTUI_TEST_PG:-1}" != "0" ]; then \
	  eval "$$(bash scripts/pg.sh up)"; \
	  if [ "$$BANNERTUI_PG_STARTED" = "1" ]; then trap 'bash scripts/pg.sh down >/dev/null 2>&1 || true' EXIT; fi; \
	else echo "BANNERTUI_TEST_PG=0: PostgreSQL tests are SKIPPED in this run"; fi; \
	bash scripts/chromium.sh; \
	HYPOTHESIS_PROFILE=ci $(VENV)/bin/pytest -n $(TEST_WORKERS) --dist loadgroup --durations=25

## test-loaded: the UI and provider tests while every core is kept busy (scripts/cpu_hog.py,
## bounded in time), LOADED_RUNS times in a row (default 3), each run's wall time printed.
## A test that waits a fixed pause and then asserts fails here first.
LOADED_RUNS ?= 3
test-loaded: install
	@set -e; \
	if [ "$${BANNERTUI_TEST_PG:-1}" != "0" ]; then \
	  eval "$$(bash scripts/pg.sh up)"; \
	  if [ "$$BANNERTUI_PG_STARTED" = "1" ]; then trap 'bash scripts/pg.sh down >/dev/null 2>&1 || true' EXIT; fi; \
	fi; \
	export HYPOTHESIS_PROFILE=ci; \
	for run in $$(seq 1 $(LOADED_RUNS)); do \
	  $(PY) scripts/cpu_hog.py --seconds 1800 & hog=$$!; \
	  start=$$(date +%s); \
	  status=0; $(VENV)/bin/pytest -q tests/ui tests/provider || status=$$?; \
	  kill $$hog 2>/dev/null || true; wait $$hog 2>/dev/null || true; \
	  echo "test-loaded: run $$run of $(LOADED_RUNS): exit $$status in $$(( $$(date +%s) - start )) s"; \
	  if [ $$status -ne 0 ]; then exit $$status; fi; \
	done

## bench: every bench/bench_*.py.  bench_terminal.py drives the real console in a pseudo-terminal
## (issue #23: a 500-character burst; close, archive and switch, 100 tries each), about 15
## minutes; BENCH_TERMINAL_ARGS="--runs 2 --tries 20" makes it shorter.
BENCH_TERMINAL_ARGS ?=
bench: install
	@for f in bench/bench_*.py; do echo "== $$f"; \
	  if [ "$$f" = bench/bench_terminal.py ]; then $(PY) $$f $(BENCH_TERMINAL_ARGS) || exit 1; \
	  else $(PY) $$f || exit 1; fi; \
	done

## load: the load and fault harness (bench/load/run.py) with a PostgreSQL server that
## scripts/pg.sh installs and starts — first one Banner reload's cost (bench/load/reads.py),
## then 200 consoles on PostgreSQL at 50 inbound/s all connected as the owner (row-level
## security bypassed: the baseline of issue #17) and each as its agent's own role, at 30/s, then
## with faults at 30/s, and 20 consoles on SQLite with faults.  LOAD_ARGS are added to every
## run (e.g. --short).
load: install
	@set -e; \
	eval "$$(bash scripts/pg.sh up)"; \
	if [ "$$BANNERTUI_PG_STARTED" = "1" ]; then trap 'bash scripts/pg.sh down >/dev/null 2>&1 || true' EXIT; fi; \
	$(PY) bench/load/reads.py; \
	$(PY) bench/load/run.py --backend pg --rate 50 --as-owner $(LOAD_ARGS); \
	$(PY) bench/load/run.py --backend pg --rate 50 $(LOAD_ARGS); \
	$(PY) bench/load/run.py --backend pg --rate 30 $(LOAD_ARGS); \
	$(PY) bench/load/run.py --backend pg --rate 30 --seconds 120 --faults $(LOAD_ARGS); \
	$(PY) bench/load/run.py --backend sqlite --consoles 20 --console-procs 2 --rate 20 --seconds 120 --faults $(LOAD_ARGS)

## load-short: the CI size of the same three runs (about three minutes)
load-short:
	@$(MAKE) --no-print-directory load LOAD_ARGS=--short

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis dist build .pgdata
