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
    """A guest crate of the repository, built for wasm32 as `shipfn pack`
    builds it (no toolchain: a failure)."""
    import shipfn

    return shipfn.build(REPO / relative, target_dir=REPO / "target" / "python-guests")


@pytest.fixture(scope="session")
def suite_wasm() -> pathlib.Path:
    return build_guest("tests/guests/suite")


@pytest.fixture(scope="session")
def lean_wasm() -> pathlib.Path:
    return build_guest("tests/guests/lean")


@pytest.fixture(scope="session")
def seed_bytes() -> bytes:
    return (GOLDEN / "seed-abi8-v3.fnpkg").read_bytes()
