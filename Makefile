# Shared verbs: make demo | test | lint | bench. Each creates .venv on first use.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
# checkov (the Terraform scan in tests/test_terraform.py) gets a virtualenv of its own:
# its pins conflict with the project's test dependencies (see tests/tools/checkov-requirements.txt).
CHECKOV_VENV  := $(VENV)/checkov
CHECKOV_STAMP := $(CHECKOV_VENV)/.installed-stamp

.PHONY: venv demo test lint bench clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null || { echo "$(PYTHON) not found: install Python 3.11+ (e.g. apt-get install python3 python3-venv)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	@touch $(STAMP)

$(CHECKOV_STAMP): tests/tools/checkov-requirements.txt $(STAMP)
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(CHECKOV_VENV)/bin/python -m pip install --quiet -r tests/tools/checkov-requirements.txt
	@touch $(CHECKOV_STAMP)

venv: $(STAMP) $(CHECKOV_STAMP)

demo: $(STAMP)  # the demo needs no checkov
	$(BIN)/receipts demo

test: venv
	$(BIN)/python -m pytest -n 2 --dist loadgroup -q

lint: venv
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache  # the layers (pyproject.toml [tool.importlinter], docs/LAYOUT.md)

bench: venv  # each prints a table and a ratio, and writes benchmarks/results.json
	$(BIN)/python benchmarks/pipeline_throughput.py
	$(BIN)/python benchmarks/reconcile_throughput.py
	$(BIN)/python benchmarks/statements_throughput.py
	$(BIN)/python benchmarks/restore.py
	$(BIN)/python benchmarks/log_integration.py
	$(BIN)/python benchmarks/account_page.py
	$(BIN)/python benchmarks/kms_calls.py
	@if command -v wrk >/dev/null; then $(BIN)/python benchmarks/site_throughput.py; \
	else echo "site benchmark skipped: wrk is missing (apt-get install wrk)"; fi
	@if command -v gcloud >/dev/null; then $(BIN)/python benchmarks/streaming_latency.py; \
	else echo "streaming latency benchmark skipped: the Google Cloud CLI (emulators) is missing"; fi

clean:
	rm -rf $(VENV) .receipts .pytest_cache .ruff_cache .hypothesis
