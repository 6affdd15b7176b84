"""Fixtures for the Python tests: real guests built to wasm, the real
`shipfn` binary as the reference, and a module cache of the session's own."""

import os
import pathlib
import subprocess
import tempfile

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]
GOLDEN = REPO / "tests" / "golden"

# Before shipfn makes its host: a cache directory of this session's alone,
# inherited by the worker processes the tests start.
os.environ.setdefault("SHIPFN_CACHE_DIR", tempfile.mkdtemp(prefix="shipfn-pytest-cache-"))


def shipfn_binary() -> pathlib.Path:
    binary = REPO / "target" / "release" / "shipfn"
    if not binary.is_file():
        raise RuntimeError(f"{binary} is missing: run `cargo build --release --bin shipfn` first")
    return binary


def run_shipfn(*args: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    return subprocess.run([str(shipfn_binary()), *args], capture_output=True, text=True, cwd=cwd, env=env)


def build_guest(relative: str) -> pathlib.Path:
    """A guest crate of the repository, built for wasm32 (no toolchain: a failure)."""
    crate = REPO / relative
    target = REPO / "target" / "python-guests"
    out = subprocess.run(
        ["cargo", "build", "--quiet", "--release", "--target", "wasm32-unknown-unknown",
         "--manifest-path", str(crate / "Cargo.toml"), "--target-dir", str(target)],
        capture_output=True, text=True,
    )
    if out.returncode != 0:
        raise RuntimeError(f"building {relative} for wasm32 failed:\n{out.stderr}")
    name = crate.name.replace("-", "_")
    return target / "wasm32-unknown-unknown" / "release" / f"{name}.wasm"


@pytest.fixture(scope="session")
def suite_wasm() -> pathlib.Path:
    return build_guest("tests/guests/suite")


@pytest.fixture(scope="session")
def lean_wasm() -> pathlib.Path:
    return build_guest("tests/guests/lean")


@pytest.fixture(scope="session")
def seed_bytes() -> bytes:
    return (GOLDEN / "seed-abi8-v3.fnpkg").read_bytes()
