#!/usr/bin/env bash
# The quick-start demo: set up what is missing, pack the seed closure, and
# run it from another directory. Prints 10.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if [ ! -x target/release/shipfn ]; then
    echo "demo: building shipfn (release). The first build takes about 8 minutes on 2 cores, most of"
    echo "demo: it wasmtime's compilers; later builds take seconds."
fi
cargo build --release --bin shipfn
shipfn="$PWD/target/release/shipfn"
out="$PWD/target/demo"
mkdir -p "$out"

echo "+ shipfn pack examples/closure --make closure_maker --arg 3 -o target/demo/closure.fnpkg"
# (--target-dir shares the guest build, std included, with the test suite.)
"$shipfn" pack examples/closure --make closure_maker --arg 3 -o "$out/closure.fnpkg" --target-dir "$PWD/target/guests"

# The receiver: another directory, and nothing but the binary and the file.
receiver=$(mktemp -d)
trap 'rm -rf "$receiver"' EXIT
cp "$shipfn" "$out/closure.fnpkg" "$receiver/"
echo "+ (cd $receiver && ./shipfn run closure.fnpkg --arg 4)"
(cd "$receiver" && env -i ./shipfn run closure.fnpkg --arg 4)
