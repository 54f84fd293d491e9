# Two commands do all the set-up on a fresh machine with Python 3.11+ and git:
#   make demo   create .venv, install the package, run the main example
#   make test   the same set-up, then the whole test suite (and the type check)
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test docs fuzz bench clean

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "tinygrad_edu needs Python 3.11 or newer; set PYTHON=python3.11 (or newer)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev,render,examples]'
	@touch $(STAMP)

demo: $(STAMP)
	$(PY) examples/article_network.py

test: $(STAMP)
	$(PY) -m pytest tinygrad_edu tests README.md docs
	$(PY) -m mypy

# The fuzzer's big profile (make test runs the small one), with its counts at the end
fuzz: $(STAMP)
	TG_FUZZ=big TG_FUZZ_REPORT=1 $(PY) -m pytest tests/test_fuzz.py -q -s

# The documentation site, built into site/ (open site/index.html from disk: no server or network needed)
docs: $(STAMP)
	$(PY) -m pip install --quiet -e '.[docs]'
	$(PY) -m mkdocs build --strict

# Speed comparisons (not part of the test suite): installs micrograd and the CPU wheel of torch 2.13.0
bench: $(STAMP)
	$(PY) -m pip install --quiet -e '.[bench]'
	-$(PY) -m pip install --quiet torch==2.13.0
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) build site *.egg-info
