# perflab — the commands a newcomer runs. See README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
JOBS   ?= $(shell nproc 2>/dev/null || echo 2)

.PHONY: install install-dev report test check lint lab bench samples clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name perflab --display-name "perflab"
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[dev,lab]'
	touch $@

install: $(VENV)/.installed

install-dev: $(VENV)/.installed-dev

## make report: run every notebook on data/sample/ → reports/<run-id>/index.html
report: install
	$(BIN)/perflab run --jobs $(JOBS)

## make test: install test dependencies and run the whole suite (what CI runs)
test: install-dev
	$(BIN)/python -m pytest -n $(JOBS)

## make check: lint, format check, type check, then the tests
lint: install-dev
	$(BIN)/ruff check perflab tests benchmarks
	$(BIN)/ruff format --check perflab tests benchmarks
	$(BIN)/mypy

check: lint test

## make lab: JupyterLab on notebooks/ with the perflab kernel
lab: install-dev
	$(BIN)/jupyter lab notebooks/

## make bench: the side-by-side speed runs in benchmarks/
bench: install-dev
	@for b in benchmarks/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

## make samples: regenerate the generated parts of data/sample/
samples: install
	$(BIN)/perflab samples

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
