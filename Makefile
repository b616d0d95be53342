# `make serve` and `make test` set everything up on a fresh machine: a virtual
# environment in .venv with the project installed (editable) and its pinned dependencies.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: serve test install bench clean

$(STAMP): pyproject.toml setup.py constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

install: $(STAMP)

serve: $(STAMP)
	$(BIN)/apitwin serve

test: $(STAMP)
	$(BIN)/python -m pytest

# MONARC against Prism (needs wrk), the framework's share of a request, the scale figures
# of OpenGrid and Qoncrete, then what `apitwin proxy` adds to a request.
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/python benchmarks/connexion_floor.py
	$(BIN)/python benchmarks/opengrid.py
	$(BIN)/python benchmarks/qoncrete.py
	$(BIN)/python benchmarks/proxy.py

clean:
	rm -rf $(VENV) *.egg-info
