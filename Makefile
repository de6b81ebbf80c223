# The two commands a fresh machine needs: `make run` and `make test`.
# Each creates .venv and installs what it needs; nothing is installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test lint check clean

# Reinstall only when the project's packaging changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Narration that fails to build (Google busy, say) must not keep the tour offline:
# the pages say when a stop has no audio yet.
run: $(BIN)/.installed
	$(BIN)/tour check
	$(BIN)/tour audio --engine auto || echo "Some narration was not built; serving what there is."
	$(BIN)/tour qr
	$(BIN)/tour serve --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict tour tests $(wildcard scripts/*.py)

test: lint
	$(BIN)/python -m pytest

check: $(BIN)/.installed
	$(BIN)/tour check

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache
