# Two commands matter: `make run` (the platform on its embedded default) and `make test`.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PYTHON ?= python3
HOST ?= 127.0.0.1
PORT ?= 8000
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/cem
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: setup system-deps run test lint format db-roles worker beat web bench messages

$(VENV)/.installed: pyproject.toml requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -e ".[dev]"
	touch $@

# axe-core (npm) for the browser tests' accessibility checks; nothing is fetched when tests run.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get install -y --no-install-recommends npm >/dev/null; } || \
	  { echo "install npm (Node.js) with your package manager" >&2; exit 1; }
	npm ci --no-audit --no-fund
	touch $@

setup: $(VENV)/.installed node_modules/.installed

# Debian packages the browser tests need: Chromium and CJK fonts (Chinese renders as boxes without).
system-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "Noto Sans CJK"; then \
	  if command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    apt-get install -y --no-install-recommends chromium fonts-noto-cjk >/dev/null || \
	      { apt-get update >/dev/null && apt-get install -y --no-install-recommends chromium fonts-noto-cjk >/dev/null; }; \
	  else echo "install chromium and fonts-noto-cjk with your package manager for the browser tests"; fi; \
	fi

# The platform on its embedded default: SQLite, tasks in-process, console email, demo tenant.
run: setup
	DEBUG=1 $(PY) manage.py migrate --noinput -v0
	DEBUG=1 $(PY) manage.py seed_demo
	@echo "Open http://$(HOST):$(PORT)/  (logins above; password demo1234)"
	DEBUG=1 $(PY) manage.py runserver $(HOST):$(PORT)

# The whole suite. PostgreSQL and Redis are used when they answer on localhost (a real Celery
# worker is started by the tests); otherwise SQLite and eager tasks, skipping what needs them.
test: setup system-deps
	@db=$${DATABASE_URL:-}; redis=$${REDIS_URL:-}; \
	if [ -z "$$db" ] && $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 5432), 1)" 2>/dev/null; then db=$(TEST_DATABASE_URL); fi; \
	if [ -z "$$redis" ] && $(PY) -c "import socket; socket.create_connection(('127.0.0.1', 6379), 1)" 2>/dev/null; then redis=$(TEST_REDIS_URL); fi; \
	echo "tests on database=$${db:-sqlite} broker=$${redis:-eager}"; \
	DATABASE_URL=$$db REDIS_URL=$$redis $(VENV)/bin/pytest $(ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: setup
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# The PostgreSQL role the processes' connections run as (docs/security.md); idempotent, and a
# no-op on SQLite. `migrate` (and the test database's set-up) does the same.
db-roles: setup
	$(PY) manage.py db_roles

# With REDIS_URL and DATABASE_URL set: the processes docker-compose runs, one per terminal.
web: db-roles
	$(VENV)/bin/gunicorn cem.wsgi --bind $(HOST):$(PORT) --workers 2
worker: db-roles
	$(VENV)/bin/celery -A cem worker -Q default,scoring,alerts,notifications,reports --loglevel INFO
beat: db-roles
	$(VENV)/bin/celery -A cem beat --loglevel INFO

bench: setup
	$(PY) -m bench.http_submit
	$(PY) -m bench.scoring_worker

messages: setup
	$(PY) manage.py makemessages -l en --ignore ".venv/*" --ignore "bench/*" --ignore "tests/*"
	$(PY) locale/translate_en.py
	$(PY) manage.py compilemessages -l en --ignore ".venv/*"
