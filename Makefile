# Yijian: `make run` starts a demo hub, `make test` runs the whole suite.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000
DATA   ?= data
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test install install-dev system-test-deps lint bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Yijian needs Python 3.11+"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e ".[dev]"
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/yijian demo --host $(HOST) --port $(PORT) --data-dir $(DATA)

# Chromium for the browser tests; a CJK font so the console's and the kiosk's Chinese
# render; espeak-ng and sox for the kiosk's prompts (tools.make_prompts); tesseract
# with its simplified Chinese data to read the kiosk's screens back. From the system's
# package manager when missing.
system-test-deps:
	@if ! command -v chromium >/dev/null 2>&1 || ! fc-list 2>/dev/null | grep -qi "CJK" \
	    || ! command -v espeak-ng >/dev/null 2>&1 || ! command -v sox >/dev/null 2>&1 \
	    || ! command -v tesseract >/dev/null 2>&1 \
	    || ! tesseract --list-langs 2>/dev/null | grep -qx chi_sim; then \
	  echo "installing chromium, fonts-noto-cjk, espeak-ng, sox and tesseract with apt-get"; \
	  $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q -o DPkg::Lock::Timeout=600 \
	    --no-install-recommends chromium fonts-noto-cjk fontconfig \
	    espeak-ng sox tesseract-ocr tesseract-ocr-chi-sim; \
	fi

# lint-imports first: the hub's layers (pyproject's [tool.importlinter], docs/design.md)
test: install-dev system-test-deps
	$(BIN)/lint-imports
	$(BIN)/pytest

lint: install-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy server kiosk_client yijian

bench: install-dev
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) test-artifacts .pytest_cache
