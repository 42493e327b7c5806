# Sunap: `make serve` runs the service on the embedded default; `make test` runs every test.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup serve test check lint format bench soak proto clean

setup: $(STAMP) $(CHROMIUM)

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium fonts-noto-cjk

serve: setup
	$(VENV)/bin/sunap serve

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff format --check src tests bench migrations
	$(VENV)/bin/ruff check src tests bench migrations
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

check: lint test

format: setup
	$(VENV)/bin/ruff format src tests bench migrations
	$(VENV)/bin/ruff check --fix src tests bench migrations

bench: setup
	$(PY) bench/relay_throughput.py

# Regenerate src/sunap/v1 (gRPC stubs + mypy stubs) from proto/; a test fails when they differ.
proto: setup
	$(PY) proto/generate.py src

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.db var/screenshots

# The money soak: >= 1,000 seeded scenarios on SQLite and PostgreSQL (docs/money-soak-and-fuzzing.md).
soak: setup
	$(PY) bench/money_soak.py
