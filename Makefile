# Two commands do everything: `make run` starts the platform, `make test` runs the suite.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python

.PHONY: run test lint format bench frontend frontend-check

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.runtime: requirements.txt | $(PY)
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.dev: requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install -q -r requirements-dev.txt
	touch $@ $(VENV)/.runtime

run: $(VENV)/.runtime
	$(PY) -m mono.devstack

# The browser tests drive the system's Chromium; no browser is ever downloaded. As root on Debian
# or Ubuntu it is installed from the distribution's package; elsewhere set CHROMIUM_PATH.
CHROMIUM_PATH ?= /usr/bin/chromium
export CHROMIUM_PATH

$(CHROMIUM_PATH):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "The browser tests need Chromium at $(CHROMIUM_PATH): install it, or set CHROMIUM_PATH."; exit 1; \
	fi

# Tests use a real PostgreSQL (DATABASE_URL, default the local server) and start their own
# Temporal dev server from the virtualenv. Screenshots of the browser tests land in
# .artifacts/screenshots/.
test: $(VENV)/.dev $(CHROMIUM_PATH)
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/mono}" \
	SECRET_KEY=test-only DEBUG=0 DATABASE_CONN_MAX_AGE=0 \
	PAYLOAD_MASTER_KEY="$${PAYLOAD_MASTER_KEY:-dGVzdC1vbmx5LXBheWxvYWQtbWFzdGVyLWtleS0zMmI=}" \
	$(PY) -m pytest $(PYTEST_ARGS)

lint: $(VENV)/.dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# bench/_*.py are the benchmarks' shared harness, not benchmarks. BENCH_QUICK=1 make bench: a smoke run.
bench: $(VENV)/.dev $(CHROMIUM_PATH)
	for script in bench/[!_]*.py; do $(PY) $$script || exit 1; done

# The browser console's bundle is committed under static/console/, so `make run` needs no Node.js.
frontend:
	cd frontend && npm ci --no-audit --no-fund && npm run build

# CI (where Node.js is present): the committed bundle must be what the source builds.
frontend-check: frontend
	git diff --exit-code -- static/
	@test -z "$$(git status --porcelain -- static/)" || { git status --short -- static/; exit 1; }
