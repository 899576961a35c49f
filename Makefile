# Everyday commands. `make run` and `make test` set everything up on first use.
VENV ?= .venv
PY := $(VENV)/bin/python
FLASK := $(VENV)/bin/flask --app webapp
HOST ?= 127.0.0.1
PORT ?= 5000
DEMO_EMAIL ?= demo@example.com
DEMO_PASSWORD ?= demo-pass-2026
DEMO_DEVICES ?= 120
STAMP := $(VENV)/.setup-done
HTMX := webapp/static/vendor/htmx.min.js
CATALOGS := $(patsubst %.po,%.mo,$(wildcard webapp/translations/*/LC_MESSAGES/messages.po))

.PHONY: setup run test test-postgres suite unit e2e lint format clean db-upgrade seed-demo messages static bench

setup: $(STAMP) $(HTMX) $(CATALOGS) static

# Fingerprinted copies of the static files (portal-<md5>.css), cached for a year by browsers.
static: $(STAMP) $(HTMX)
	@$(VENV)/bin/flask --app webapp digest compile >/dev/null

$(STAMP): pyproject.toml scripts/setup
	scripts/setup python
	@touch $@

$(HTMX): package.json package-lock.json scripts/setup
	scripts/setup htmx

# Compiled translations (.mo) are built from the catalogs (.po), not committed.
webapp/translations/%/LC_MESSAGES/messages.mo: webapp/translations/%/LC_MESSAGES/messages.po $(STAMP)
	$(VENV)/bin/pybabel compile -d webapp/translations -l $* -i $< -o $@

# After changing texts: extract them and merge them into every catalog, then translate.
messages: setup
	$(VENV)/bin/pybabel extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output --no-wrap \
		-o webapp/translations/messages.pot .
	$(VENV)/bin/pybabel update -i webapp/translations/messages.pot -d webapp/translations --no-fuzzy-matching --no-wrap --ignore-obsolete

.chromium-ok: scripts/setup
	scripts/setup chromium
	@touch $@

db-upgrade: setup
	$(FLASK) db upgrade

seed-demo: setup
	$(FLASK) seed-demo --email $(DEMO_EMAIL) --password $(DEMO_PASSWORD) --devices $(DEMO_DEVICES)

run: setup db-upgrade
	@$(FLASK) has-contract --email $(DEMO_EMAIL) || $(MAKE) --no-print-directory seed-demo
	@$(FLASK) gc-recordings
	@echo ""
	@echo "  Portal:      http://$(HOST):$(PORT)/"
	@echo "  Demo login:  $(DEMO_EMAIL) / $(DEMO_PASSWORD)"
	@echo "  A fake camera sends the first camera's images (log: instance/fake-camera.log)."
	@echo ""
	scripts/run-demo $(HOST) $(PORT) $(DEMO_EMAIL)

test: setup .chromium-ok
	@$(MAKE) --no-print-directory suite

# The same suite on PostgreSQL: a throwaway cluster on a free loopback port. The browser
# flows run there in Japanese only: the database is what changes, not the language.
test-postgres: setup .chromium-ok
	scripts/with-postgres $(MAKE) --no-print-directory suite E2E_LANGUAGES=ja

# Unit tests, then the browser flows in each of E2E_LANGUAGES (after setup).
E2E_LANGUAGES ?= ja en
suite:
	$(PY) -m pytest tests/unit
	@for language in $(E2E_LANGUAGES); do \
		echo "E2E_LANGUAGE=$$language $(PY) -m pytest tests/e2e"; \
		E2E_LANGUAGE=$$language $(PY) -m pytest tests/e2e || exit 1; \
	done

unit: setup
	$(PY) -m pytest tests/unit

e2e: setup .chromium-ok
	@for language in $(E2E_LANGUAGES); do \
		echo "E2E_LANGUAGE=$$language $(PY) -m pytest tests/e2e"; \
		E2E_LANGUAGE=$$language $(PY) -m pytest tests/e2e || exit 1; \
	done

# Benchmarks print figures; they are never part of the tests (needs wrk: apt-get install wrk).
# Both benchmarks of issue 17 on SQLite, one after the other, each against a bare hello-world
# Flask app served in the same run (bench/hello.py). `make bench RUNS=3` takes three runs each.
RUNS ?= 1
bench: setup
	$(PY) -m bench.run --runs $(RUNS)
	$(PY) -m bench.device_api --runs $(RUNS)

lint: setup
	$(VENV)/bin/ruff check webapp tests bench
	$(VENV)/bin/ruff format --check webapp tests bench
	$(VENV)/bin/mypy

format: setup
	$(VENV)/bin/ruff format webapp tests bench
	$(VENV)/bin/ruff check --fix webapp tests bench

clean:
	rm -rf $(VENV) node_modules webapp/static/vendor .chromium-ok .pytest_cache tests/e2e/screenshots
	rm -f $(CATALOGS)
	$(VENV)/bin/flask --app webapp digest clean >/dev/null 2>&1 || true
