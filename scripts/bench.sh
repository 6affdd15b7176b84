#!/usr/bin/env bash
# shipfn beside cloudpickle on the seed closure: installs what it needs
# (a wasm32 toolchain, cloudpickle from PyPI), runs both in one go, and
# prints a table of figures, targets and ratios; then the same for a closure
# capturing 100 MiB; then `shipfn map` on this machine's cores and through
# a NATS server with two workers (started and stopped by the bench); then
# shipfn from Python beside plain Python, cloudpickle and Dask.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --python
# cloudpickle goes into the project's virtual environment (setup.sh makes it),
# whose python3 the benches then run.
[ -x .venv/bin/pip ] || python3 -m venv .venv
if [ "$(.venv/bin/python3 -c 'import cloudpickle; print(cloudpickle.__version__)' 2>/dev/null)" != 3.1.2 ]; then
    .venv/bin/pip install --quiet --disable-pip-version-check 'cloudpickle==3.1.2'
fi
export PATH="$PWD/.venv/bin:$PATH"
cargo build --release --bin shipfn
cargo bench -p shipfn-host --bench compare
echo
cargo bench -p shipfn-cluster --bench map
echo
cargo run --quiet --release -p shipfn-host --example big_state -- 100
echo
# shipfn from Python: a new closure, one call, and a map on Dask.
.venv/bin/python3 crates/python/bench/bench.py
