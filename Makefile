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

test: $(STAMP)
	bash tests/bootstrap.sh
	$(BIN)/python -m pytest -q

bench: $(STAMP)
	$(BIN)/balance-station bench analysis --json
	$(BIN)/balance-station bench acquisition --json --rate 100 --seconds 60 --readers 20

clean:
	rm -rf $(VENV) build *.egg-info
