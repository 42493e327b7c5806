# Sunap: `make serve` runs the service on the embedded default; `make test` runs every test.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# Distributions of their own in this repository (the sandbox); sunap depends on them.
PACKAGES := $(wildcard packages/*)
LINTED := src tests bench migrations $(PACKAGES)
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup serve test check lint format bench proto wheels clean

setup: $(STAMP) $(CHROMIUM)

$(STAMP): pyproject.toml $(wildcard packages/*/pyproject.toml)
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(addprefix -e ,$(PACKAGES)) -e '.[dev]'
	touch $(STAMP)

$(CHROMIUM):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium fonts-noto-cjk

serve: setup
	$(VENV)/bin/sunap serve

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff format --check $(LINTED)
	$(VENV)/bin/ruff check $(LINTED)
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports

check: lint test

format: setup
	$(VENV)/bin/ruff format $(LINTED)
	$(VENV)/bin/ruff check --fix $(LINTED)

bench: setup
	$(PY) bench/relay_throughput.py

# Regenerate src/sunap/v1 (gRPC stubs + mypy stubs) from proto/; a test fails when they differ.
proto: setup
	$(PY) proto/generate.py src

# A wheel of each distribution in packages/, into dist/ (what `pip install packages/…` builds).
wheels: setup
	$(PY) -m pip wheel -q --no-deps -w dist $(PACKAGES)

clean:
	rm -rf $(VENV) dist .pytest_cache .mypy_cache .ruff_cache *.db var/screenshots
