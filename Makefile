# The two commands of the README: `make demo` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint controlplane down crds mutation

demo: $(INSTALLED) controlplane
	$(BIN)/strongroom demo

test: $(INSTALLED) controlplane lint
	$(BIN)/pytest

lint: $(INSTALLED)
	$(BIN)/ruff check .

# Regenerate what the models and rbac.py define: crds/ and the chart's generated files.
crds: $(INSTALLED)
	$(BIN)/python -m strongroom.codegen.crds
	$(BIN)/python -m strongroom.codegen.chart
	$(BIN)/python -m strongroom.codegen.docs

down: $(INSTALLED)
	$(BIN)/strongroom cluster down

controlplane:
	bash hack/controlplane/build.sh >/dev/null

# Mutation testing of the pure policy core against its unit tests (not part of `make test`): prints the
# score and the surviving mutants, and fails below 95 %. Works in a scratch copy under ~/.cache.
MUTATION_INSTALLED := $(VENV)/.installed-mutation

mutation: $(MUTATION_INSTALLED)
	$(BIN)/python hack/mutation/run.py --threshold 95

$(MUTATION_INSTALLED): $(INSTALLED) pyproject.toml
	$(BIN)/pip install --quiet -e '.[dev,mutation]'
	touch $@

$(INSTALLED): pyproject.toml
	@echo "[setup] creating $(VENV) and installing Strongroom with its test tools..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@
