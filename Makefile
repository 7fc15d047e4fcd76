# micropython-wip: `make demo` and `make test` are all a fresh machine needs.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: install test test-sim test-driver test-mpy lint demo bench mpy fuzz stress sim clean micropython-x86

$(STAMP): requirements-dev.txt tools/install_system_deps.sh
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	bash tools/install_system_deps.sh
	touch $@

install: $(STAMP)

## Every suite: lint, simulator conformance, driver on CPython, driver on the MicroPython unix port.
test: install lint
	$(PY) -m pytest -q -p no:cacheprovider host_tests

test-sim: install
	$(PY) -m pytest -q host_tests/sim

test-driver: install
	$(PY) -m pytest -q host_tests/driver

test-mpy: install
	$(PY) -m pytest -q host_tests/test_mpy_suite.py

lint: install
	$(VENV)/bin/ruff check .

## The example sensor app on the MicroPython unix port against the simulator.
demo: install
	$(PY) tools/demo.py

## Benchmarks: prints codec ratio, heap cost, goodput.
bench: install
	$(PY) tools/bench.py

## A 32-bit unix port (MicroPython source from MICROPY_SRC, MICROPY_GIT or GitHub): `make bench`
## then also prints the heap figures with the boards' pointer size.
micropython-x86:
	bash tools/build_micropython_x86.sh

## Cross-compile the driver for every supported arch into build/mpy/<arch>/.
mpy: install
	$(PY) tools/build_mpy.py

## Long fuzzing run (CI runs a shorter one inside `make test`).
fuzz: install
	WIP_FUZZ_EXAMPLES=200000 $(PY) -m pytest -q host_tests -k fuzz

## The driver suite (load test included) at a 20 ms guard with every core kept busy.
stress: install
	WIP_GUARD=0.02 $(PY) tools/stress.py -- $(PY) -m pytest -q -p no:cacheprovider host_tests/driver

## Run the simulator by hand on a TCP port.
sim: install
	$(PY) -m tools.wipsim --tcp 127.0.0.1:7000 --control 127.0.0.1:7001

clean:
	rm -rf build .pytest_cache .hypothesis
