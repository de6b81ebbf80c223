# The two commands a fresh machine needs: `make run` and `make test`.
# Each creates .venv and installs what it needs; nothing is installed by hand.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8080

CHROMIUM := /usr/bin/chromium
NGINX := /usr/sbin/nginx
# Chinese, Japanese and Korean on the plaques (Droid Sans Fallback, Apache 2.0).
CJK_FONT := /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf

.PHONY: run test test-fast lint check clean bench lighthouse

# Reinstall only when the project's packaging changes.
$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(BIN)/.installed-test: $(BIN)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

# Narration that fails to build (Google busy, say) must not keep the tour offline:
# the pages say when a stop has no audio yet. QR codes are written only for a public
# base URL: the bundled tour's placeholder (penyengat.example) is refused, and the
# tour is served without them.
run: $(BIN)/.installed
	$(BIN)/tour check
	$(BIN)/tour audio --engine auto || echo "Some narration was not built; serving what there is."
	$(BIN)/tour photos || echo "Some photos were not built; serving the pages without them."
	$(BIN)/tour qr || echo "No QR codes written (see above); serving the tour without them."
	$(BIN)/tour serve --host $(HOST) --port $(PORT)

lint: $(BIN)/.installed-test
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict tour tests $(wildcard scripts/*.py)
	$(BIN)/lint-imports --no-cache

# The browser tests drive Debian's Chromium (Playwright downloads no browser of its own);
# the deployment tests start Debian's nginx.
$(CHROMIUM) $(NGINX):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's chromium and nginx for the browser and deployment tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium nginx >/dev/null; \
	else \
		echo "The tests need Debian's chromium and nginx: run 'sudo apt-get install chromium nginx'" >&2; \
		exit 1; \
	fi

# The plaques embed a CJK font only for tours with Chinese, Japanese or Korean names.
$(CJK_FONT):
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "Installing Debian's fonts-droid-fallback for plaques in Chinese"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends fonts-droid-fallback >/dev/null; \
	else \
		echo "Plaques in Chinese need Debian's fonts-droid-fallback: run" \
			"'sudo apt-get install fonts-droid-fallback'" >&2; \
		exit 1; \
	fi

# Two workers, one per core: most tests wait on a browser, a server or a subprocess.
# Each module stays on one worker, so its module-scoped server starts once.
test: lint $(CHROMIUM) $(NGINX) $(CJK_FONT)
	$(BIN)/python -m pytest -n 2 --dist loadscope

# The edit loop: every test but those driving Chromium or nginx and the minute-long crash
# test (markers browser, nginx, slow; see pyproject.toml). `make test` runs them all.
test-fast: $(BIN)/.installed-test $(CJK_FONT)
	$(BIN)/python -m pytest -n 2 --dist loadscope -m "not browser and not nginx and not slow"

# Throughput of a QR scan: tour serve against bare aiohttp and nginx, driven by wrk;
# tap-to-sound in Chromium on a throttled link, with and without the service worker.
bench: $(BIN)/.installed-test $(CHROMIUM)
	@command -v wrk >/dev/null && command -v nginx >/dev/null || { \
		[ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk nginx >/dev/null; } || { \
		echo "make bench needs wrk and nginx: run 'sudo apt-get install wrk nginx'" >&2; exit 1; }
	$(BIN)/python scripts/bench_audio.py
	$(BIN)/python scripts/bench_pages.py
	$(BIN)/python scripts/bench_export.py
	$(BIN)/python scripts/bench_weaklink.py

# Lighthouse scores (performance, accessibility, best practices, SEO) in Debian's Chromium.
lighthouse: $(BIN)/.installed-test $(CHROMIUM)
	@command -v npm >/dev/null || { [ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null; }
	$(BIN)/python scripts/lighthouse.py

check: $(BIN)/.installed
	$(BIN)/tour check

clean:
	rm -rf $(VENV) build dist .mypy_cache .pytest_cache .ruff_cache .tools
