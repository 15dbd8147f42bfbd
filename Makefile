# MyoSem book: `make book` builds the HTML book, `make test` runs the tests and
# every notebook (quick preset). Both create and fill .venv when needed.
#
#   make book [DATA_DIR=../shared/data/ninapro-db1] [PRESET=book|full|quick (default: book with DATA_DIR, else quick)] [SEED=0] [JOBS=<cores>] [SCHEDULER=tcp://host:8786] [SET="stage2.max_epochs=30 ..."]
#   make test [DATA_DIR=../shared/data/ninapro-db1]

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
TORCH := torch==2.13.0
KERNEL := myosem
STAMP := $(VENV)/.myosem-installed
VENDOR_STAMP := book/_static/vendor/.vendored

DATA_DIR ?=
# the real data builds the book's headline preset (`book`: every row, protocol and seed, sized for 2 cores;
# `full` is the large-budget preset for a GPU or a cluster); the synthetic stand-in of a fresh machine builds
# `quick` (it only shows that everything runs, so it should take minutes, not hours)
PRESET ?= $(if $(DATA_DIR),book,quick)
# a Dask scheduler whose workers run the comparison grid (empty: a local cluster of JOBS workers)
SCHEDULER ?=
# preset values changed for one build, space-separated SECTION.FIELD=VALUE (myosem_core/presets/<PRESET>.yaml)
SET ?=
SEED ?= 0
# notebooks run at once (each after the notebooks it reads) and worker processes of the comparison grid (05/06)
JOBS ?= $(or $(MYOSEM_JOBS),$(shell nproc 2>/dev/null || echo 1))
# make test: real data by default where it lies beside the repository
DEFAULT_DATA_DIR := ../shared/data/ninapro-db1
TEST_DATA_DIR := $(or $(DATA_DIR),$(wildcard $(DEFAULT_DATA_DIR)))

export MYOSEM_RUNS ?= $(CURDIR)/runs
export MYOSEM_CACHE ?= $(CURDIR)/cache
export NUMBA_CACHE_DIR ?= $(CURDIR)/.numba_cache
export MYOSEM_JOBS := $(JOBS)
export MYOSEM_SCHEDULER := $(SCHEDULER)

.PHONY: help install browser vendor execute book check-offline explore test expected clean

help:
	@echo "make book [DATA_DIR=...] [PRESET=book|full|quick]  execute the notebooks and build book/_build/html (book on DATA_DIR, quick on synthetic data)"
	@echo "make test [DATA_DIR=...]                      pytest tests/ + every notebook under nbval (quick preset) + pinned results"
	@echo "make expected                                 pin the results of the last make test (tests/expected_results.json)"
	@echo "make check-offline                             screenshot the built book in headless Chromium, offline (needs chromium)"
	@echo "make explore [DATA_DIR=...] [PORT=8866]        serve notebook 09's retrieval explorer live on localhost (Voila), on the book's runs"
	@echo "make install                                  create .venv and install the package (done by both)"

$(PY):
	$(PYTHON) -m venv $(VENV)

# torch first, pinned: a bare `torch` requirement would pull a CUDA build.
$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet $(TORCH)
	$(PY) -m pip install --quiet -e '.[dev]'
	$(PY) -m ipykernel install --sys-prefix --name $(KERNEL) --display-name "Python (myosem)"
	mkdir -p $(VENV)/etc/jupyter
	echo '{"ServerApp": {"allow_root": true}}' > $(VENV)/etc/jupyter/jupyter_server_config.json
	touch $@

install: $(STAMP)

# the explorer's browser test drives Debian's chromium through its chromedriver (nothing downloads a browser)
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then \
	    if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver; \
	    else echo "make: chromium and chromium-driver are missing; run as root: apt-get install -y chromium chromium-driver" >&2; exit 1; fi; \
	fi

$(VENDOR_STAMP): package.json package-lock.json scripts/vendor_assets.sh
	bash scripts/vendor_assets.sh
	touch $@

vendor: $(VENDOR_STAMP)

execute: $(STAMP)
	$(PY) scripts/execute_notebooks.py --out book/executed --preset $(PRESET) --seed $(SEED) --jobs $(JOBS) \
	    --run-dir $(MYOSEM_RUNS) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(foreach s,$(SET),--set $(s))

# the scale page's tables come from this build: its own notebook times and the benchmarks run here
book: execute $(VENDOR_STAMP)
	$(PY) -m myosem_experiments.report.findings --preset $(PRESET) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) \
	    --runs $(MYOSEM_RUNS) --out book/executed/findings.md
	$(PY) benchmarks/run_all.py --book-page $(if $(DATA_DIR),--data-dir $(DATA_DIR),--synthetic)
	$(VENV)/bin/jupyter-book build . --path-output book -W --keep-going
	$(PY) scripts/check_html.py book/_build/html
	@echo "book: $(CURDIR)/book/_build/html/index.html"

check-offline:
	bash scripts/check_offline_render.sh

PORT ?= 8866
# the explorer reads the runs of the preset `make book` builds on the same data (book on real data, else quick)
EXPLORE_PRESET ?= $(if $(TEST_DATA_DIR),$(if $(filter command line,$(origin PRESET)),$(PRESET),book),quick)
explore: $(STAMP)
	$(PY) scripts/explore.py --preset $(EXPLORE_PRESET) --port $(PORT) $(if $(TEST_DATA_DIR),--data-dir $(TEST_DATA_DIR))

# the pinned numbers are CPU numbers: the tests train on the CPU even where a GPU is present
test: export MYOSEM_DEVICE := $(or $(MYOSEM_DEVICE),cpu)
test: $(STAMP) browser
	$(PY) -m pytest tests/ -n $(JOBS)
	rm -rf build/nbval
	$(PY) scripts/execute_notebooks.py --nbval --out build/nbval --preset quick --seed $(SEED) --jobs $(JOBS) \
	    $(if $(TEST_DATA_DIR),--data-dir $(TEST_DATA_DIR))
	$(if $(TEST_DATA_DIR),$(PY) scripts/expected_results.py check --data-dir $(TEST_DATA_DIR))

# pin the numbers the last `make test` produced (quick preset, seed 0, real data): a deliberate step
expected: $(STAMP)
	$(PY) scripts/expected_results.py update $(if $(TEST_DATA_DIR),--data-dir $(TEST_DATA_DIR))

clean:
	rm -rf book/_build book/executed build
