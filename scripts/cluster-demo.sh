#!/usr/bin/env bash
# Scale-out on one machine: a NATS JetStream server on a free loopback port,
# two `shipfn worker`s, and a `shipfn map` of 10 000 inputs through them.
# Everything it starts is stopped when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo build --release --bin shipfn
shipfn="$PWD/target/release/shipfn"
nats_server=$(cat target/nats-server-path)
work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
url="nats://127.0.0.1:$port"
echo "+ nats-server --jetstream --store_dir $work/js --addr 127.0.0.1 --port $port"
"$nats_server" --jetstream --store_dir "$work/js" --addr 127.0.0.1 --port "$port" >"$work/nats.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    sleep 0.1
done

for n in 1 2; do
    echo "+ shipfn worker --nats $url    # worker $n"
    "$shipfn" worker --nats "$url" --cache-dir "$work/cache-$n" 2>"$work/worker-$n.log" &
    pids+=($!)
done

echo "+ shipfn pack examples/closure --make closure_maker --arg 3 -o closure.fnpkg"
"$shipfn" pack examples/closure --make closure_maker --arg 3 -o "$work/closure.fnpkg" \
    --target-dir "$PWD/target/guests" -q
seq 0 9999 | sed 's/.*/[&]/' >"$work/inputs.jsonl"
echo "+ shipfn map closure.fnpkg --input inputs.jsonl -o results.jsonl --nats $url"
"$shipfn" map "$work/closure.fnpkg" --input "$work/inputs.jsonl" -o "$work/results.jsonl" --nats "$url"
echo "+ head -3 results.jsonl; tail -1 results.jsonl"
head -3 "$work/results.jsonl"
tail -1 "$work/results.jsonl"
