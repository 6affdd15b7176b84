#!/usr/bin/env bash
# Makes sure this machine can build shipfn guests for wasm32-unknown-unknown.
# Idempotent: does nothing when a usable toolchain is already there.
#
# Order of preference (the cheapest that works; it says which it took):
#   1. the active rustup toolchain already has the wasm32 target (prebuilt std);
#   2. Debian's rustc-web + rust-web-src + lld-22 are already installed (std is
#      built from source, about a minute per fresh target directory);
#   3. `rustup target add wasm32-unknown-unknown`, if rustup is there: a
#      download of about 30 MB, and the fastest guest builds;
#   4. Debian's packages, installed with apt-get (about 640 MB).
set -euo pipefail

have_prebuilt() {
    local libdir
    libdir=$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null) || return 1
    compgen -G "$libdir/libcore-*" >/dev/null
}

have_debian_toolchain() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && command -v rust-lld >/dev/null &&
        [ -f "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library/std/Cargo.toml" ]
}

if ! command -v cargo >/dev/null; then
    echo "setup: cargo is not on PATH; install Rust (https://rustup.rs) first" >&2
    exit 1
fi

if have_prebuilt; then
    echo "setup: using rustup's wasm32-unknown-unknown target, prebuilt std ($(rustc --version))"
    exit 0
fi
if have_debian_toolchain; then
    echo "setup: using Debian's rustc-web with std built from source ($(/usr/bin/rustc --version))"
    exit 0
fi

if command -v rustup >/dev/null; then
    echo "setup: rustup target add wasm32-unknown-unknown"
    if timeout 300 rustup target add wasm32-unknown-unknown && have_prebuilt; then
        echo "setup: ok: rustup's wasm32 target, prebuilt std ($(rustc --version))"
        exit 0
    fi
    echo "setup: rustup could not add the target; trying Debian's packages" >&2
fi

if command -v apt-get >/dev/null; then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    echo "setup: installing rustc-web rust-web-src lld-22 with apt-get (about 640 MB)"
    if $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq rustc-web rust-web-src lld-22 >/dev/null; then
        if have_debian_toolchain; then
            echo "setup: ok: Debian's rustc-web, std built from source ($(/usr/bin/rustc --version))"
            exit 0
        fi
    fi
fi

echo "setup: could not install a wasm32 toolchain. Install one of:" >&2
echo "  rustup target add wasm32-unknown-unknown" >&2
echo "  apt-get install rustc-web rust-web-src lld-22     (Debian 12)" >&2
exit 1
