# Leadbill: `make demo` runs the product on the embedded SQLite default, `make test` runs the tests.
# Both set up a virtual environment first (Python >= 3.12, which Django 6 needs), installed exactly
# from requirements.lock, so every clone and CI get the versions CI tested. `make lock` upgrades them.

PYTHON ?= $(shell scripts/find-python)
VENV := .venv
BIN := $(VENV)/bin
DEMO_HOME ?= demo
LOCK := requirements.lock
LOCK_INPUTS := pyproject.toml requirements/build.in

.PHONY: setup demo test lint lock upgrade clean

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml $(LOCK)
	@test -n "$(PYTHON)" || { echo "Python >= 3.12 was not found on PATH (python3.13, python3.12, python3) nor in pyenv;" \
	  "install one, or name it: make $(MAKECMDGOALS) PYTHON=/path/to/python3.12" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes --no-deps -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps --no-build-isolation -e .
	@# a dependency added to pyproject.toml but not to the lock shows up here: run `make lock`
	$(BIN)/pip check
	@touch $@

# After editing pyproject.toml: lock what it adds, keeping every other pin. `make upgrade` moves
# every dependency to its newest allowed version. Either way, commit the changed lock deliberately.
lock upgrade:
	@test -x $(BIN)/uv || { echo "run make setup first (uv comes with the dev dependencies)" >&2; exit 1; }
	$(BIN)/uv pip compile $(LOCK_INPUTS) --extra dev --universal --python-version 3.12 --generate-hashes \
	  $(if $(filter upgrade,$@),--upgrade) --quiet --custom-compile-command "make lock" -o $(LOCK)

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
	$(BIN)/lint-imports --no-cache

clean:
	rm -rf $(VENV) $(DEMO_HOME) .pytest_cache .mypy_cache .ruff_cache
