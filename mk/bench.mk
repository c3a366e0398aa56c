# Measurements (bench/): deterministic instruction counts under QEMU -icount.
bench: all
	@$(PYTHON) bench/keel_bench.py
