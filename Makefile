# reportgen developer commands. Needs Python >= 3.11 with venv; everything else is installed here.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: report test lint fixtures clean help bench institutional

help:
	@echo "make report    render examples/sclc_ldrt into build/sclc_ldrt (HTML and PDF)"
	@echo "make institutional  render examples/institutional: the institution and each department, with an index"
	@echo "make test      run the whole test suite (lint included)"
	@echo "make fixtures  regenerate the R reference fixtures (needs Rscript with survival and jsonlite)"
	@echo "make bench     time the pipeline at n = 74, 10^4, 10^5, 10^6 (and R, where installed), and 10^7 on Dask"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	@touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e ".[test]"
	@touch $(STAMP) $@

report: $(STAMP)
	$(VENV)/bin/reportgen render examples/sclc_ldrt/study.yaml --out build/sclc_ldrt

institutional: $(STAMP)
	$(VENV)/bin/reportgen render examples/institutional/study.yaml --by department --out build/institutional

test: $(TEST_STAMP)
	$(VENV)/bin/ruff check reportgen tests examples
	$(VENV)/bin/ruff format --check reportgen tests examples
	$(PY) -m pytest -q -n 2 --dist loadfile

fixtures: $(TEST_STAMP)
	$(PY) tests/stats/r/export_datasets.py build/rdata
	Rscript tests/stats/r/km_tests.R build/rdata tests/stats/fixtures/km_tests.json
	Rscript tests/stats/r/cox.R build/rdata tests/stats/fixtures/cox.json

bench: $(STAMP)
	$(PY) -m pip install --quiet -e ".[scale]"
	$(PY) benchmarks/run.py
	$(PY) benchmarks/batch.py
	$(PY) benchmarks/scale.py

clean:
	rm -rf build
