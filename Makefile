# Sunap: `make serve` runs the service on the embedded default; `make test` runs every test.
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp
# uv installs exactly what uv.lock says. A fresh machine has none: pip fetches this version from
# PyPI into .tools/ (the dev extra locks the same one). Python is the machine's; uv never downloads one.
UV_VERSION := 0.13.9
UV_HOME    := .tools/uv-$(UV_VERSION)
UV         := $(UV_HOME)/bin/uv
export UV_PYTHON_DOWNLOADS := never
# Distributions of their own in this repository (sandbox, Toss client, Sunap client).
PACKAGES := $(wildcard packages/*)
LINTED := src tests bench packages
# The browser tests drive Debian's Chromium (Playwright cannot download browsers here).
CHROMIUM := /usr/bin/chromium
SUDO   := $(shell [ "$$(id -u)" -eq 0 ] || echo sudo)

.PHONY: setup bytecode serve test check lint format bench bench-scale soak proto wheels clean lock lock-upgrade

setup: $(STAMP) $(CHROMIUM) bytecode

$(UV):
	python3 -m pip install -q --root-user-action=ignore --target $(UV_HOME) uv==$(UV_VERSION)

# Every extra and every workspace package, at the locked versions; `--locked` fails rather than
# re-resolve when uv.lock no longer matches pyproject.toml. The stamp keeps a second run free.
# Compiled to bytecode at install: where PYTHONDONTWRITEBYTECODE is set (as on our CI machines)
# Python never caches what it compiles, and every process (each `sunap` a test starts) would
# compile its imports again: about 2 s of CPU per start.
$(STAMP): $(UV) uv.lock pyproject.toml $(wildcard packages/*/pyproject.toml)
	$(UV) sync --locked --all-extras --all-packages --python python3 --compile-bytecode
	touch $(STAMP)

# Our own sources (installed editable, so outside what uv compiles); only what changed is redone.
bytecode: $(STAMP)
	$(PY) -m compileall -q -j0 src $(addsuffix /src,$(PACKAGES)) > /dev/null

# Re-resolve after editing dependencies, keeping every other locked version.
lock: $(UV)
	$(UV) lock

# The scheduled upgrade (docs/dependencies.md): newest versions within pyproject's ranges.
lock-upgrade: $(UV)
	$(UV) lock --upgrade
	$(MAKE) setup

$(CHROMIUM):
	$(SUDO) apt-get update
	DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y --no-install-recommends chromium fonts-noto-cjk

# The service needs no browser: Chromium is for the browser tests (`setup`, `test`) only.
serve: $(STAMP) bytecode
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

# A wheel of each distribution in packages/, into dist/ (what `pip install packages/…` builds).
wheels: setup
	for package in $(PACKAGES); do $(UV) build -q --wheel --out-dir dist $$package || exit 1; done

clean:
	rm -rf $(VENV) .tools dist .pytest_cache .mypy_cache .ruff_cache *.db *.db-relay *.secrets.key var/screenshots

# The money soak: >= 1,000 seeded scenarios on SQLite and PostgreSQL (docs/money-soak-and-fuzzing.md).
soak: setup
	$(PY) bench/money_soak.py
