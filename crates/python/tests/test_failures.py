"""A package that panics, loops, eats memory, is corrupt or is untrusted
raises its class, and the interpreter goes on."""

import pytest

import shipfn
from conftest import GOLDEN


def test_a_panic_is_a_trap_with_its_message(suite_wasm):
    f = shipfn.make(suite_wasm, "panicky")
    with pytest.raises(shipfn.Trap, match="x was 1"):
        f(1)
    assert f(-1) == -1


def test_a_loop_times_out_and_the_next_call_works(suite_wasm, seed_bytes):
    spin = shipfn.make(suite_wasm, "spin", timeout=0.5)
    for _ in range(2):
        with pytest.raises(shipfn.Timeout):
            spin()
    fueled = shipfn.make(suite_wasm, "spin", fuel=100_000)
    with pytest.raises(shipfn.Timeout, match="fuel"):
        fueled()
    assert shipfn.load(seed_bytes, timeout=0.5)(4) == 10


def test_memory_beyond_the_limit_is_a_resource_limit(suite_wasm):
    bomb = shipfn.make(suite_wasm, "memory_bomb", max_memory=64 << 20)
    with pytest.raises(shipfn.ResourceLimit):
        bomb()


@pytest.mark.parametrize("cut", [0, 7, 100, -1])
def test_a_corrupt_package_is_a_bad_package(seed_bytes, cut):
    broken = bytearray(seed_bytes[:cut] if cut >= 0 else seed_bytes)
    if cut < 0:
        broken[len(broken) // 2] ^= 0xFF
    with pytest.raises(shipfn.BadPackage):
        shipfn.load(bytes(broken))


def test_bad_options_are_bad_args(seed_bytes):
    with pytest.raises(shipfn.BadArgs, match="timeout"):
        shipfn.load(seed_bytes, timeout=-1)
    with pytest.raises(shipfn.BadArgs, match="32"):
        shipfn.load(seed_bytes, trust=[b"short"])
    with pytest.raises(shipfn.BadArgs, match="max_memory"):
        shipfn.load(seed_bytes, max_memory=1 << 40)
    with pytest.raises(FileNotFoundError):
        shipfn.load(GOLDEN / "no-such.fnpkg")


def test_errors_share_one_base_class():
    for cls in [shipfn.BadPackage, shipfn.Untrusted, shipfn.BadArgs, shipfn.GuestError, shipfn.Trap,
                shipfn.Timeout, shipfn.ResourceLimit]:
        assert issubclass(cls, shipfn.Error)


def test_building_a_directory_that_is_not_a_crate_says_so(tmp_path):
    with pytest.raises(shipfn.Error, match="Cargo.toml"):
        shipfn.build(tmp_path)
