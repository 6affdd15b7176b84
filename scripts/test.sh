#!/usr/bin/env bash
# Everything a reviewer would run: setup, formatting, lints, all tests, docs.
# This is the README's test command; .ci/run calls it.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --python

step() { echo; echo "=== $*"; }

step "cargo fmt --check (workspace and guest crates)"
cargo fmt --all --check
for guest in examples/*/ tests/guests/*/; do
    cargo fmt --check --manifest-path "$guest/Cargo.toml"
done

step "dependencies: advisories, licenses, bans, sources (scripts/deps.sh)"
scripts/deps.sh
scripts/deps.sh --self-test

step "cargo clippy -D warnings"
cargo clippy --release --workspace --all-targets --quiet -- -D warnings

step "cargo test"
cargo test --release --workspace

step "Python: pytest crates/python/tests (shipfn for Python, Dask, Ray)"
.venv/bin/python3 -m pytest -q crates/python/tests

step "cargo doc"
RUSTDOCFLAGS="-D warnings" cargo doc --release --workspace --no-deps --quiet
