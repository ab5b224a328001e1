# Everything a fresh Debian machine with Python 3.11 needs goes through these targets.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.ra-desktop-installed

.PHONY: setup sysdeps run test bench demo-model installer installer-test screenshots clean

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $(STAMP)

sysdeps:
	bash scripts/install-sysdeps.sh

setup: $(STAMP) sysdeps

# Opens the workstation on the bundled demo cases.
run: setup
	$(PY) main.py resources/demo

# Two workers, one test file each at a time (module fixtures are built once); one BLAS/OpenMP thread
# each, so two workers do not fight over two cores. `pytest` alone still runs everything serially.
TEST_WORKERS ?= 2
test: setup
	QT_QPA_PLATFORM=offscreen OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadfile
	$(VENV)/bin/lint-imports

bench: setup
	QT_QPA_PLATFORM=offscreen $(PY) -m bench

screenshots: setup
	$(PY) scripts/screenshots.py --out screenshots

clean:
	rm -rf build dist .pytest_cache

# --- Offline installer (installer/README.md). Slow (minutes) and large: not part of `make test`
# or CI. The CPU variant builds in its own environment (.venv-cpu, created on first use).
.PHONY: installer-cpu installer-full installer-test-full
installer: installer-cpu

installer-cpu:
	bash scripts/build_installer.sh cpu

installer-full: $(STAMP)
	bash scripts/build_installer.sh full

installer-test: sysdeps
	bash scripts/installer_test.sh cpu

# The full (CUDA) variant, tested the same way (~4 GB unpacked, ~15 min): run before a release.
installer-test-full: setup
	bash scripts/installer_test.sh full
