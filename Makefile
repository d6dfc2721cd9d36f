# Tally: every target works on a fresh machine with only Python 3.11+, make and apt.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
OUT     ?= out
RUN_DIR ?= $(OUT)/conformance
STATION ?= sim

.PHONY: setup conformance test bench report lint clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,labgrid]'
	touch $@

setup: $(VENV)/.installed

## The main job: every conformance suite against the (simulated) bench, with the report.
conformance: setup
	rm -rf $(RUN_DIR)
	$(PY) -m pytest suites --station $(STATION) --report-dir $(RUN_DIR) -p no:cacheprovider; \
	  status=$$?; \
	  $(PY) -m reports build $(RUN_DIR) || status=$$?; \
	  exit $$status

## The harness's own tests.
test: setup
	$(PY) -m pytest tests

## Measured performance, as ratios against baselines measured in the same run.
bench: setup
	$(PY) -m benchmarks --out $(OUT)/bench.json

## Allure Report 3 (from npm, pinned) and the conformance report of the last run.
report: setup
	$(PY) -m reports allure $(RUN_DIR) --out $(OUT)/allure-report
	$(PY) -m reports build $(RUN_DIR)

## Style and the layers: ruff, then import-linter's contracts (pyproject.toml, docs/architecture.md).
lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

clean:
	rm -rf $(OUT) .pytest_cache .hypothesis
