#!/usr/bin/env bash
# Checks every lockfile of the project: known advisories (cargo-audit) and the
# licenses, bans and sources of deny.toml (cargo-deny). Fails on any advisory
# of kind vulnerability or unsound; `unmaintained` and other notices only warn.
#
# The advisory database is $SHIPFN_ADVISORY_DB when set (read as it is, no
# network), else cargo-audit's own fetch of the RustSec database.
#
#   scripts/deps.sh              check the project
#   scripts/deps.sh --self-test  prove an advisory fails the check: copy the
#                                database, add one against a crate in our
#                                lockfile, and expect a failure naming it
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh
if [ -z "$CARGO_AUDIT" ] || [ -z "$CARGO_DENY" ]; then
    echo "deps: cargo-audit or cargo-deny is missing; scripts/setup.sh installs both" >&2
    exit 1
fi

lockfiles() {
    echo Cargo.lock
    find examples tests/guests fuzz -name Cargo.lock -not -path '*/target/*' | sort
}

audit() { # audit DB LOCKFILE
    local args=(audit --file "$2" --deny unsound --deny yanked)
    if [ -n "$1" ]; then args+=(--db "$1" --no-fetch --stale); fi
    "$CARGO_AUDIT" "${args[@]}"
}

check() {
    local db="${SHIPFN_ADVISORY_DB:-}" status=0 lock
    if [ -n "$db" ]; then
        [ -d "$db/crates" ] || { echo "deps: SHIPFN_ADVISORY_DB=$db is not an advisory database (no crates/)" >&2; return 1; }
        echo "deps: advisory database $db, snapshot $(cut -d' ' -f2 "$db/SNAPSHOT" 2>/dev/null || echo 'of unknown date')"
    else
        echo "deps: advisory database fetched by cargo-audit (set SHIPFN_ADVISORY_DB to use a local copy)"
    fi
    while read -r lock; do
        echo "deps: $lock"
        if ! cargo metadata --locked --format-version 1 --manifest-path "$(dirname "$lock")/Cargo.toml" >/dev/null 2>&1; then
            echo "deps: $lock is out of date with its Cargo.toml: run \`cargo update --workspace\` in $(dirname "$lock") and commit it" >&2
            status=1
            continue
        fi
        audit "$db" "$lock" || status=1
        "$CARGO_DENY" --locked --log-level error --config deny.toml --manifest-path "$(dirname "$lock")/Cargo.toml" \
            check --hide-inclusion-graph bans licenses sources || status=1
    done < <(lockfiles)
    return $status
}

self_test() {
    local src="${SHIPFN_ADVISORY_DB:-}" tmp out
    if [ -z "$src" ]; then src="${CARGO_HOME:-$HOME/.cargo}/advisory-db"; fi
    [ -d "$src/crates" ] || { echo "deps: no advisory database at $src to copy for the self-test" >&2; return 1; }
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    cp -r "$src" "$tmp/db"
    # An unmaintained notice alone must only warn.
    mkdir -p "$tmp/db/crates/hex"
    cat > "$tmp/db/crates/hex/RUSTSEC-2099-0002.md" <<'ADVISORY'
```toml
[advisory]
id = "RUSTSEC-2099-0002"
package = "hex"
date = "2099-01-01"
url = "https://example.invalid/shipfn-deps-self-test"
informational = "unmaintained"

[versions]
patched = []
```

# A notice injected by shipfn's scripts/deps.sh --self-test

An unmaintained notice warns; it does not fail the check.
ADVISORY
    if ! out=$(SHIPFN_ADVISORY_DB="$tmp/db" check 2>&1) || ! grep -q RUSTSEC-2099-0002 <<<"$out"; then
        echo "$out"
        echo "deps self-test: FAILED: an unmaintained notice should warn, naming RUSTSEC-2099-0002, and pass" >&2
        return 1
    fi
    echo "deps self-test: ok: an unmaintained notice (RUSTSEC-2099-0002, hex) warns and passes"

    # A vulnerability must fail, naming the crate and the advisory.
    mkdir -p "$tmp/db/crates/postcard"
    cat > "$tmp/db/crates/postcard/RUSTSEC-2099-0001.md" <<'ADVISORY'
```toml
[advisory]
id = "RUSTSEC-2099-0001"
package = "postcard"
date = "2099-01-01"
url = "https://example.invalid/shipfn-deps-self-test"
categories = ["memory-corruption"]
keywords = []

[versions]
patched = []
```

# An advisory injected by shipfn's scripts/deps.sh --self-test

Every version of postcard is affected, so the check must fail naming it.
ADVISORY
    if out=$(SHIPFN_ADVISORY_DB="$tmp/db" check 2>&1); then
        echo "$out"
        echo "deps self-test: FAILED: an injected advisory against postcard passed the check" >&2
        return 1
    fi
    if ! grep -qE "^ID: +RUSTSEC-2099-0001" <<<"$out" || ! grep -qE "^Crate: +postcard" <<<"$out"; then
        echo "$out"
        echo "deps self-test: FAILED: the check failed without naming postcard and RUSTSEC-2099-0001" >&2
        return 1
    fi
    echo "deps self-test: ok: an injected advisory (RUSTSEC-2099-0001, postcard) fails the check:"
    grep -m3 -E "^(ID|Crate|error):" <<<"$out" | sed "s/^/  | /"
}

case "${1:-}" in
    "") check ;;
    --self-test) self_test ;;
    *) echo "usage: scripts/deps.sh [--self-test]" >&2; exit 2 ;;
esac
