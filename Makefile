# Shared verbs: make demo | test | lint | bench. Each creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11+ (e.g. apt-get install python3 python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(BIN)/receipts demo

test: venv
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: venv
	$(BIN)/python benchmarks/pipeline_throughput.py
	$(BIN)/python benchmarks/reconcile_throughput.py

clean:
	rm -rf $(VENV) .receipts .pytest_cache .ruff_cache .hypothesis
