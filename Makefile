# cnnc — the whole path in a few targets. Every target works on a fresh clone.
PY      := .venv/bin/python
STAMP   := .venv/.installed
OUT     ?= out
JOBS    ?= 2
FUZZ_SECONDS ?= 60

.PHONY: setup demo test test-fast bench lint format asan fuzz cross clean

# Create .venv and install cnnc (editable) with its test, plot and dev extras.
setup: $(STAMP)
$(STAMP): pyproject.toml
	python3 -m venv .venv
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test,plot,dev]'
	touch $(STAMP)

# Train the three digit models, compile them (float32, int8, binary), build, verify, print the tables.
demo: $(STAMP)
	bash scripts/demo.sh $(OUT)

# The whole test suite (includes ARM tests under qemu-user when the toolchains are installed).
# (one BLAS thread per worker: two workers with two OpenBLAS threads each oversubscribe 2 cores)
test: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) -q tests

# The suite without the slow training and ARM tests.
test-fast: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) -q -m "not slow and not arm" tests

# Benchmarks: each script prints a table (medians of several runs, ratios to a baseline).
bench: $(STAMP)
	for b in bench/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

C_SOURCES = $(shell git ls-files 'runtime_c/*.c' 'runtime_c/*.h')

# Lint Python with ruff and check formatting; check the C runtime against .clang-format.
lint: $(STAMP)
	$(PY) -m ruff check compiler models tests bench fuzz
	$(PY) -m ruff format --check compiler models tests bench fuzz
	clang-format --dry-run --Werror $(C_SOURCES)

# Reformat Python sources and the C runtime.
format: $(STAMP)
	$(PY) -m ruff format compiler models tests bench fuzz
	clang-format -i $(C_SOURCES)

# Runtime kernel tests again with the C built under AddressSanitizer and UBSan, then whole
# generated models (float32, int8, binary: init and run on ordinary and hostile inputs),
# where a UBSan report stops the run (halt_on_error) instead of scrolling past.
# (the sanitizer runtime must be loaded before Python dlopens an instrumented library)
ASAN_ENV := CNNC_SANITIZE=1 LD_PRELOAD=$$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0
asan: $(STAMP)
	$(ASAN_ENV) $(PY) -m pytest -q -p no:xdist tests/runtime
	$(ASAN_ENV) UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		$(PY) -m pytest -q -p no:xdist tests/fuzz/test_sanitized_models.py

# libFuzzer (clang, ASan + UBSan) on the blob reader and on init+run of an int8 model (also
# built -DCNNC_MODEL_ANY_WEIGHTS) and a binary model compiled at fuzz time, FUZZ_SECONDS per
# target (4 targets); seeds in fuzz/corpus/, findings in
# build/fuzz/findings/ (needs clang and libclang-rt-14-dev). See docs/robustness.md.
fuzz: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) fuzz/fuzz.py --seconds $(FUZZ_SECONDS)

# ARM tests only (needs gcc-aarch64-linux-gnu, gcc-arm-linux-gnueabihf, qemu-user).
cross: $(STAMP)
	OPENBLAS_NUM_THREADS=1 $(PY) -m pytest -n $(JOBS) -q -m arm tests

# Remove build outputs and caches (keeps .venv).
clean:
	rm -rf $(OUT) build dist .cnnc_cache .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
