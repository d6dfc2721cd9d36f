# Tally: every target works on a fresh machine with only Python 3.11+, make and apt.
PYTHON  ?= python3
VENV    ?= .venv
PY      := $(VENV)/bin/python
OUT     ?= out
RUN_DIR ?= $(OUT)/conformance
STATION ?= sim

.PHONY: setup conformance test durations bench report lint clean

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

## The harness's own tests, in parallel: they mostly wait on real time (simulated devices,
## whole suites in subprocesses), so several pytest-xdist workers per core; with
## `--dist loadgroup` tests/schedule.py hands them out (a test that reads a whole-suite run
## once the run is done, the others as the CPU allows beside the runs), the longest first
## (tests/conftest.py). TEST_WORKERS=0 runs them in this one process. The wall time goes
## to $(OUT)/make-test.json (make bench reports it).
TEST_WORKERS ?= $(shell n=$$(( $$(nproc 2>/dev/null || echo 2) * 3 )); echo $$(( n > 8 ? 8 : n )))
# Bytecode is cached even where the environment says not to (PYTHONDONTWRITEBYTECODE): the
# tests start ~80 pytest subprocesses, each would compile the harness and rewrite its asserts.
TEST_CMD := env -u PYTHONDONTWRITEBYTECODE $(PY) -m pytest tests -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder
test: setup
	@echo "$(TEST_CMD)"; mkdir -p $(OUT); start=$$(date +%s); \
	  $(TEST_CMD); \
	  status=$$?; \
	  printf '{"seconds": %s, "workers": %s, "exit": %s, "finished": "%s"}\n' \
	    $$(( $$(date +%s) - start )) $(TEST_WORKERS) $$status "$$(date -u +%FT%TZ)" \
	    > $(OUT)/make-test.json; \
	  exit $$status

## After a `make test`: commit how long each test and whole-suite run took here
## (tests/durations.json), so a fresh clone orders its tests longest first as well.
durations: setup
	$(PY) -m tests.durations

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
