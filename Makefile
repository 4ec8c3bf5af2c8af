# romcam: two commands do all the set-up (see README.md).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-slow lint bench bench-accuracy bench-live clean

install: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	@touch $(STAMP)

# the live coach on camera 0 (or, when no camera opens, a rendered demo video), the dashboard and
# the API on http://127.0.0.1:8000 (the coaching page is /coach). `romcam demo` still analyses a
# demo clip into the database on its own.
run: install
	$(BIN)/romcam serve

# pytest workers for make test (0: none, every test in one process, in file order)
TEST_WORKERS ?= 2
test: install
	$(BIN)/ruff check romcam tests benchmarks
	$(BIN)/hadolint Dockerfile
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile

# the long checks kept out of make test: the API fuzzer with 300 examples per operation
test-slow: install
	ROMCAM_FUZZ_EXAMPLES=300 $(BIN)/pytest tests/test_fuzz_api.py

lint: install
	$(BIN)/ruff check romcam tests benchmarks
	$(BIN)/hadolint Dockerfile

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .ruff_cache

bench-accuracy: install
	$(BIN)/python -m benchmarks.accuracy
	$(BIN)/python -m benchmarks.two_person

# frame-to-event latency and sustained fps of the live path on a 30 fps source (not in make test)
bench-live: install
	$(BIN)/python -m benchmarks.live

# the whole path against the pose model's own speed, in one table (issue 8; how long it takes: README,
# "Performance"): benchmarks/results/perf.{json,md}. `make bench BENCH_ARGS=--quick` to try it (perf-quick.*)
BENCH_ARGS ?=
bench: install
	nice -n 5 $(BIN)/python -m benchmarks.perf $(BENCH_ARGS)
