# The clinic's page and its chat widget (web/, see web/README.md).
#   make web-deps     install the pinned chat widget (rasa-webchat) and the console's charts
#                     (chart.js) into web/node_modules (npm ci)
#   make web-browser  install Debian's Chromium for the browser test, when missing (apt-get)
#   make test-web     only the web tests (page server, channel, real browser)
#   make serve-web    only the page server, with the settings of .env
#   make screenshots  refresh the docs' pictures (docs/img/) from the browser tests (page and console;
#                     the Retrain flow trains a model once: a few minutes more)
# `make run` serves the page too (scripts/run.sh), and `make test` runs the web tests after
# installing what they need (TEST_DEPS). Included by the main Makefile (-include mk/*.mk).
.PHONY: web-deps web-browser test-web serve-web screenshots

WEB_WIDGET := web/build/rasa-webchat.js
CHROMIUM ?= /usr/bin/chromium
# Chromium's own packages, plus a font so pages render the same on a bare machine.
CHROMIUM_PACKAGES := chromium fonts-dejavu-core

web-deps: $(WEB_WIDGET)

# npm ci, then the bundle as the page serves it (web/widget.py: checks the pinned version).
$(WEB_WIDGET): web/package.json web/package-lock.json web/.npmrc web/widget.py
	@command -v npm >/dev/null || { echo "error: npm not found: install Node.js and npm (e.g. apt-get install npm)" >&2; exit 1; }
	cd web && npm ci
	python3 -m web.widget

web-browser: $(CHROMIUM)

$(CHROMIUM):
	@echo "Installing Debian's Chromium for the browser test"
	@if [ "$$(id -u)" = 0 ]; then sudo=; elif command -v sudo >/dev/null; then sudo=sudo; else \
	  echo "error: $(CHROMIUM) is missing; as root run: apt-get install $(CHROMIUM_PACKAGES)" >&2; exit 1; fi; \
	$$sudo apt-get update -qq && \
	DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $(CHROMIUM_PACKAGES)
	@test -x $(CHROMIUM) || { echo "error: $(CHROMIUM) is still missing after installing $(CHROMIUM_PACKAGES)" >&2; exit 1; }

test-web: train web-deps web-browser
	$(BIN)/python -m pytest $(wildcard tests/test_web*.py)

screenshots: train web-deps web-browser
	SCREENSHOTS_DIR=$(CURDIR)/docs/img $(BIN)/python -m pytest tests/test_web_browser.py tests/test_console_browser.py \
	  tests/test_console_retrain_browser.py

serve-web: install web-deps
	@. scripts/env.sh && exec $(BIN)/python -m web.serve

# `make run` serves the page, so the widget must be installed first.
run: web-deps

TEST_DEPS += web-deps web-browser
