"""Struct layouts compiled into _core against wasmtime-py's ctypes description."""

import ctypes

import pytest

from wasmbind import _core

bindings = pytest.importorskip("wasmtime._bindings")

LAYOUT = _core._abi_layout()


def test_layout_shape():
    assert len(LAYOUT) >= 15
    for name, entry in LAYOUT.items():
        assert set(entry) == {"size", "align", "fields"}, name
        assert entry["size"] > 0 and entry["align"] in (1, 2, 4, 8, 16), name
        assert entry["size"] % entry["align"] == 0, name
        assert all(0 <= off < entry["size"] for off in entry["fields"].values()), name


@pytest.mark.parametrize("name", sorted(LAYOUT))
def test_struct_matches_wasmtime_py(name):
    ours = LAYOUT[name]
    theirs = getattr(bindings, name, None)
    if theirs is None:
        pytest.skip("wasmtime._bindings has no %s" % name)
    assert ours["size"] == ctypes.sizeof(theirs), name
    assert ours["align"] == ctypes.alignment(theirs), name
    their_fields = {f[0] for f in theirs._fields_}
    assert set(ours["fields"]) == their_fields, name
    for field, offset in ours["fields"].items():
        assert offset == getattr(theirs, field).offset, "%s.%s" % (name, field)


def test_trap_code_numbering_matches():
    wasmtime = pytest.importorskip("wasmtime")
    from wasmbind import TrapCode
    theirs = {c.name: c.value for c in wasmtime.TrapCode}
    checked = 0
    for code in TrapCode:
        if code.name in theirs:
            assert int(code) == theirs[code.name], code
            checked += 1
    assert checked >= 20
