"""Store: construction, close, context manager, gc, repr."""

import textwrap

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


# ---- once-only construction; uninitialized stores ----------------------------


def test_store_not_reopened_after_close():
    # re-running __init__ after close() gave the store a new engine store, and
    # its old objects were used with it (the engine aborted)
    from support import assert_clean, run_py
    proc = run_py("""
    from wasmbind import *
    s = Store()
    f = Func(s, FuncType([], ["i32"]), lambda: 1)
    m = Memory(s, MemoryType(1))
    s.close()
    try:
        Store.__init__(s)
    except WasmError as exc:
        assert "already initialized" in str(exc)
        print("refused")
    for action in (f, lambda: m.size):
        try:
            action()
        except StoreClosedError:
            print("closed")
    """)
    assert_clean(proc)
    assert proc.stdout.split() == ["refused", "closed", "closed"]


def test_uninitialized_store_raises_everywhere():
    from support import FAILING, assert_clean, run_py
    proc = run_py(FAILING + textwrap.dedent("""
    from wasmbind import *
    s = Store.__new__(Store)
    actions = [lambda: s.set_fuel(1), lambda: s.get_fuel(), lambda: s.fuel, lambda: s.set_timeout(1),
               lambda: s.set_timeout(None), lambda: s.set_limits(memory_size=1), lambda: s.gc(),
               lambda: s.set_wasi(WasiConfig()), lambda: s.__enter__(), lambda: s.deadline(1).__enter__(),
               lambda: Module(s, "(module)"), lambda: Linker(s), lambda: Store(s),
               lambda: Func(s, FuncType([], []), lambda: None), lambda: Memory(s, MemoryType(1))]
    assert failing(actions, WasmError, "not initialized") == []
    s.close()  # nothing to close
    assert s.timeout is None and s.limits is None and s.wasi_stdout is None
    # a failed construction leaves it uninitialized, so it can still be made
    try:
        s.__init__(Engine.__new__(Engine))
    except WasmError:
        pass
    s.__init__(Engine())
    print(len(actions), Func(s, FuncType([], ["i32"]), lambda: 3)())
    """))
    assert_clean(proc, "15 3")


def test_deadline_helper_needs_a_store(store):
    with pytest.raises(TypeError):
        type(store.deadline(1))(None, 1)


def test_store_objects_cannot_be_rebound_through_pickling():
    # Cython's generated __setstate__ on the store-bound base class re-bound
    # any Memory, Global... to another store (the engine aborted); the one on
    # the host functions' environment read a C array as a string
    from support import assert_clean, run_py
    proc = run_py("""
    import gc, pickle
    from wasmbind import *
    a, b = Store(), Store()
    m = Memory(a, MemoryType(1))
    f = Func(a, FuncType(["i32"], ["i32"]), abs)
    base = type(m).__mro__[1]
    env = [o for o in gc.get_referents(a) if isinstance(o, list) and o][0][0]
    refused = 0
    for obj in (m, f, base.__new__(base), env, type(env).__new__(type(env))):
        for action in (lambda: pickle.dumps(obj), lambda: base.__setstate__(obj, (True, b)),
                       lambda: type(obj).__setstate__(obj, ())):
            try:
                action()
            except (TypeError, AttributeError):
                refused += 1
    print(refused, m.store is a, m.size, f(-3))
    """)
    assert_clean(proc, "15 True 1 3")
