# Two commands for a newcomer on a fresh machine (Python 3.10+, make; Node.js/npm for the
# Azure Storage emulator the lake tests use):
#   make demo   installs into .venv, then runs the main job on the bundled sample (no Azure)
#   make test   installs into .venv (+ Azurite via npm ci), then runs the test suite
# CI (.ci/run) runs `make test` on a clean clone.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
OUT ?= out/demo

.PHONY: demo test lint bench fuzz install clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed

demo: $(BIN)/.installed
	$(BIN)/mlreg-frames demo --out $(OUT)

test: $(BIN)/.installed node_modules/.installed
	$(BIN)/python -m pytest

lint: $(BIN)/.installed
	$(BIN)/ruff check mlreg_frames tests benchmarks
	$(BIN)/ruff format --check mlreg_frames tests benchmarks
	$(BIN)/mypy mlreg_frames

# A long fuzz run of flatten (the test suite runs a few examples of the same tests).
fuzz: $(BIN)/.installed
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest tests/test_fuzz_flatten.py -q --timeout=0

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_flatten.py
	$(BIN)/python benchmarks/bench_fetch.py
	$(BIN)/python benchmarks/bench_tenant.py

clean:
	rm -rf $(VENV) node_modules out .pytest_cache
