# Two commands for a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8501
HOST ?= localhost

.PHONY: install demo test lint format golden schema coverage bench clean chromium postgres pango java

install: $(STAMP)

# Reinstall only when the dependency list changes; a second run is a no-op.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: install pango
	$(VENV)/bin/modelcards examples --if-empty
	$(VENV)/bin/modelcards demo --host $(HOST) --port $(PORT)

# Debian's chromium for the browser tests; Playwright's own download cannot work here.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; }

# Pango lays out the printable summary (WeasyPrint); Debian's base images usually have it.
pango:
	@ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || { \
	  echo "installing Debian's pango"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; }

# A PostgreSQL server for the store tests (they start their own cluster in a temp folder).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  echo "installing Debian's postgresql"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null; }

# Java for the Spark engine's tests (pyspark starts a JVM; a standalone cluster too).
java:
	@java -version 2>&1 | grep -qE 'version "(1[7-9]|[2-9][0-9])' || { \
	  echo "installing Debian's Java 17"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy modelcards

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

test: install chromium postgres pango java lint
	$(PY) -m pytest -q

# Rewrite the golden cards under tests/golden/ after an intended change to the output.
golden: install
	MODELCARDS_UPDATE_GOLDEN=1 $(PY) -m pytest -q tests/test_golden.py

# Regenerate the published JSON Schema after changing the card's data model.
schema: install
	$(PY) -c "import json; from modelcards._card import json_schema, SCHEMA_PATH; \
	SCHEMA_PATH.write_text(json.dumps(json_schema(), indent=2, sort_keys=True) + '\n')"

# How often the card's intervals contain the truth: the table in the README.
coverage: install
	$(PY) -m modelcards.coverage

bench: install
	$(PY) benchmarks/card_speed.py
	$(PY) benchmarks/tree_check.py
	$(PY) benchmarks/demo_speed.py
	$(PY) benchmarks/explain_speed.py
	$(PY) benchmarks/demo_load.py
	$(PY) benchmarks/compare_speed.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
