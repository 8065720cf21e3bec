# SRS — two commands for a newcomer: `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed
export FLASK_APP = srs

.PHONY: run test lint format install translations extract-messages update-messages clean bench-writes bench-write-cost

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "SRS needs Python 3.11 ($(PYTHON) not found); set PYTHON=..."; exit 1; }
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) translations

# Each catalogue is compiled when its .po is newer than its .mo, so runs of `make test` started side by
# side (CI) find them made and never rewrite a file another run is reading.
MO_FILES = $(patsubst %.po,%.mo,$(wildcard srs/translations/*/LC_MESSAGES/messages.po))

translations: $(MO_FILES)

srs/translations/%/LC_MESSAGES/messages.mo: srs/translations/%/LC_MESSAGES/messages.po | $(STAMP)
	$(BIN)/pybabel --quiet compile -d srs/translations -l $*

run: install
	$(BIN)/flask db upgrade
	$(BIN)/flask seed-demo --if-empty
	$(BIN)/python -m srs.devserver

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Writes over HTTP against a minimal INSERT endpoint (needs PostgreSQL, Redis, wrk; see docs/benchmarks.md).
bench-writes: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/http_writes.py $(BENCH_ARGS)

# CPU per write in one process (repeatable on a busy machine): BENCH_ARGS="--breakdown", "--srs PATH"
bench-write-cost: install
	$(BIN)/python -m pip install --quiet -e '.[bench]'
	$(BIN)/python bench/write_cost.py $(BENCH_ARGS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

extract-messages: $(STAMP)
	@mkdir -p srs/translations
	$(BIN)/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k ngettext:1,2 -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 \
		--project=SRS --no-location --sort-output -o srs/translations/messages.pot .

update-messages: extract-messages
	$(BIN)/pybabel update -i srs/translations/messages.pot -d srs/translations --no-fuzzy-matching

clean:
	rm -rf $(VENV) *.egg-info
