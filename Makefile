# qa-incidents: `make run` to use it, `make test` to check it. Both set up everything they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 5000
PG_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432
PG_TEST_DB := qa_incidents_test_$(shell date +%s)_$(shell echo $$$$)

.PHONY: run install lock migrate demo test test-fast test-pg chromium xmlsec1 lint clean messages check bench fonts catalogues

LOCK := requirements.lock

## Every dependency, direct and transitive, at the exact version and file hashes in requirements.lock
## (pip refuses a file whose hash differs); then the project itself, without resolving anything more.
$(STAMP): pyproject.toml $(LOCK)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

## Re-pin requirements.lock after changing pyproject.toml's dependencies (keeps existing pins where they still fit).
lock: $(STAMP)
	$(BIN)/pip install --quiet pip-tools
	$(BIN)/pip-compile --quiet --no-strip-extras --extra dev --generate-hashes --allow-unsafe \
		--no-emit-index-url --no-emit-find-links -o $(LOCK) pyproject.toml

MO := translations/ja/LC_MESSAGES/messages.mo

install: $(STAMP) $(MO)

## Compile the translation catalogues the application reads.
$(MO): translations/ja/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile -d translations -l ja
catalogues: $(MO)

## A Japanese font for PDFs (IPAex Gothic, IPA Font License); without it Japanese text cannot be drawn in PDFs.
## And Debian's pango libraries, which WeasyPrint (the HTML-to-PDF printer of reports, drafts and notices) lays text out with.
fonts:
	@if [ ! -f /usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf ]; then \
		echo "Installing Debian's IPAex Gothic font for Japanese PDFs…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq fonts-ipaexfont-gothic >/dev/null; \
	fi
	@if ! ldconfig -p | grep -q libpangoft2-1.0.so.0; then \
		echo "Installing Debian's pango libraries for PDF printing…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 >/dev/null; \
	fi

migrate: install
	$(BIN)/qa-incidents db upgrade

demo: migrate
	$(BIN)/qa-incidents seed demo
	$(BIN)/qa-incidents derive-decisions

## Set up and serve on http://127.0.0.1:5000 (SQLite under instance/).
run: demo fonts xmlsec1
	SCHEDULER_IN_PROCESS=1 $(BIN)/qa-incidents run --host $(HOST) --port $(PORT) --without-threads

## Debian's Chromium for the browser tests (Playwright cannot download its own here).
chromium:
	@if [ ! -x /usr/bin/chromium ]; then \
		echo "Installing Debian's chromium for the browser tests…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi

## Debian's xmlsec1 program: pysaml2 verifies the signatures of SAML assertions with it (single sign-on).
xmlsec1:
	@if ! command -v xmlsec1 >/dev/null; then \
		echo "Installing Debian's xmlsec1 for SAML single sign-on…"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq xmlsec1 >/dev/null; \
	fi

## The import contracts (pyproject.toml: core below the features, no new cycles), then the whole suite on SQLite,
## browser tests included, on every core (pytest-xdist).
test: install chromium fonts xmlsec1
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/pytest -q -n auto

## The import contracts, then the suite without the browser tests.
test-fast: install xmlsec1 fonts
	$(BIN)/lint-imports --no-logo --no-cache
	$(BIN)/pytest -q -n auto -m "not browser"

## The whole suite against PostgreSQL on 127.0.0.1:5432, in a throw-away database.
test-pg: install chromium fonts xmlsec1
	@pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in 1 2 3 4 5 6 7 8 9 10; do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
	psql -h 127.0.0.1 -U postgres -q -c "CREATE DATABASE $(PG_TEST_DB)"
	TEST_DATABASE_URL=$(PG_URL)/$(PG_TEST_DB) $(BIN)/pytest -q -n auto; status=$$?; \
		psql -h 127.0.0.1 -U postgres -q -c "DROP DATABASE IF EXISTS $(PG_TEST_DB) WITH (FORCE)"; exit $$status

## Static security check and known-vulnerability audit of the installed dependencies.
check: install
	$(BIN)/bandit -q -c pyproject.toml -r qa_incidents config.py wsgi.py -ll
	$(BIN)/pip-audit -l --progress-spinner off

lint: install
	$(BIN)/ruff check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache *.egg-info

## Extract strings, merge them into the catalogues, compile (then translate what test_i18n_catalogue lists).
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k _l --add-location=file --sort-output --no-wrap --project=qa-incidents --version=0.1.0 --copyright-holder=qa-incidents --msgid-bugs-address=qa-incidents@localhost -o translations/messages.pot .
	$(BIN)/pybabel update -i translations/messages.pot -d translations -l ja --no-wrap --ignore-obsolete
	$(BIN)/pybabel compile -d translations -l ja --statistics

## Performance: gunicorn (2 workers) on N synthetic incidents, driven over loopback; DB=sqlite|postgres.
## Then COMPLAINTS complaints imported and the full signal scan run over them (COMPLAINTS=0 skips it).
## The data set is built once and cached in bench/data/; results go to bench/results/latest.json.
N ?= 100000
COMPLAINTS ?= 2000000
DB ?= sqlite
BENCH_SECONDS ?= 8
bench: install
	@if [ "$(DB)" = postgres ]; then pg_isready -h 127.0.0.1 -p 5432 -q || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start; fi
	PG_URL=$(PG_URL) $(BIN)/python -m bench.run --db $(DB) --incidents $(N) --seconds $(BENCH_SECONDS) --complaints $(COMPLAINTS)
