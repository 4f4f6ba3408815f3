# Leadbill: `make demo` runs the product on the embedded SQLite default, `make test` runs the tests.
# Both set up a virtual environment first (Python >= 3.12, which Django 6 needs).

PYTHON ?= $(shell for p in python3.13 python3.12 /root/.pyenv/versions/3.13*/bin/python /root/.pyenv/versions/3.12*/bin/python; do \
	  $$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { command -v $$p || echo $$p; } && break; done)
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME ?= demo

.PHONY: setup demo test lint bench clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 not found; set PYTHON=/path/to/python3.12"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

demo: setup
	@mkdir -p $(DEMO_HOME)
	LEADBILL_HOME=$(abspath $(DEMO_HOME)) $(BIN)/leadbill demo --reset

# DATABASE_URL=postgres://postgres@127.0.0.1:5432/test make test  runs the same suite on PostgreSQL.
test: setup
	$(BIN)/pytest -n 2 -m "not slow" $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
