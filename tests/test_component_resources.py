"""Resources: guest-defined (handles with drop() and `with`, own moved into
the guest, borrows), host-defined (a Python class via add_resource), and
handles used after they were dropped or moved refused with a clear error."""

import pytest
from component_build import Blob

from wasmbind import WasmError
from wasmbind.component import ResourceHandle

from support import BUMP_REALLOC_WAT


def test_guest_resource_lifecycle(kitchen):
    api, _, _ = kitchen
    c = api["[constructor]counter"](10)
    assert isinstance(c, ResourceHandle) and c.owned and not c.dropped
    assert api["[method]counter.inc"](c) == 11
    assert api["[method]counter.get"](c) == 11
    assert api.peek_counter(c) == 11          # borrowed: still ours afterwards
    assert api["[method]counter.inc"](c) == 12
    assert api.take_counter(c) == 12          # own: moved into the component
    with pytest.raises(WasmError, match="moved into the component"):
        api.peek_counter(c)
    with pytest.raises(WasmError, match="moved"):
        c.drop()


def test_drop_and_context_manager(kitchen):
    api, _, _ = kitchen
    c = api["[constructor]counter"](1)
    c.drop()
    assert c.dropped and "dropped" in repr(c)
    with pytest.raises(WasmError, match="was dropped"):
        api["[method]counter.get"](c)
    with pytest.raises(WasmError, match="was dropped"):
        c.drop()
    with api["[constructor]counter"](5) as d:
        assert api["[method]counter.get"](d) == 5
    assert d.dropped


def test_wrong_value_for_a_resource(kitchen):
    api, _, _ = kitchen
    with pytest.raises(TypeError, match="ResourceHandle"):
        api.peek_counter(5)


def test_host_defined_resource(kitchen):
    api, _, _ = kitchen
    Blob.closed.clear()
    assert api.via_host_blob(b"abcd") == (4, 4)
    assert api.via_host_blob(b"") == (0, 0)
    # the guest dropped its blobs: wasmbind forgot them and called close()
    assert sorted(Blob.closed) == [b"", b"abcd"]


_LIST_OF_BORROWS = r'''
(component
  (type $r (resource (rep i32)))
  (core func $new (canon resource.new $r))
  (core module $m
    (import "" "new" (func $new (param i32) (result i32)))
%s    (func (export "make") (param i32) (result i32) (call $new (local.get 0)))
    (func (export "sum") (param $p i32) (param $n i32) (result i32)
      (local $s i32)
      (block $done (loop $l
        (br_if $done (i32.eqz (local.get $n)))
        (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $l)))
      (global.set $bump (i32.const 1024))
      (local.get $s))
  )
  (core instance $i (instantiate $m (with "" (instance (export "new" (func $new))))))
  (alias core export $i "memory" (core memory $mem))
  (alias core export $i "cabi_realloc" (core func $realloc))
  (export $rr "r" (type $r))
  (func (export "make") (param "x" u32) (result (own $rr)) (canon lift (core func $i "make")))
  (func (export "sum") (param "xs" (list (borrow $rr))) (result u32)
    (canon lift (core func $i "sum") (memory (core memory $mem)) (realloc (core func $realloc))))
)
''' % BUMP_REALLOC_WAT


def test_handles_inside_lists(engine):
    """Handles inside a list argument (a component of its own resource type
    summing the reps of a list<borrow<r>>): each passed exactly, a list
    reused over many calls, an empty list, and a dropped handle anywhere in
    the list refused before the call."""
    import wasmbind
    from wasmbind.component import Component, Linker
    ex = Linker(engine).instantiate(wasmbind.Store(engine), Component(engine, _LIST_OF_BORROWS)).exports
    hs = [ex.make(i) for i in range(1, 101)]
    assert ex.sum([]) == 0
    for _ in range(300):
        assert ex.sum(hs) == 5050
    assert ex.sum(hs[::-1] + hs[:3]) == 5050 + 6
    hs[50].drop()
    with pytest.raises(wasmbind.WasmError, match="dropped"):
        ex.sum(hs)
    assert ex.sum(hs[:50]) == 50 * 51 // 2
