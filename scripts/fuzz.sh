#!/usr/bin/env bash
# Runs the cargo-fuzz targets in fuzz/ from the corpus kept in the repository
# (fuzz/corpus/TARGET, seeded from the golden packages on the first run),
# and prints each target's executions, time and rate.
#
#   scripts/fuzz.sh                         every target, 1 000 000 runs each
#   scripts/fuzz.sh package sealed          those targets
#   RUNS=10000000 scripts/fuzz.sh nats_message
#   scripts/fuzz.sh --minimize TARGET...    shrink the kept corpus (cargo fuzz cmin)
#
# Needs cargo-fuzz (cargo install cargo-fuzz) and a nightly toolchain, or a
# stable one, which is then run with RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-1000000}
ALL=(package sealed json_args nats_message nats_result)

minimize=false
if [ "${1:-}" = "--minimize" ]; then minimize=true; shift; fi
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=("${ALL[@]}")

command -v cargo-fuzz >/dev/null || { echo "fuzz: cargo-fuzz is missing: cargo install cargo-fuzz" >&2; exit 1; }
toolchain=()
if rustup toolchain list 2>/dev/null | grep -q '^nightly'; then toolchain=(+nightly); else export RUSTC_BOOTSTRAP=1; fi

if [ ! -d fuzz/corpus/package ]; then
    cargo run --release -q -p shipfn-fuzz --example seeds -- fuzz/corpus
fi

cd fuzz
# Third-party crypto is built without coverage counters: see the wrapper.
export RUSTC_WRAPPER="$PWD/rustc-wrapper.sh"
cargo "${toolchain[@]}" fuzz build -s none -O
for target in "${targets[@]}"; do
    mkdir -p "corpus/$target"
    if $minimize; then
        cargo "${toolchain[@]}" fuzz cmin -s none -O "$target" "corpus/$target" -- -max_len=65536
        continue
    fi
    log=$(mktemp)
    start=$(date +%s)
    # -s none: the code under test is safe Rust, and wasmtime's signal
    # handlers do not mix with AddressSanitizer's.
    cargo "${toolchain[@]}" fuzz run -s none -O "$target" "corpus/$target" -- \
        -runs="$RUNS" -max_len=65536 -print_final_stats=1 -timeout=10 -rss_limit_mb=4096 >"$log" 2>&1 || {
        tail -40 "$log"
        echo "fuzz: $target FOUND A CRASH (artifacts in fuzz/artifacts/$target)" >&2
        exit 1
    }
    secs=$(( $(date +%s) - start ))
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    echo "fuzz: $target: $runs executions in ${secs} s ($(( runs / (secs > 0 ? secs : 1) ))/s), no crash"
    rm -f "$log"
done
