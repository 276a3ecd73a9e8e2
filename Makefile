# Two set-up commands for a fresh machine with Python 3.11-3.13:
#   make run    install into .venv and open the app on the bundled galaxy-mass example
#   make test   install the test extras into .venv and run the whole suite
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: run test selftest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

run: $(VENV)/.installed
	NNSTUDIO_EXAMPLE=galaxy-mass $(BIN)/nnstudio

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest

selftest: $(VENV)/.installed
	$(BIN)/nnstudio selftest

clean:
	rm -rf $(VENV) build dist *.egg-info
