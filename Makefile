# Two commands on a fresh machine: `make run` and `make test`. Both build the
# virtual environment from nothing but python3 when it is missing or stale.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# setuptools prints its editable-install advice as a warning box on stderr even under
# --quiet; the advice does not apply (the package is imported from its own folder).
PIP    := PYTHONWARNINGS=ignore::UserWarning $(BIN)/python -m pip install --quiet --disable-pip-version-check
# `make install` links the venv's agentctl here, so any shell finds it (~/.local/bin is on most PATHs).
PREFIX ?= $(HOME)/.local
# `make run` needs only the product; the tests add the dev extra on top.
RUNTIME := $(VENV)/.installed-runtime
STAMP   := $(VENV)/.installed-dev
RAY     := $(VENV)/.installed-ray

.PHONY: run install test test-ray test-all lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	@$(PIP) --upgrade pip

$(RUNTIME): pyproject.toml | $(BIN)/python
	$(PIP) -e .
	@touch $(RUNTIME)

$(STAMP): pyproject.toml $(RUNTIME)
	$(PIP) -e '.[dev]'
	@touch $(STAMP)

# One complete research cycle with the offline baseline designer on bundled data.
run: $(RUNTIME)
	AGENTCTL_AGENT=$${AGENTCTL_AGENT:-baseline} $(BIN)/agentctl run --cycles 1 --interval 1

# agentctl from any shell: a link to the venv's (which stays where it is: cron's line names it).
install: $(RUNTIME)
	@mkdir -p $(PREFIX)/bin
	@ln -sfn $(abspath $(BIN)/agentctl) $(PREFIX)/bin/agentctl
	@echo "linked $(PREFIX)/bin/agentctl -> $(abspath $(BIN)/agentctl)"
	@case ":$$PATH:" in *":$(PREFIX)/bin:"*) ;; \
	  *) echo "$(PREFIX)/bin is not on your PATH: add  export PATH=\"$(PREFIX)/bin:\$$PATH\"  to ~/.profile";; esac
	@echo "next: agentctl cron --install (the tick every minute), agentctl --install-completion (tab completion)"

# pytest-xdist: a worker per core and one more (TEST_JOBS=0 runs in one process), each with its own embedded
# server: many tests wait on a subprocess (a tick, a lab worker, the fake API), and the extra worker fills
# those waits. On 2 cores, 3 workers took 281-292 s and 4 took 284-300 s (each worker starts a server and
# collects the suite, and more processes contend for the cores).
# A module's tests stay on one worker, so its module-scoped fixtures (a calibration, a private server) run once.
# Modules go out in the order tests/conftest.py gives them: those marked heavy first, so none ends the run alone.
TEST_JOBS ?= $(shell $(PYTHON) -c 'import os; print(len(os.sched_getaffinity(0)) + 1)')
test: $(STAMP)
	$(BIN)/python -m pytest -m "not slow and not ray" -n $(TEST_JOBS) --dist loadscope --no-loadscope-reorder

# ruff (lint and format) over the code, tests and benchmarks; mypy over the package.
lint: $(STAMP)
	$(BIN)/ruff check agentctl tests bench
	$(BIN)/ruff format --check agentctl tests bench
	$(BIN)/mypy

# The ray executor's tests start a Ray cluster on this machine: they need the `ray` extra.
$(RAY): pyproject.toml $(STAMP)
	$(PIP) -e '.[dev,ray]'
	@touch $(RAY)

test-ray: $(RAY)
	$(BIN)/python -m pytest -m ray tests/ray

test-all: $(RAY)
	$(BIN)/python -m pytest

# Each script runs as a module of the checkout's bench package (so it finds agentctl and the tests' fake API).
bench: $(STAMP)
	@for b in bench/*.py; do n=$$(basename $$b .py); [ $$n = __init__ ] && continue; \
	  echo "== $$b"; $(BIN)/python -m bench.$$n || exit 1; done

clean:
	rm -rf $(VENV) *.egg-info
