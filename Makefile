# orgdash: `make run` starts the whole product, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py

.PHONY: run test setup services stop migrate demo lint benchmark loadtest clean

run: setup demo
	$(PY) -m tooling.devrun

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

setup: $(VENV)/.installed static/vendor/.installed services migrate

$(VENV)/.installed: requirements.lock
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

static/vendor/.installed: node_modules/.installed
	mkdir -p static/vendor
	cp node_modules/chart.js/dist/chart.umd.js node_modules/chart.js/dist/chart.umd.js.map static/vendor/
	cp node_modules/chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.bundle.min.js static/vendor/
	touch $@

services: $(VENV)/.installed
	$(PY) -m tooling.devservices start

stop:
	$(PY) -m tooling.devservices stop

migrate: services
	$(MANAGE) migrate_schemas --shared --verbosity 0
	$(MANAGE) setup_instance
	$(MANAGE) migrate_schemas --tenant --executor=multiprocessing --verbosity 0

demo: migrate
	$(MANAGE) create_org acme --name "Acme Corp" --admin-email admin@acme.test --admin-password orgdash-demo
	$(MANAGE) seed_demo --org acme --users 300 --days 365 --seed 1 --if-empty

benchmark: setup
	$(MANAGE) create_org bench --name "Benchmark Org"
	$(MANAGE) seed_demo --org bench --users 100000 --days 730 --seed 1 --if-empty
	$(MANAGE) refresh_activity --org bench --full
	$(MANAGE) benchmark --org bench --json benchmark.json

loadtest: setup
	$(MANAGE) create_org bench --name "Benchmark Org"
	$(MANAGE) seed_demo --org bench --users 100000 --days 730 --seed 1 --if-empty
	$(MANAGE) loadtest --org bench --seconds $${LOADTEST_SECONDS:-60}

lint: $(VENV)/.installed node_modules/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	npx --no-install eslint .
	node --test tests/js/*.test.js

clean: stop
	rm -rf $(VENV) node_modules static/vendor .devdata
