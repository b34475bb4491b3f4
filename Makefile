# Two commands on a fresh machine: `make demo` (the main job) and `make test`.
# Each creates the venv on first use and installs what it needs.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch, installed first where this exact version is available (it is on
# the project's build machines); elsewhere the next step resolves torch>=2.8 from the index.
TORCH ?= torch==2.13.0
EXTRAS ?= dev,render,generators,agents,video,bench,multiagent
BIN := $(VENV)/bin

.PHONY: demo test test-rllib test-quick mutation mutation-repair lint format typecheck bench clean

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

# The RLlib engine in its own venv: Ray pins gymnasium==1.2.2, so the whole suite runs
# there too (the suite must pass on that gymnasium and on the newest 1.x). CI runs both.
RLLIB_VENV ?= .venv-rllib
RLLIB_BIN := $(RLLIB_VENV)/bin

$(RLLIB_BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(RLLIB_VENV)
	$(RLLIB_BIN)/pip install -q --upgrade pip
	-$(RLLIB_BIN)/pip install -q "$(TORCH)"
	$(RLLIB_BIN)/pip install -q -e ".[$(EXTRAS),rllib]"
	touch $@

test-rllib: $(RLLIB_BIN)/.installed
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy $(RLLIB_BIN)/python -m pytest -q

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

# Mutation testing of the env contract (docs/mutation.md). Needs mutmut (`pip install mutmut`;
# it is in the dev extra). Config: [tool.mutmut] in pyproject.toml. MUTANTS picks mutants by
# name glob, e.g. MUTANTS='vrenvs.core.rewards*'; named mutants are always re-run. One worker,
# one torch/OpenMP thread: a worker forked from a process with a thread pool can hang. The
# kernels run as plain Python (NUMBA_DISABLE_JIT=1), so their mutants run too.
MUTANTS ?= vrenvs.core.* vrenvs.envs.base.*info* vrenvs.multiagent.*
MUTATION_WORKERS ?= 1
mutation: $(BIN)/.installed
	SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_DISABLE_JIT=1 \
		$(BIN)/mutmut run --max-children $(MUTATION_WORKERS) $(foreach m,$(MUTANTS),"$(m)")
	mkdir -p out
	$(BIN)/mutmut results | grep -v ': not checked' > out/mutmut-results.txt || true
	@echo "survivors and timeouts: out/mutmut-results.txt; read one with $(BIN)/mutmut show NAME"

# The solvability guarantee (vrenvs.core.repair and vrenvs.core.reach) against its own tests,
# tests/test_repair.py and tests/test_scene.py (docs/mutation.md). Every env test calls
# repair, so under the contract's selection each of these mutants would run them all; the
# run goes in a copy, out/mutation-repair, whose [tool.mutmut] is rewritten for it (and a
# timeout of 2x the tests' time: repair's loops hang under some mutants).
REPAIR_DIR := out/mutation-repair
mutation-repair: $(BIN)/.installed
	rm -rf $(REPAIR_DIR) && mkdir -p $(REPAIR_DIR)
	cp -r pyproject.toml vrenvs tests docs $(REPAIR_DIR)/
	sed -i -e '/^only_mutate = \[/,/^\]/c\only_mutate = ["vrenvs/core/repair.py", "vrenvs/core/reach.py"]' \
		-e '/^pytest_add_cli_args_test_selection = \[/,/^\]/c\pytest_add_cli_args_test_selection = ["tests/test_repair.py", "tests/test_scene.py"]\ntimeout_multiplier = 2.0' \
		$(REPAIR_DIR)/pyproject.toml
	cd $(REPAIR_DIR) && SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 NUMBA_DISABLE_JIT=1 \
		$(CURDIR)/$(BIN)/mutmut run --max-children $(MUTATION_WORKERS) "vrenvs.core.repair.*" "vrenvs.core.reach.*"
	cd $(REPAIR_DIR) && $(CURDIR)/$(BIN)/mutmut results | grep -v ': not checked' > ../mutmut-repair-results.txt || true
	@echo "survivors and timeouts: out/mutmut-repair-results.txt"

clean:
	rm -rf $(VENV) $(RLLIB_VENV) out .pytest_cache .mypy_cache .ruff_cache mutants
