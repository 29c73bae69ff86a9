# One entry point per job; every target sets the environment up first when needed.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# CPU build of torch, pinned so pip does not pull a multi-GB CUDA build. GPU users: install
# your own torch build into .venv first, then `make setup TORCH=` keeps it.
TORCH ?= torch==2.13.0

.PHONY: setup test lint bench gpu demo clean

setup: $(STAMP)

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(if $(TORCH),$(BIN)/python -m pip install -q "$(TORCH)")
	$(BIN)/python -m pip install -q -e ".[track,report,dev,crosscheck,ray,onnx,dask]"
	touch $(STAMP)

test: setup
	$(BIN)/python -m pytest -q

lint: setup
	$(BIN)/ruff check siambench tests

bench: setup
	$(BIN)/python -m siambench.bench

# issue 9: CUDA equivalence tests and batched GPU throughput (needs an NVIDIA GPU)
gpu:
	bash bench/gpu.sh

demo: setup
	$(BIN)/siambench demo

clean:
	rm -rf $(VENV) build *.egg-info
