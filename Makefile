# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates the venv on first use and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch, installed first where this exact version is available (it is on
# the project's build machines); elsewhere the next step resolves torch>=2.8 from the index.
TORCH ?= torch==2.13.0
EXTRAS ?= dev,render,generators,agents,video,bench
BIN := $(VENV)/bin

.PHONY: demo test test-quick mutation lint format typecheck bench clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	-$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -e ".[$(EXTRAS)]"
	touch $@

demo: $(BIN)/.installed
	$(BIN)/vrenvs demo --out out/demo

# The whole suite (what CI runs); test-quick skips the tests marked slow.
test: $(BIN)/.installed
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy $(BIN)/python -m pytest -q

test-quick: $(BIN)/.installed
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy $(BIN)/python -m pytest -q -m "not slow"

lint: $(BIN)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(BIN)/.installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

typecheck: $(BIN)/.installed
	$(BIN)/mypy

bench: $(BIN)/.installed
	$(BIN)/vrenvs bench --out out/bench

clean:
	rm -rf $(VENV) out .pytest_cache .mypy_cache .ruff_cache
