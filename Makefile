# make test : set up .venv if needed, then ruff (lint) + pytest tests/ (unit) + pytest --nbval book/
# make book : set up .venv if needed, run every chapter with papermill, build the HTML book
# make bench: measure training speed (reference vs ours) into results/bench/bench.json
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# the dev/CI install pins torch; the library itself does not (Colab and conda ship their own)
TORCH := torch==2.14.1 torchvision==0.29.1
# offline data beside the checkout (development machines and CI); users set their own
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)),)
export SPATIALMIX_DATA ?= $(SHARED_DATA)
endif
# 2 cores: torch is several times slower when oversubscribed
export SPATIALMIX_THREADS ?= 2
export OMP_NUM_THREADS ?= $(SPATIALMIX_THREADS)

# every test has a time limit (pyproject: pytest-timeout, thread method, so a hang inside native
# code ends too, printing the stuck test's traceback); the 15 slowest are listed at the end
PYTEST_FLAGS := -q --durations=15

.PHONY: test install lint unit nbval book chapters html bench selfcheck gpu-check clean

install: $(BIN)/.installed

$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet $(TORCH)
	$(BIN)/pip install --quiet -e ".[book,test]"
	touch $@

# each phase prints its wall time (bash's time), so a CI log shows where the minutes went
lint: $(BIN)/.installed
	time { $(BIN)/ruff check . && $(BIN)/ruff format --check . ; }

unit: $(BIN)/.installed
	time $(BIN)/pytest tests/ $(PYTEST_FLAGS)

nbval: $(BIN)/.installed
	time SPATIALMIX_READONLY=1 $(BIN)/pytest --nbval book/ $(PYTEST_FLAGS) -p no:cacheprovider \
		--nbval-sanitize-with book/nbval_sanitize.cfg

test: lint unit nbval

# one training step of every model family x regime x width, each in its own process
selfcheck: $(BIN)/.installed
	$(BIN)/python -m spatialmix.selfcheck --threads $(SPATIALMIX_THREADS)

# on a CUDA machine, offline: every chapter at smoke scale on the GPU, then timed epochs
gpu-check: $(BIN)/.installed
	$(BIN)/python -m spatialmix.gpucheck --out results/bench/gpu_check.json

chapters: $(BIN)/.installed
	$(BIN)/python -m spatialmix.chapters run
	$(BIN)/python -m spatialmix.scoreboard

html: $(BIN)/.installed
	$(BIN)/jupyter-book build . --warningiserror --keep-going

book: chapters html

bench: $(BIN)/.installed
	$(BIN)/python -m spatialmix.perf --profile --record
	$(BIN)/python -m spatialmix.perf --markdown results/bench/bench.json

clean:
	rm -rf _build
