# archviz: two commands do all the set-up on a fresh Debian machine.
#   make demo   installs everything and shows archviz at work
#   make test   installs everything and runs the test suite
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
APT_PACKAGES := graphviz
OUT    ?= out

.PHONY: help setup system-deps demo test test-fast bench clean

help:
	@echo "make demo       install, then run archviz on a few models (outputs in $(OUT)/)"
	@echo "make test       install, then run the whole test suite"
	@echo "make test-fast  the suite without the slow TensorFlow tests"
	@echo "make bench      speed benchmarks against Keras (prints ratios)"

setup: system-deps $(STAMP)

# Debian packages the project needs (dot for diagrams), installed only when missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

demo: setup
	@mkdir -p $(OUT)
	$(BIN)/archviz list 'resnet*'
	$(BIN)/archviz summary resnet34 --depth blocks
	$(BIN)/archviz summary resnet50 --depth stages
	$(BIN)/archviz summary examples/specs/seed004_mini_resnet.toml --depth stages
	$(BIN)/archviz summary resnet152 --format json -o $(OUT)/resnet152.json

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow"

bench: setup
	$(BIN)/python benchmarks/bench_summary.py

clean:
	rm -rf $(VENV) $(OUT) build *.egg-info .pytest_cache
