# Two entry points: `make run` (station on simulated hardware, http://127.0.0.1:8000; another port:
# `make run PORT=8001`)
# and `make test` (the whole suite). Both bootstrap a virtual environment in .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000

.PHONY: run test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/balance-station run --simulate --port $(PORT) --data-dir ./data

# The suite runs in 3 pytest-xdist workers, each file on one worker (module fixtures stay shared),
# the slowest files first (tests/conftest.py): most of its time is real-time waiting, which the
# workers overlap on 2 cores; the 20 slowest tests are listed at the end. A plain
# `.venv/bin/python -m pytest tests/...` runs serially.
# Bytecode is written for the run (PYTHONDONTWRITEBYTECODE emptied; __pycache__ is gitignored).
# Where the environment sets it, nothing was ever cached: each worker compiled and assertion-rewrote
# every test module at every collection (18-24 CPU-s a worker, 6.5-8 once cached: 35-48 CPU-s a run
# from the second run of a checkout; a fresh clone's three workers still compile at once), and each
# station or CLI subprocess compiled the station's modules again (~0.3 CPU-s a start).
test: $(STAMP)
	bash tests/bootstrap.sh
	PYTHONDONTWRITEBYTECODE= $(BIN)/python -m pytest -q -n 3 --dist loadfile --no-loadscope-reorder --durations=20

bench: $(STAMP)
	$(BIN)/balance-station bench analysis --json
	$(BIN)/balance-station bench acquisition --json --rate 100 --seconds 60 --readers 20

clean:
	rm -rf $(VENV) build *.egg-info
