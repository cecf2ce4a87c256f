# Keisei: two set-up commands, `make train` and `make test`.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TRAIN_ARGS ?= --preset tiny --set training.max_wall_seconds=600
BIN := $(VENV)/bin

.PHONY: install dev train test lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip >/dev/null

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install "$(TORCH_SPEC)"
	$(BIN)/pip install -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install -e ".[dev]"
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed-dev

train: install
	$(BIN)/keisei train $(TRAIN_ARGS)

test: dev
	$(BIN)/python -m pytest -q

lint: dev
	$(BIN)/ruff check keisei tests

bench: install
	$(BIN)/keisei bench env

clean:
	rm -rf $(VENV) runs .pytest_cache
