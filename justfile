# Recipes for people who have `just`; each wraps a script that works without it.

# Set up the wasm32 toolchain if missing, pack the seed closure, run it (prints 10).
demo:
    scripts/demo.sh

# Formatting, clippy, every test, docs: what CI runs.
test:
    scripts/test.sh

# Install a wasm32 toolchain if none is usable (idempotent).
setup:
    scripts/setup.sh

# shipfn beside cloudpickle on the seed closure: a table of figures and ratios.
bench:
    scripts/bench.sh
