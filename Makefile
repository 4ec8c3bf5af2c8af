# romcam: two commands do all the set-up (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench-accuracy clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

# until the live coach exists: analyse a rendered demo clip into the local database, then serve
# the dashboard on it (http://127.0.0.1:8000)
run: install
	$(BIN)/romcam demo
	$(BIN)/romcam serve

test: install
	$(BIN)/ruff check romcam tests benchmarks
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check romcam tests benchmarks

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

bench-accuracy: install
	$(BIN)/python -m benchmarks.accuracy
