# The two commands of the README: `make demo` and `make test`. Everything else is what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: demo test lint controlplane down crds

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

down: $(INSTALLED)
	$(BIN)/strongroom cluster down

controlplane:
	bash hack/controlplane/build.sh >/dev/null

$(INSTALLED): pyproject.toml
	@echo "[setup] creating $(VENV) and installing Strongroom with its test tools..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@
