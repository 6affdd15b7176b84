"""Python values to and from the closure's types, for a guest that reads
JSON itself (suite) and one whose values the host converts (lean): each
result is what the `shipfn` command gives for the same arguments."""

import json

import pytest

import shipfn
from conftest import run_shipfn


def packed(tmp_path, wasm, maker, *args):
    """The package `shipfn pack` writes, and the same made from Python."""
    out = tmp_path / f"{maker}.fnpkg"
    cli = ["pack", str(wasm), "--make", maker, "-o", str(out), "--quiet"]
    for a in args:
        cli += ["--arg", json.dumps(a)]
    result = run_shipfn(*cli)
    assert result.returncode == 0, result.stderr
    return out, shipfn.make(wasm, maker, *args)


def cli_result(package, *args):
    cli = ["run", str(package)]
    for a in args:
        cli += ["--arg", json.dumps(a)]
    result = run_shipfn(*cli)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_std_types_the_host_converts_match_the_command(tmp_path, lean_wasm):
    out, mixer = packed(tmp_path, lean_wasm, "mixer", "lbl", [0.5, 1.5], {"a": 3}, True)
    args = ({"a": 5, "b": 1}, (-3, "é"), [7, 8, 9])
    got = mixer(*args)
    assert got == cli_result(out, *args)
    # A u128 keeps every digit.
    assert got[3] == 2**128 - 1 - 7
    out, keeper = packed(tmp_path, lean_wasm, "keeper", 2)
    assert keeper([1, 5, 3], [None, 7]) == cli_result(out, [1, 5, 3], [None, 7]) == [3, 5, 7]
    with pytest.raises(shipfn.GuestError, match="nothing is at least 2"):
        keeper([1], [])
    out, chooser = packed(tmp_path, lean_wasm, "chooser", 0.25)
    assert chooser({"Ok": 1.5}, b"\x01\x02") == cli_result(out, {"Ok": 1.5}, [1, 2]) == [{"Ok": 3.75}, None]
    assert chooser({"Err": "no"}, bytearray(b"")) == [{"Err": "no!"}, None]


def test_integers_of_128_bits_keep_every_digit_both_ways(tmp_path, lean_wasm):
    offset = -(2**100) - 3
    out, wide = packed(tmp_path, lean_wasm, "wide", offset)
    assert wide.describe()["captures"]["offset"] == offset
    args = (2**128 - 1, -(2**127))
    assert wide(*args) == cli_result(out, *args) == [(2**128 - 1) // 2, -(2**127)]
    assert wide(2**64, 2**70) == [2**63, 2**70 + offset]
    assert wide.map([(2**65 + n, n) for n in range(3)]) == [[2**64 + n // 2, n + offset] for n in range(3)]
    for wrong in [(2**128, 0), (-1, 0), (0, 2**127)]:
        with pytest.raises(shipfn.BadArgs, match="argument [12] `"):
            wide(*wrong)


def test_structs_and_enums_convert_by_the_traced_schema(tmp_path, lean_wasm):
    out, shifter = packed(tmp_path, lean_wasm, "shifter", 2)
    point = {"x": 1, "y": -4}
    assert shifter(point) == cli_result(out, point)
    with pytest.raises(shipfn.BadArgs, match="argument 1"):
        shifter({"x": 1})


def test_a_guest_with_json_takes_the_same_values(tmp_path, suite_wasm):
    out, vectors = packed(tmp_path, suite_wasm, "vectors", [1, 2, 255], [0.5, -1.25])
    from_bytes = shipfn.make(suite_wasm, "vectors", b"\x01\x02\xff", [0.5, -1.25])
    assert from_bytes.describe()["captures"]["bytes"] == [1, 2, 255]
    assert from_bytes(1) == vectors(1) == cli_result(out, 1)
    out, mover = packed(tmp_path, suite_wasm, "mover", {"x": 1.0, "y": 2.0})
    assert mover({"x": 0.5, "y": 0.5}, 2.0) == cli_result(out, {"x": 0.5, "y": 0.5}, 2.0)
    out, describe = packed(tmp_path, suite_wasm, "describe")
    for args in [("s", True, None), ("ab", False, 3)]:
        assert describe(*args) == cli_result(out, *args)


@pytest.mark.parametrize("wasm_fixture, maker, args, rest", [
    ("lean_wasm", "keeper", (1,), ([],)),
    ("suite_wasm", "fib_from", (1,), ()),
])
def test_wrong_counts_types_and_ranges_raise_bad_args_naming_the_parameter(request, wasm_fixture, maker, args, rest):
    f = shipfn.make(request.getfixturevalue(wasm_fixture), maker, *args)
    with pytest.raises(shipfn.BadArgs) as raised:
        f()
    assert isinstance(raised.value, TypeError)
    assert "argument" in str(raised.value)
    for wrong in ["four", 2**70, {1, 2}]:
        with pytest.raises(shipfn.BadArgs, match="argument 1 `"):
            f(wrong, *rest)
    with pytest.raises(shipfn.BadArgs, match="cannot be converted"):
        f({1, 2}, *rest)


def test_an_integer_out_of_its_types_range_is_refused(tmp_path, lean_wasm):
    mixer = shipfn.make(lean_wasm, "mixer", "lbl", [0.5], {}, None)
    with pytest.raises(shipfn.BadArgs, match="argument 3 `dims`"):
        mixer({}, (1, "a"), [70000, 1, 2])
    with pytest.raises(shipfn.BadArgs, match="argument 2 `pair`"):
        mixer({}, (-300, "a"), [1, 1, 2])
    with pytest.raises(shipfn.BadArgs, match="argument 1 `counts`"):
        mixer({"a": -1}, (1, "a"), [1, 1, 2])
