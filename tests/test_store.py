"""Store: construction, close, context manager, gc, repr."""

import pytest

import wasmbind
from wasmbind import Instance, Module, Store, StoreClosedError

F = '(module (func (export "f") (result i32) i32.const 7))'


def test_store_uses_given_engine(engine):
    s = Store(engine)
    assert s.engine is engine
    assert s.release_gil is False
    assert Store(engine, release_gil=True).release_gil is True


def test_store_accepts_store_as_engine_source(engine):
    s = Store(engine)
    assert Store(s).engine is engine


def test_store_rejects_non_engine():
    with pytest.raises(TypeError):
        Store("engine")


def test_close_and_closed(engine):
    s = Store(engine)
    inst = Instance(s, Module(engine, F))
    assert not s.closed
    assert "open" in repr(s)
    s.close()
    assert s.closed
    assert "closed" in repr(s)
    with pytest.raises(StoreClosedError):
        inst.exports.f()
    s.close()  # idempotent
    assert s.closed


def test_context_manager(engine):
    with Store(engine) as s:
        inst = Instance(s, Module(engine, F))
        assert inst.exports.f() == 7
    assert s.closed
    with pytest.raises(StoreClosedError):
        inst.exports.f()


def test_context_manager_closes_on_exception(engine):
    with pytest.raises(ZeroDivisionError):
        with Store(engine) as s:
            1 / 0
    assert s.closed


def test_enter_closed_store_raises(engine):
    s = Store(engine)
    s.close()
    with pytest.raises(StoreClosedError):
        with s:
            pass


def test_store_closed_error_is_value_error():
    assert issubclass(StoreClosedError, ValueError)
    assert issubclass(StoreClosedError, wasmbind.WasmError)


def test_gc_runs(store, make):
    inst = make('(module (global (export "g") (mut externref) (ref.null extern)))')
    payload = object()
    inst.exports.g.value = payload
    store.gc()
    assert inst.exports.g.value is payload
    store.close()
    with pytest.raises(StoreClosedError):
        store.gc()


def test_store_init_twice(engine):
    s = Store(engine)
    with pytest.raises(wasmbind.WasmError):
        s.__init__(engine)


def test_uninitialized_store_errors():
    s = Store.__new__(Store)
    with pytest.raises(wasmbind.WasmError):
        Instance(s, Module(None, F))
    assert "closed" in repr(s)


def test_objects_from_two_stores_do_not_mix(engine):
    s1, s2 = Store(engine), Store(engine)
    f1 = Instance(s1, Module(engine, F)).exports.f
    m = Module(engine, '(module (import "m" "f" (func (result i32))))')
    with pytest.raises(ValueError):
        Instance(s2, m, [f1])


def test_close_during_call_refused(store, engine):
    seen = []

    def host():
        with pytest.raises(wasmbind.WasmError) as info:
            store.close()
        seen.append(info.value)
        return 1

    inst = Instance(store, Module(engine, '(module (import "m" "h" (func $h (result i32)))'
                                          ' (func (export "f") (result i32) call $h))'), [host])
    assert inst.exports.f() == 1
    assert len(seen) == 1 and not isinstance(seen[0], StoreClosedError)
    assert not store.closed
