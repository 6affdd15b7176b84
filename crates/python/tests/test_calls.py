"""Loading, calling, describing and pickling, against the golden vectors
and the `shipfn` command."""

import json
import pickle

import cloudpickle
import pytest

import shipfn
from conftest import GOLDEN, run_shipfn

# The `shipfn` command's exit code of each error class.
CLASSES = {4: shipfn.BadPackage, 5: shipfn.BadArgs, 6: shipfn.GuestError, 7: shipfn.Trap,
           8: shipfn.Timeout, 9: shipfn.ResourceLimit, 11: shipfn.Untrusted}


def test_the_seed_loads_calls_describes_and_pickles(seed_bytes):
    f = shipfn.load(seed_bytes)
    assert f(4) == 10
    assert f(-10) == -4
    assert f.signature == "fn(own_arg: i64) -> i64"
    assert f.made_by == "closure_maker(3)"
    assert f.describe() == {"captures": {"closure_arg": 3}, "globals": {"GLOBAL_ARG": 2}}
    for dumps, loads in [(pickle.dumps, pickle.loads), (cloudpickle.dumps, cloudpickle.loads)]:
        g = loads(dumps(f))
        assert isinstance(g, shipfn.Function)
        assert g(4) == 10
        assert g.package() == seed_bytes
    assert "fn(own_arg: i64) -> i64" in repr(f)


def test_a_path_loads_as_its_bytes_do():
    f = shipfn.load(GOLDEN / "seed-v1.fnpkg")
    assert f(4) == 10
    assert shipfn.load(str(GOLDEN / "seed-v1.fnpkg"))(-10) == -4


def cli_arg(text):
    """An argument as the command line takes it: JSON, or else a string."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def test_every_golden_vector_answers_as_recorded():
    vectors = json.loads((GOLDEN / "vectors.json").read_text())["vectors"]
    # A thin vector names a module that an earlier, full one carried.
    for vector in sorted(vectors, key=lambda v: "module_from" in v):
        trust = [GOLDEN / vector["signed_by"]] if vector["signed_by"] else None
        f = shipfn.load(GOLDEN / vector["file"], trust=trust)
        assert f.signature == vector["signature"], vector["file"]
        for call in vector["calls"]:
            args = [cli_arg(a) for a in call["args"]]
            if "exit" in call:
                with pytest.raises(CLASSES[call["exit"]]) as raised:
                    f(*args)
                assert call["stderr"] in str(raised.value), (vector["file"], str(raised.value))
            else:
                assert f(*args) == json.loads(call["stdout"]), (vector["file"], args)


def test_a_package_signed_by_a_key_not_trusted_is_refused(tmp_path):
    signed = GOLDEN / "checked-div-signed-v1.fnpkg"
    assert run_shipfn("keygen", "-o", str(tmp_path / "other")).returncode == 0
    with pytest.raises(shipfn.Untrusted):
        shipfn.load(signed, trust=[tmp_path / "other.pub"])
    with pytest.raises(shipfn.Untrusted):
        shipfn.load(GOLDEN / "seed-v1.fnpkg", trust=[GOLDEN / "test-key.pub"])
    assert shipfn.load(signed, trust=[(GOLDEN / "test-key.pub").read_text()])(2) == 3


def test_make_gives_the_bytes_shipfn_pack_writes(suite_wasm, tmp_path):
    out = tmp_path / "linear.fnpkg"
    packed = run_shipfn("pack", str(suite_wasm), "--make", "linear", "--arg", "3", "-o", str(out), "--quiet")
    assert packed.returncode == 0, packed.stderr
    f = shipfn.make(suite_wasm, "linear", 3)
    assert f.package() == out.read_bytes()
    assert f(1, 2, 3) == json.loads(run_shipfn("run", str(out), "--arg", "1", "--arg", "2", "--arg", "3").stdout)
    thin = f.package(thin=True)
    assert len(thin) < len(f.package()) // 10
    assert shipfn.load(thin)(1, 2, 3) == f(1, 2, 3)
