# Sunap: `make serve` runs the service on the embedded default; `make test` runs every test.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup serve test check lint format bench bench-scale proto clean

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

# The money path under load beside its ceiling (bench/load.py; a few minutes), then data scale.
# The other bench/*.py scripts run on their own: `.venv/bin/python bench/<name>.py`.
bench: setup /usr/bin/wrk
	$(PY) bench/load.py

bench-scale: setup /usr/bin/wrk
	$(PY) bench/scale.py

/usr/bin/wrk:
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends wrk

# Regenerate src/sunap/v1 (gRPC stubs + mypy stubs) from proto/; a test fails when they differ.
proto: setup
	$(PY) proto/generate.py src

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache *.db var/screenshots
