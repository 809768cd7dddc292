# archviz: two commands do all the set-up on a fresh Debian machine.
#   make demo   installs archviz with its runtime dependencies only and shows it at work
#   make test   installs everything (TensorFlow, the test tools, the browser) and runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP      := $(VENV)/.installed-runtime
TEST_STAMP := $(VENV)/.installed-test
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES      := graphviz
APT_TEST_PACKAGES := graphviz libcairo2 chromium
OUT    ?= out

.PHONY: help setup setup-test system-deps test-deps demo test test-fast bench samples clean

help:
	@echo "make demo       install, then run archviz on a few models (outputs in $(OUT)/)"
	@echo "make test       install, then run the whole test suite"
	@echo "make test-fast  the suite without the slow TensorFlow tests"
	@echo "make bench      speed benchmarks against Keras, tf.profiler and plot_model (prints ratios)"
	@echo "make samples    regenerate examples/output (diagrams and a report)"

setup: system-deps $(STAMP)
setup-test: test-deps $(TEST_STAMP)

# Debian packages, installed only when missing: dot for diagrams; cairo for PNG and PDF charts
# (archviz[charts]); chromium for the browser tests.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi
endef

system-deps:
	$(call apt_install,$(APT_PACKAGES))

test-deps:
	$(call apt_install,$(APT_TEST_PACKAGES))

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# The runtime: archviz and what it needs to summarize, draw and report (no TensorFlow, no test tools).
$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e .
	touch $(STAMP)

# Everything the tests use. tf-keras writes the Keras 2 (tf.keras) files the tests read and keras-hub
# gives the tests real backbones (built from small configs, never with weights); --no-deps keeps the one
# TensorFlow (keras-hub needs regex and tokenizers beside it). torch exports the torchvision ResNets the
# slow ONNX test reads (scripts/make_onnx_fixtures.py); archviz itself never imports it. Use its CPU build
# (a local wheel in pip's find-links, or PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu).
TORCH := torch==2.13.0
$(TEST_STAMP): pyproject.toml | $(VENV)/bin/python
	$(BIN)/pip install -q -e '.[test]'
	$(BIN)/pip install -q --no-deps tf-keras keras-hub regex tokenizers
	$(BIN)/pip install -q $(TORCH)
	touch $(STAMP) $(TEST_STAMP)

demo: setup
	@mkdir -p $(OUT)
	$(BIN)/archviz list 'resnet*'
	$(BIN)/archviz summary resnet34 --depth blocks
	$(BIN)/archviz summary resnet50 --depth stages
	$(BIN)/archviz summary examples/specs/seed004_mini_resnet.toml --depth stages
	$(BIN)/archviz summary resnet152 --format json -o $(OUT)/resnet152.json
	$(BIN)/archviz diagram resnet50 --collapse --macs -o $(OUT)/resnet50.svg
	$(BIN)/archviz diagram resnet20 --depth layers -o $(OUT)/resnet20.pdf
	$(BIN)/archviz report resnet50 -o $(OUT)/resnet50.html
	$(BIN)/archviz compare resnet18 resnet34 resnet50 resnet101 resnet152
	$(BIN)/archviz blocks
	$(BIN)/archviz fit --max-params 1M --max-macs 150M --family cifar --limit 5
	@if $(BIN)/python -c "import tensorflow" 2>/dev/null; then \
	  $(BIN)/archviz export resnet50-keras -o $(OUT)/resnet50.keras && \
	  $(BIN)/archviz summary $(OUT)/resnet50.keras --depth stages; \
	else \
	  echo "(the Keras part of the demo needs TensorFlow: $(BIN)/pip install -e '.[tensorflow]', or make test)"; \
	fi
	@echo "outputs in $(OUT)/: open $(OUT)/resnet50.html in a browser"

# The test command: lint, format, types, then the suite (doctests in the package's docstrings included).
LINTED := archviz tests benchmarks examples scripts
test: setup-test
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)
	$(BIN)/mypy
	$(BIN)/python -m pytest

test-fast: setup-test
	$(BIN)/ruff check $(LINTED)
	$(BIN)/mypy
	$(BIN)/python -m pytest -m "not slow"

bench: setup-test
	$(BIN)/python benchmarks/bench_startup.py
	$(BIN)/python benchmarks/bench_summary.py
	$(BIN)/python benchmarks/bench_pictures.py
	$(BIN)/python benchmarks/bench_keras.py
	$(BIN)/python benchmarks/bench_keras_files.py
	$(BIN)/python benchmarks/bench_fit.py

samples: setup-test
	@mkdir -p examples/output
	$(BIN)/archviz diagram resnet50 -o examples/output/resnet50_blocks.svg
	$(BIN)/archviz diagram resnext50_32x4d -o examples/output/resnext50_32x4d_blocks.svg
	$(BIN)/archviz diagram resnet152 --collapse --macs -o examples/output/resnet152_collapsed.svg
	$(BIN)/archviz diagram resnet34 --depth stages --rankdir LR -o examples/output/resnet34_stages.svg
	$(BIN)/archviz diagram resnet20 --depth layers -o examples/output/resnet20_layers.svg
	$(BIN)/archviz report resnet50 -o examples/output/resnet50_report.html
	$(BIN)/python examples/screenshot.py examples/output/resnet50_report.html examples/output/resnet50_report.png
	$(BIN)/archviz compare resnet18 resnet34 resnet50 resnet101 resnet152 --by-stage -o examples/output/table1_by_stage.svg
	$(BIN)/archviz compare resnet50 resnet50-torchvision resnext50_32x4d wide_resnet50_2 --baseline resnet50 \
	  -o examples/output/resnet50_variants.html

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info .pytest_cache
