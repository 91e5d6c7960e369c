# Two commands for a newcomer on a fresh machine (Python 3.10+, make; Node.js/npm for the
# Azure Storage emulator the lake tests use):
#   make demo   installs into .venv, then runs the main job on the bundled sample (no Azure)
#   make test   installs into .venv (+ Azurite via npm ci), then runs the test suite
# CI (.ci/run) runs `make lint`, `make test`, `make test-lowest` and `make test-pythons` on a
# clean clone.
#
# Every environment is installed from a committed lock in requirements/ by a pinned uv
# (requirements/README.md), so a new release of a dependency cannot change what CI tests.
# After changing the dependencies in pyproject.toml: `make lock`, then commit requirements/.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
VENVS ?= .venvs
OUT ?= out/demo
PYTEST_ARGS ?=
REQ := requirements

# The interpreters of test-pythons and test-lowest: the newest pyenv X.Y.*, else pythonX.Y on
# PATH (pyenv's shims are skipped unless they run). Override: make test-pythons PYTHON310=...
PYENV_ROOT ?= $(HOME)/.pyenv
find_python = $(shell for p in $$(ls -d $(PYENV_ROOT)/versions/$(1).*/bin/python$(1) 2>/dev/null \
  | sort -rV) $$(command -v python$(1)); do "$$p" -c 'import sys; assert "%d.%d" % \
  sys.version_info[:2] == "$(1)"' >/dev/null 2>&1 && { echo "$$p"; break; }; done)
PYTHON310 ?= $(call find_python,3.10)
PYTHON313 ?= $(call find_python,3.13)
# The lowest supported dependencies (requirements/lowest.txt) on the lowest supported Python.
PYTHON_LOWEST ?= $(PYTHON310)

# uv must use the interpreters named here: nothing is downloaded but packages from PyPI.
export UV_PYTHON_DOWNLOADS := never
export UV_NO_PROGRESS := 1

.PHONY: demo test test-lowest test-pythons test-py3.10 test-py3.13 lint lock lock-upgrade \
	bench bench-lake fuzz install clean check-explorer

# --- installs ---------------------------------------------------------------------------------

# The installer itself: uv at the version and hashes of requirements/bootstrap.txt, via pip.
$(UV): $(REQ)/bootstrap.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r $(REQ)/bootstrap.txt
	touch $@

# install_locked PYTHON LOCK: exactly the lock's pins (the build backend included), then
# mlreg_frames itself in editable mode, built with the locked setuptools (no download); `uv pip
# check` fails if an installed package misses a dependency (tests/test_packaging.py checks the
# extras against pyproject.toml).
define install_locked
	$(UV) pip install --python $(1) --no-deps -r $(2)
	$(UV) pip install --python $(1) --no-deps --no-build-isolation --quiet -e .
	$(UV) pip check --python $(1)
endef

# new_venv PYTHON X.Y VARIABLE DIR: a fresh venv for interpreter PYTHON, or a clear error.
define new_venv
	@test -n "$(1)" && "$(1)" -c '' >/dev/null 2>&1 || { echo "error: no Python $(2) found \
	(looked in $(PYENV_ROOT)/versions/$(2).* and for python$(2) on PATH): install it, e.g. \
	'pyenv install $(2)', or name it: make ... $(3)=/path/to/python$(2)" >&2; exit 1; }
	$(UV) venv --quiet --clear --python "$(1)" $(4)
endef

$(BIN)/.installed: $(UV) pyproject.toml $(REQ)/test.txt
	$(call install_locked,$(BIN)/python,$(REQ)/test.txt)
	touch $@

$(VENVS)/py3.10/.installed: $(UV) pyproject.toml $(REQ)/test.txt
	$(call new_venv,$(PYTHON310),3.10,PYTHON310,$(@D))
	$(call install_locked,$(@D)/bin/python,$(REQ)/test.txt)
	touch $@

$(VENVS)/py3.13/.installed: $(UV) pyproject.toml $(REQ)/test.txt
	$(call new_venv,$(PYTHON313),3.13,PYTHON313,$(@D))
	$(call install_locked,$(@D)/bin/python,$(REQ)/test.txt)
	touch $@

$(VENVS)/lowest/.installed: $(UV) pyproject.toml $(REQ)/lowest.txt
	$(call new_venv,$(PYTHON_LOWEST),3.10,PYTHON_LOWEST,$(@D))
	$(call install_locked,$(@D)/bin/python,$(REQ)/lowest.txt)
	touch $@

# The browser check's venv: the test lock plus JupyterLab (requirements/browser.txt).
$(VENVS)/browser/.installed: $(UV) pyproject.toml $(REQ)/browser.txt
	$(UV) venv --quiet --clear --python $(BIN)/python $(@D)
	$(call install_locked,$(@D)/bin/python,$(REQ)/browser.txt)
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(BIN)/.installed

# --- the two commands, and CI's other stages -------------------------------------------------

demo: $(BIN)/.installed
	$(BIN)/mlreg-frames demo --out $(OUT)

test: $(BIN)/.installed node_modules/.installed
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite at the pyproject lower bounds (requirements/lowest.txt) on Python 3.10.
test-lowest: $(VENVS)/lowest/.installed node_modules/.installed
	$(VENVS)/lowest/bin/python -m pytest $(PYTEST_ARGS)

# The suite (same lock as `make test`) on the oldest and the newest supported Python.
test-pythons: test-py3.10 test-py3.13

test-py3.10: $(VENVS)/py3.10/.installed node_modules/.installed
	$(VENVS)/py3.10/bin/python -m pytest $(PYTEST_ARGS)

test-py3.13: $(VENVS)/py3.13/.installed node_modules/.installed
	$(VENVS)/py3.13/bin/python -m pytest $(PYTEST_ARGS)

lint: $(BIN)/.installed
	$(BIN)/ruff check mlreg_frames tests benchmarks
	$(BIN)/ruff format --check mlreg_frames tests benchmarks
	$(BIN)/mypy mlreg_frames

# The explorer in a real browser: JupyterLab, then Notebook 7, on 127.0.0.1 run a notebook that
# explores the sample, headless chromium (apt-get install chromium) presses notebook shortcuts with focus on
# each control, clicks a sort, and saves screenshots in out/explorer-check (tests/browser/).
check-explorer: $(VENVS)/browser/.installed node_modules/.installed
	$(VENVS)/browser/bin/python tests/browser/check_explorer.py --out out/explorer-check

# A long fuzz run of flatten (the test suite runs a few examples of the same tests).
fuzz: $(BIN)/.installed
	HYPOTHESIS_PROFILE=long $(BIN)/python -m pytest tests/test_fuzz_flatten.py -q --timeout=0

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_flatten.py
	$(BIN)/python benchmarks/bench_fetch.py
	$(BIN)/python benchmarks/bench_tenant.py
	$(BIN)/python benchmarks/bench_tenant.py --case empty
	$(BIN)/python benchmarks/bench_parquet.py

# A year of daily snapshots in the Delta lake (several minutes).
bench-lake: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_lake.py

# --- locks -------------------------------------------------------------------------------------

# Rewrites requirements/*.txt from pyproject.toml and requirements/*.in. Versions already in a
# lock are kept; only new or changed requirements are resolved. `make lock-upgrade` takes the
# newest releases instead. The test lock is universal (Python 3.10-3.13, any OS); the lowest lock
# resolves pyproject's lower bounds (direct dependencies) for Python 3.10 on Linux; its direct
# dependencies are always re-resolved (-P), as a pin kept from before may sit above a lower bound.
UV_COMPILE = $(UV) pip compile --quiet --custom-compile-command "make lock" --python-version 3.10 \
	$(LOCK_ARGS)

lock: $(UV)
	$(UV_COMPILE) --universal --generate-hashes $(REQ)/bootstrap.in -o $(REQ)/bootstrap.txt
	$(UV_COMPILE) --universal --extra test pyproject.toml $(REQ)/build.in -o $(REQ)/test.txt
	direct=$$($(UV_COMPILE) --no-header --no-annotate --no-deps --python-platform linux \
		--extra test pyproject.toml $(REQ)/build.in | sed -n 's/^\([A-Za-z0-9._-]*\)==.*/-P \1/p') \
	&& $(UV_COMPILE) --python-platform linux --resolution lowest-direct $$direct \
		--extra test pyproject.toml $(REQ)/build.in -o $(REQ)/lowest.txt
	$(UV_COMPILE) --universal --extra test pyproject.toml $(REQ)/build.in $(REQ)/browser.in \
		-c $(REQ)/test.txt -o $(REQ)/browser.txt

lock-upgrade: LOCK_ARGS = --upgrade
lock-upgrade: lock

clean:
	rm -rf $(VENV) $(VENVS) node_modules out .pytest_cache
