# The two commands: `make run` (execute every notebook) and `make test` (lint, unit tests, nbval).
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
FAST   ?= 0
BUILD  ?= build

export TF_CPP_MIN_LOG_LEVEL ?= 2
export PYTHONUNBUFFERED = 1

# apt-get needs root: CI runs as root, or has password-less sudo (only CI installs anything system-wide).
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)
# The kernel the notebooks name in their metadata, registered by `make lab` for this environment.
KERNEL := rnn-course

.PHONY: venv run test unit nbval lint lab refresh sources clean test-latest site site-test student new-notebook lock links

$(VENV)/.installed: requirements.txt constraints.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -c constraints.txt
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

## make run [FAST=1]: execute every notebook headlessly into build/ (ipynb + html + index.html)
run: venv
	RNN_FAST=$(FAST) $(PY) tools/run_notebooks.py --out $(BUILD)

## make test: ruff, unit tests and nbval on every notebook (fast mode), then the site in a real browser
test: venv lint unit nbval site-test

## make lint: ruff on the code and the notebooks, and no volatile metadata or machine path in a notebook
## (the same checks as .pre-commit-config.yaml)
lint: venv
	$(PY) -m ruff check $(wildcard utils tests tools benchmarks notebooks)
	$(PY) tools/clean_notebooks.py --check notebooks/*.ipynb

unit: venv
	RNN_FAST=1 $(PY) -m pytest tests --ignore=tests/site

nbval: venv
	@ls notebooks/*.ipynb >/dev/null 2>&1 || { echo "no notebooks found in notebooks/"; exit 1; }
	# A fresh, empty artifacts folder: no notebook can lean on files another one left behind.
	RNN_FAST=1 RNN_ARTIFACTS_DIR=$$(mktemp -d) $(PY) -m pytest -p no:cacheprovider --nbval-lax --nbval-cell-timeout=900 \
		--nbval-kernel-name python3 \
		--nbval-sanitize-with tests/nbval_sanitize.cfg notebooks/

## make site [STUDENT=1]: the course website from the committed (full-mode) notebooks -> build/site/index.html,
## works offline; STUDENT=1: without the exercises' solutions (nor the instructor's guide) -> build/site-student/
site: venv
	$(PY) tools/build_site.py $(if $(filter 1,$(STUDENT)),--student --out $(BUILD)/site-student,--out $(BUILD)/site)

## make site-test: build the site and walk it in headless Chromium; screenshots in build/screenshots/. On a learner's
## machine it needs no root: without chromium and chromedriver it says so and skips. In CI (CI=true) they are
## installed when missing (Debian packages), and their absence is a failure.
site-test: venv
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
		if [ "$${CI:-}" != true ]; then \
			echo "make site-test: skipped, chromium and chromedriver are not installed (Debian/Ubuntu:"; \
			echo "  sudo apt-get install chromium chromium-driver; then run make site-test again)"; \
			exit 0; \
		fi; \
		echo "CI: installing chromium and chromium-driver (Debian packages) for the browser test"; \
		$(SUDO) apt-get update -qq && \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium chromium-driver \
			|| { echo "CI: the browser test needs chromium and chromedriver, and they could not be installed"; exit 1; }; \
	fi; \
	$(PY) -m pytest -p no:cacheprovider tests/site

## make student: exercises without solutions (and without outputs) for students -> build/student/
student: venv
	$(PY) tools/export_student.py --out $(BUILD)/student

## make lab: register this environment as the Jupyter kernel the notebooks name ("Python 3 (RNN course)", also
## seen by a global Jupyter or VS Code), then open JupyterLab on notebooks/ (as root too, e.g. in Docker)
lab: venv
	$(PY) -m ipykernel install --user --name $(KERNEL) --display-name "Python 3 (RNN course)"
	$(VENV)/bin/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) notebooks/

## make refresh [NOTEBOOKS=notebooks/NN_x.ipynb ...]: re-execute notebooks in place in full mode (maintainers:
## regenerates committed outputs; all notebooks by default), record both modes' run times (whole and per cell),
## stamp "the next cell takes about N min" notes above long cells, regenerate the syllabus
NOTEBOOKS ?=
refresh: venv
	RNN_FAST=0 $(PY) tools/run_notebooks.py --out $(BUILD) --inplace $(NOTEBOOKS)
	RNN_FAST=1 $(PY) tools/run_notebooks.py --out $(BUILD)/fast --record-time $(NOTEBOOKS)
	$(PY) tools/cell_times.py --write $(NOTEBOOKS)
	$(PY) tools/syllabus.py --write
	$(PY) tools/showcase.py --write
	$(PY) tools/results.py --write

## make new-notebook NAME=08_my_topic: a new notebook in the course's shape, executed, in the syllabus and on the site
new-notebook: venv
	@test -n "$(NAME)" || { echo "usage: make new-notebook NAME=08_my_topic"; exit 2; }
	$(PY) tools/new_notebook.py $(NAME)

## make sources: refresh only the displayed utils code (show_source cells) after a utils change, no re-run
sources: venv
	$(PY) tools/refresh_sources.py notebooks/*.ipynb

## make links [REPO=https://github.com/OWNER/NAME]: write the course's address into pyproject.toml (when given) and
## stamp it into every notebook's set-up cell and Colab/Kaggle/download links and into the README (tools/links.py)
links: venv
	$(PY) tools/links.py $(if $(REPO),--repo "$(REPO)")

## make lock: resolve requirements.txt's ranges afresh (newest allowed releases) and pin every package in
## constraints.txt; then run `make test` before committing the new lock
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -r requirements.txt
	{ sed -n '1,2p' constraints.txt; .venv-lock/bin/python -m pip freeze --all --exclude-editable | grep -v '^pip=='; } > constraints.txt.new
	mv constraints.txt.new constraints.txt && rm -rf .venv-lock

## make test-latest: the whole suite against the newest releases allowed by requirements' lower bounds
## (not part of CI: run it on a schedule to find an upgrade that breaks a notebook before a learner does)
test-latest:
	rm -rf .venv-latest && $(PYTHON) -m venv .venv-latest
	sed -E 's/~=/>=/' requirements.txt > .venv-latest/requirements-latest.txt
	.venv-latest/bin/python -m pip install --quiet --upgrade pip
	.venv-latest/bin/python -m pip install --quiet --upgrade -r .venv-latest/requirements-latest.txt
	.venv-latest/bin/python -m pip install --quiet --no-deps -e .
	touch .venv-latest/.installed
	.venv-latest/bin/python -m pip list --format=freeze | grep -iE '^(tensorflow|keras|numpy|pandas|matplotlib|nbval)=='
	$(MAKE) lint unit nbval PY=.venv-latest/bin/python VENV=.venv-latest

clean:
	rm -rf $(BUILD)
