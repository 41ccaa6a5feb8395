# The two commands the README names: `make demo` and `make test`.
# Both create .venv with Python 3.11 on first use and install the project into it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN = $(VENV)/bin

.PHONY: demo test lint bench screenshots clean chromium postgresql

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Bytecode first: where PYTHONDONTWRITEBYTECODE is set (as on our build machines), an editable
# checkout would otherwise compile its modules again in every process the demo or a test starts.
BYTECODE = $(BIN)/python -m compileall -q driftmon flows

demo: $(BIN)/.installed
	@$(BYTECODE)
	$(BIN)/driftmon demo

# Report tests drive Debian's Chromium through Playwright (never `playwright install`, which
# downloads a browser); store tests also run on a throwaway PostgreSQL server made with Debian's
# postgresql binaries. Both are installed here when missing and when we may (root, as CI runs).
test: $(BIN)/.installed chromium postgresql
	@$(BYTECODE)
	$(BIN)/python -m pytest

chromium:
	@if [ ! -x /usr/bin/chromium ] && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	fi

postgresql:
	@if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
		&& command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; \
	fi

lint: $(BIN)/.installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check .

bench: $(BIN)/.installed
	$(BIN)/python benchmarks/bench_counting.py
	$(BIN)/python benchmarks/bench_report.py
	$(BIN)/python benchmarks/bench_check.py
	$(BIN)/python benchmarks/bench_id_column.py

# PNGs of the demo's report pages (headless Chromium) in docs/screenshots/, for reviewing a
# change to the reports; not part of the tests.
screenshots: $(BIN)/.installed chromium
	$(BIN)/python docs/screenshots.py

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache reports/*/ reports/index.html driftmon.db demo
