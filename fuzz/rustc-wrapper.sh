#!/usr/bin/env bash
# RUSTC_WRAPPER for the fuzz build: compiles the third-party crates named in
# UNINSTRUMENTED without libFuzzer's coverage instrumentation, the rest as
# cargo-fuzz asks. The targets call these crates (curve arithmetic and
# hashing under the NATS signatures) but do not fuzz them; their coverage
# counters and comparison hooks made each signature check about 5 times
# slower. What the targets check is unchanged: the same code runs, only
# without counters.
UNINSTRUMENTED=" curve25519_dalek ed25519_dalek sha2 "
rustc=$1
shift
crate=""
prev=""
for arg in "$@"; do
    if [ "$prev" = "--crate-name" ]; then crate=$arg; break; fi
    prev=$arg
done
if [ -z "$crate" ] || [[ "$UNINSTRUMENTED" != *" $crate "* ]]; then
    exec "$rustc" "$@"
fi
args=()
for arg in "$@"; do
    case "$arg" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) ;;
        *) args+=("$arg") ;;
    esac
done
exec "$rustc" "${args[@]}"
