# Piquet — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
PYTEST_ARGS ?=

.PHONY: run test lint pytest test-deps install install-dev migrate demo messages clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

.env:
	@printf 'DEBUG=1\nSECRET_KEY=%s\nPIQUET_BASE_URL=http://$(HOST):$(PORT)\nPIQUET_OUTBOUND_ALLOWED_NETWORKS=127.0.0.0/8\n' \
		"$$($(PYTHON) -c 'import secrets; print(secrets.token_urlsafe(50))')" > .env
	@echo "Wrote .env for local development (edit it, or see .env.example)."

migrate: install .env
	$(BIN)/python manage.py migrate --no-input

demo: migrate
	$(BIN)/python manage.py load_demo

## make run: install, migrate, load the demo once, start the web server (gunicorn) and the worker.
run: demo
	$(BIN)/python manage.py collectstatic --no-input -v 0
	$(BIN)/python manage.py welcome
	PORT=$(PORT) HOST=$(HOST) $(BIN)/honcho start -f Procfile

## make test: install what the tests need, run ruff and the whole suite.
test: test-deps lint pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

pytest: install-dev
	$(BIN)/pytest -n 2 $(PYTEST_ARGS)

## Outside programs the tests drive: Chromium (browser tests) and Alertmanager.
test-deps:
	@missing=""; \
	for pair in chromium:chromium prometheus-alertmanager:prometheus-alertmanager msgfmt:gettext; do \
		bin=$${pair%%:*}; pkg=$${pair##*:}; \
		command -v $$bin >/dev/null 2>&1 || missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "Installing Debian packages:$$missing"; \
		if [ "$$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing \
			|| echo "Could not install$$missing: the tests that need them will skip (or fail under PIQUET_STRICT_TESTS=1)."; \
	fi

## make messages: regenerate the French, German and Italian catalogues from the project root (strings of
## comms/ go to comms/locale/, every other string to locale/), keeping their translations, then compile them.
messages: install-dev
	DJANGO_SETTINGS_MODULE=project.settings_test $(BIN)/python manage.py makemessages -l fr -l de -l it \
		--ignore=.venv --ignore=benchmarks --ignore=tests --ignore=var
	DJANGO_SETTINGS_MODULE=project.settings_test $(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache
