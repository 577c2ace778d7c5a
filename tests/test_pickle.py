"""Pickling (wasmbind.pickling): modules as artifact + fingerprint + Wasm binary
through the per-process module cache; engines and configs as their options;
types, exceptions, WasiResult and WasiConfig with every field; refusals for
everything that lives in a store.

Loading in another process is tested in fresh interpreters (run_py), where
the module cache starts empty; process pools are tests/test_processes.py's.
"""

import copy
import json
import pickle
import threading

import pytest

import wasmbind
from wasmbind import (
    CompileError,
    Config,
    Engine,
    ExportType,
    Frame,
    FuncType,
    Global,
    GlobalType,
    ImportType,
    Instance,
    Linker,
    LinkError,
    Memory,
    MemoryType,
    Module,
    Store,
    StoreClosedError,
    Table,
    TableType,
    TagType,
    Trap,
    TrapCode,
    ValType,
    WasiConfig,
    WasiExit,
    WasiResult,
    pickling,
    run_wasi,
    shared_engine,
)

from support import assert_clean, run_py

PROTOCOLS = range(pickle.HIGHEST_PROTOCOL + 1)

KERNEL = """(module
  (memory (export "memory") 1)
  (global $g (export "g") (mut i32) (i32.const 7))
  (table (export "t") 2 funcref)
  (func $add (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (func $div (export "div") (param i32 i32) (result i32) local.get 0 local.get 1 i32.div_s)
  (func (export "spin") (loop $l br $l)))"""


def roundtrip(obj, protocol=pickle.DEFAULT_PROTOCOL):
    return pickle.loads(pickle.dumps(obj, protocol=protocol))


def state_of(module):
    """The payload a Module pickle carries (the argument of its reconstructor)."""
    fn, (state,) = module.__reduce__()
    assert fn is wasmbind._core._unpickle_module
    return state


@pytest.fixture
def fresh_cache(monkeypatch):
    """An empty module cache and default settings for the test."""
    pickling.cache_clear()
    monkeypatch.setattr(pickling, "artifacts", True)
    yield
    pickling.cache_clear()


def uniq(tag):
    """A module of its own content, so no earlier test has it in the cache."""
    return '(module (func (export "f") (result i32) i32.const 1) (func (export "%s")))' % tag


# ---------------------------------------------------------------- modules

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_module_roundtrip_every_protocol(protocol, fresh_cache):
    m = Module(None, KERNEL)
    m2 = roundtrip(m, protocol)
    assert isinstance(m2, Module) and m2 is not m
    assert m2.exports == m.exports and m2.imports == m.imports
    with Store(m2.engine) as s:
        inst = Instance(s, m2)
        assert inst.exports.add(2, 3) == 5
        assert inst.exports.g.value == 7


def test_payload_has_artifact_fingerprint_and_binary(fresh_cache):
    m = Module(None, KERNEL)
    state = state_of(m)
    assert state["format"] == 1
    assert state["wasm"] == wasmbind.wat2wasm(KERNEL)
    assert state["artifact"] == m.serialize()
    assert state["options"] == m.engine.config.options()
    assert state["fingerprint"] == pickling.fingerprint(m.engine.config)
    fp = state["fingerprint"]
    assert wasmbind.WASMTIME_VERSION in fp and wasmbind.__version__ in fp
    import platform
    import sys
    assert sys.platform in fp and platform.machine().lower() in fp


def test_fingerprint_follows_code_options_only():
    base = pickling.fingerprint(Config())
    for changed in (Config(consume_fuel=True), Config(epoch_interruption=True),
                    Config(cranelift_opt_level="none"), Config(wasm_simd=False, wasm_relaxed_simd=False),
                    Config(memory_guard_size=1 << 16), Config(debug_info=True)):
        assert pickling.fingerprint(changed) != base, changed
    for same in (Config(max_wasm_stack=1 << 20), Config(parallel_compilation=False)):
        assert pickling.fingerprint(same) == base, same


def test_unpickled_module_uses_the_shared_engine_for_its_options(fresh_cache):
    cfg = Config(consume_fuel=True)
    private = Engine(cfg)
    m2 = roundtrip(Module(private, KERNEL))
    assert m2.engine is shared_engine(cfg)
    assert m2.engine.config == cfg
    with Store(m2.engine) as s:  # fuel works on the receiving engine
        s.set_fuel(10_000)
        with pytest.raises(Trap) as ei:
            Instance(s, m2).exports.spin()
        assert ei.value.code is TrapCode.OUT_OF_FUEL
    # a default-engine module arrives on the default engine
    assert roundtrip(Module(None, KERNEL)).engine is wasmbind.default_engine()


def test_module_and_engine_in_one_pickle_agree(fresh_cache):
    e = Engine(Config(cranelift_opt_level="none"))
    m = Module(e, KERNEL)
    e2, m2 = roundtrip((e, m))
    assert m2.engine is e2
    with Store(e2) as s:
        assert Instance(s, m2).exports.add(1, 1) == 2


def test_cache_loads_a_module_once(fresh_cache):
    m = Module(None, uniq("once"))
    data = pickle.dumps(m)
    loaded = [pickle.loads(data) for _ in range(20)]
    assert all(x is loaded[0] for x in loaded)
    info = pickling.cache_info()
    assert info["misses"] == 1 and info["hits"] == 19 and info["deserialized"] == 1
    assert info["compiled"] == 0 and info["size"] == 1
    # a separate pickle of an equal module (same engine options, same content) is a hit too
    assert pickle.loads(pickle.dumps(Module(None, uniq("once")))) is loaded[0]


def test_cache_keys_on_options_and_content(fresh_cache):
    a = roundtrip(Module(None, uniq("k")))
    b = roundtrip(Module(Engine(Config(consume_fuel=True)), uniq("k")))
    c = roundtrip(Module(None, uniq("k2")))
    assert a is not b and a is not c and b is not c
    assert b.engine.config.consume_fuel and not a.engine.config.consume_fuel
    assert pickling.cache_info()["misses"] == 3


def test_cache_is_bounded(fresh_cache, monkeypatch):
    monkeypatch.setattr(pickling, "cache_size", 3)
    first = roundtrip(Module(None, uniq("b0")))
    for i in range(1, 6):
        roundtrip(Module(None, uniq("b%d" % i)))
        assert pickling.cache_info()["size"] <= 3
    # the first left the cache: it is loaded again, as a new Module
    again = roundtrip(Module(None, uniq("b0")))
    assert again is not first
    assert pickling.cache_info()["misses"] == 7
    pickling.cache_clear()
    assert pickling.cache_info()["size"] == 0 and pickling.cache_info()["misses"] == 0


def test_cache_concurrent_unpickles_load_once(fresh_cache):
    # big enough that loading takes a while, so the threads overlap
    funcs = "".join('(func (export "f%d") (param i32) (result i32) local.get 0 i32.const %d i32.mul)'
                    % (i, i) for i in range(400))
    data = pickle.dumps(Module(None, "(module %s)" % funcs))
    got = []
    barrier = threading.Barrier(6)

    def load():
        barrier.wait()
        got.append(pickle.loads(data))

    threads = [threading.Thread(target=load) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert len(got) == 6 and all(g is got[0] for g in got)
    info = pickling.cache_info()
    assert info["misses"] == 1 and info["hits"] == 5 and info["deserialized"] == 1


def test_cache_reloads_for_a_new_shared_engine(fresh_cache):
    # shared_engine forgets engines past its bound; a cached module of a
    # forgotten engine must not be handed out for the new one
    proc = run_py("""
        import pickle, wasmbind
        from wasmbind import Config, Module, Store, Instance, shared_engine, pickling
        cfg = Config(epoch_interruption=False, memory_guard_size=65536)
        data = pickle.dumps(Module(wasmbind.Engine(cfg), '(module (func (export "f") (result i32) i32.const 4))'))
        first = pickle.loads(data)
        old = first.engine
        for i in range(40):   # push it out of shared_engine's cache
            shared_engine(Config(epoch_interruption=False, memory_guard_size=65536 * (i + 2)))
        assert shared_engine(cfg) is not old
        again = pickle.loads(data)
        assert again.engine is shared_engine(cfg), "stale engine"
        with Store(again.engine) as s:
            print(Instance(s, again).exports.f())
    """)
    assert_clean(proc, "4")


def test_fresh_process_loads_the_artifact():
    m = Module(None, KERNEL)
    proc = run_py("""
        import pickle, json, wasmbind
        from wasmbind import Store, Instance, pickling
        m = pickle.loads(bytes.fromhex(%r))
        with Store(m.engine) as s:
            r = Instance(s, m).exports.add(40, 2)
        print(json.dumps([r, pickling.cache_info()]))
    """ % pickle.dumps(m).hex())
    assert_clean(proc)
    r, info = json.loads(proc.stdout)
    assert r == 42
    assert info["deserialized"] == 1 and info["compiled"] == 0 and info["fallbacks"] == 0


def _load_in_child(state, env=None):
    """Unpickles a Module made from ``state`` in a fresh interpreter; its
    add(40, 2) and the cache counts."""
    data = pickle.dumps((wasmbind._core._unpickle_module, state), protocol=4)
    proc = run_py("""
        import json, pickle, wasmbind
        from wasmbind import Store, Instance, pickling
        fn, state = pickle.loads(bytes.fromhex(%r))
        try:
            m = fn(state)
        except Exception as exc:
            print(json.dumps(["error", type(exc).__name__, str(exc), pickling.cache_info()]))
        else:
            with Store(m.engine) as s:
                r = Instance(s, m).exports.add(40, 2)
            print(json.dumps(["ok", r, pickling.artifacts, pickling.cache_info()]))
    """ % data.hex(), env=env)
    assert_clean(proc)
    return json.loads(proc.stdout)


def test_fingerprint_mismatch_recompiles_without_trying_the_artifact():
    state = dict(state_of(Module(None, KERNEL)))
    state["fingerprint"] = state["fingerprint"].replace(wasmbind.WASMTIME_VERSION, "0.0.1")
    state["artifact"] = b"\x7fELF not what it claims"  # never given to the engine
    status, r, _, info = _load_in_child(state)
    assert (status, r) == ("ok", 42)
    assert info["compiled"] == 1 and info["deserialized"] == 0 and info["fallbacks"] == 0


def test_refused_artifact_falls_back_to_the_binary():
    # an artifact the engine refuses although the fingerprint matches (as a
    # CPU without the features it was compiled for would): compile instead
    state = dict(state_of(Module(None, KERNEL)))
    state["artifact"] = Module(Engine(Config(consume_fuel=True)), KERNEL).serialize()
    status, r, _, info = _load_in_child(state)
    assert (status, r) == ("ok", 42)
    assert info["fallbacks"] == 1 and info["compiled"] == 1 and info["deserialized"] == 0
    state["artifact"] = b"garbage, not an artifact"
    status, r, _, info = _load_in_child(state)
    assert (status, r) == ("ok", 42) and info["fallbacks"] == 1


def test_artifact_only_pickle_fails_clearly_when_it_cannot_load():
    m = Module.deserialize(None, Module(None, KERNEL).serialize())
    state = dict(state_of(m))
    assert state["wasm"] is None and state["artifact"]
    status, r, _, info = _load_in_child(state)  # matching engine: loads
    assert (status, r) == ("ok", 42) and info["deserialized"] == 1
    state["fingerprint"] = "another engine"
    status, name, message, _ = _load_in_child(state)
    assert (status, name) == ("error", "CompileError")
    assert "another engine" in message and "no Wasm binary" in message
    state = dict(state_of(m))
    state["artifact"] = Module(Engine(Config(consume_fuel=True)), KERNEL).serialize()
    status, name, message, _ = _load_in_child(state)
    assert (status, name) == ("error", "CompileError") and "fuel" in message


def test_source_only_switch(fresh_cache, monkeypatch):
    m = Module(None, KERNEL)
    monkeypatch.setattr(pickling, "artifacts", False)
    state = state_of(m)
    assert state["artifact"] is None and state["wasm"] == wasmbind.wat2wasm(KERNEL)
    assert m.serialize() not in pickle.dumps(m)
    m2 = roundtrip(m)
    assert pickling.cache_info()["compiled"] == 1 and pickling.cache_info()["deserialized"] == 0
    with Store(m2.engine) as s:
        assert Instance(s, m2).exports.add(1, 2) == 3
    # an artifact-only module cannot be sent source-only
    with pytest.raises(TypeError, match="artifacts off"):
        pickle.dumps(Module.deserialize(None, m.serialize()))


@pytest.mark.parametrize("value, expect", [("0", False), ("false", False), ("Off", False),
                                           ("no", False), ("1", True), ("", True)])
def test_source_only_environment_variable(value, expect):
    state = state_of(Module(None, KERNEL))
    env = {"WASMBIND_PICKLE_ARTIFACTS": value}
    status, r, artifacts, info = _load_in_child(state, env=env)
    assert (status, r, artifacts) == ("ok", 42, expect)
    # with it off, the receiver ignores the artifact it was sent
    assert info["deserialized" if expect else "compiled"] == 1
    proc = run_py("""
        import pickle, wasmbind
        fn, (state,) = wasmbind.Module(None, '(module)').__reduce__()
        print(state["artifact"] is None)
    """, env=env)
    assert_clean(proc, str(not expect))


def test_receiver_with_switch_off_refuses_artifact_only_pickles():
    state = state_of(Module.deserialize(None, Module(None, KERNEL).serialize()))
    status, name, message, _ = _load_in_child(state, env={"WASMBIND_PICKLE_ARTIFACTS": "0"})
    assert (status, name) == ("error", "CompileError") and "loading artifacts is off" in message


def test_bad_payloads_raise():
    fn = wasmbind._core._unpickle_module
    good = state_of(Module(None, KERNEL))
    with pytest.raises(pickle.UnpicklingError, match="newer wasmbind"):
        fn(dict(good, format=2))
    with pytest.raises(pickle.UnpicklingError):
        fn("not a dict")
    with pytest.raises(pickle.UnpicklingError):
        fn(dict(good, wasm=None, artifact=None))
    with pytest.raises(AttributeError, match="no option"):
        fn(dict(good, options=dict(good["options"], turbo=True)))
    with pytest.raises(ValueError):
        fn(dict(good, options=dict(good["options"], cranelift_opt_level="fast")))
    with pytest.raises(CompileError):
        fn(dict(good, wasm=b"\0asm\x01\0\0\0garbage", artifact=None))


def test_module_from_file_and_bytes_pickle(tmp_path, fresh_cache):
    path = tmp_path / "k.wasm"
    path.write_bytes(wasmbind.wat2wasm(KERNEL))
    for m in (Module.from_file(None, path), Module(None, path.read_bytes()),
              Module(None, bytearray(path.read_bytes())), Module(None, KERNEL.encode())):
        assert state_of(m)["wasm"] == path.read_bytes()
        assert roundtrip(m).exports == m.exports


def test_module_with_imports_pickles(fresh_cache):
    m = Module(None, '(module (import "env" "f" (func (param i32) (result i32)))'
                     ' (func (export "g") (param i32) (result i32) local.get 0 call 0))')
    m2 = roundtrip(m)
    assert m2.imports == m.imports
    with Store(m2.engine) as s:
        assert Instance(s, m2, [lambda x: x * 3]).exports.g(5) == 15


def test_copy_of_module_and_engine_is_itself():
    m = Module(None, KERNEL)
    assert copy.copy(m) is m and copy.deepcopy(m) is m
    e = Engine()
    assert copy.copy(e) is e and copy.deepcopy(e) is e
    assert copy.deepcopy([m, e])[0] is m


def test_dask_token_is_by_options_and_content():
    tokenize = pytest.importorskip("dask.base").tokenize
    a, b = Module(None, KERNEL), Module(None, KERNEL)
    assert tokenize(a) == tokenize(b)
    assert tokenize(a) != tokenize(Module(Engine(Config(consume_fuel=True)), KERNEL))
    assert tokenize(a) != tokenize(Module(None, uniq("tok")))
    d = Module.deserialize(None, a.serialize())
    assert tokenize(d) == tokenize(Module.deserialize(None, a.serialize()))


# ---------------------------------------------------------------- engines, configs

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_config_pickles_every_option(protocol):
    cfg = Config(consume_fuel=True, epoch_interruption=False, cranelift_opt_level="none",
                 max_wasm_stack=1 << 20, wasm_simd=False, wasm_relaxed_simd=False,
                 memory_guard_size=1 << 16, cache=False)
    cfg2 = roundtrip(cfg, protocol)
    assert cfg2 == cfg and cfg2 is not cfg and cfg2.options() == cfg.options()
    assert roundtrip(Config(), protocol) == Config()


def test_config_is_checked_on_arrival():
    cfg = Config()
    fn, args, state = cfg.__reduce_ex__(2)[:3]
    bad = Config.__new__(Config)
    with pytest.raises(ValueError):
        bad.__setstate__(dict(state, cranelift_opt_level="fast"))
    with pytest.raises(TypeError):
        bad.__setstate__(dict(state, consume_fuel="yes"))


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_engine_unpickles_to_the_shared_engine(protocol):
    cfg = Config(consume_fuel=True, cranelift_opt_level="none")
    e2 = roundtrip(Engine(cfg), protocol)
    assert e2 is shared_engine(cfg) and e2.config == cfg
    assert roundtrip(shared_engine(cfg), protocol) is e2
    assert roundtrip(wasmbind.default_engine(), protocol) is wasmbind.default_engine()
    many = roundtrip([Engine(cfg) for _ in range(50)], protocol)
    assert all(e is e2 for e in many)


# ---------------------------------------------------------------- types

TYPES = [
    ValType.i32, ValType.externref,
    FuncType([ValType.i32, "f64"], [ValType.i64]), FuncType([], []),
    MemoryType(1), MemoryType(1, 10), MemoryType(2, 2**20, memory64=True), MemoryType(1, 4, shared=True),
    GlobalType(ValType.f32, True), GlobalType("i64", False),
    TableType(ValType.funcref, 1, 5), TableType("externref", 0),
    TagType(FuncType([ValType.i32], [])),
    ImportType("env", "f", FuncType([ValType.i32], [])),
    ExportType("memory", MemoryType(1)),
    TrapCode.OUT_OF_FUEL, Frame(3, "f", "m", 1, 2), Frame(0, None, None, None, None),
]


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_types_pickle(protocol):
    for t in TYPES:
        t2 = roundtrip(t, protocol)
        assert t2 == t and type(t2) is type(t) and repr(t2) == repr(t), t


def test_module_types_pickle():
    m = Module(None, KERNEL)
    assert roundtrip(m.exports) == m.exports
    assert roundtrip(m.imports) == m.imports


def test_types_are_checked_on_arrival():
    for t, bad in ((MemoryType(1, 2), {"minimum": 3, "maximum": 2, "memory64": False, "shared": False}),
                   (TableType("funcref", 1), {"element": ValType.i32, "minimum": 1, "maximum": None}),
                   (GlobalType("i32", True), {"content": "nope", "mutable": True})):
        fresh = type(t).__new__(type(t))
        with pytest.raises((TypeError, ValueError)):
            fresh.__setstate__(bad)


# ---------------------------------------------------------------- exceptions

def _trap_from_wasm():
    inst = wasmbind.instantiate('(module $m (func $inner unreachable) (func $outer (export "go") call $inner))')
    with pytest.raises(Trap) as ei:
        inst.exports.go()
    return ei.value


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_trap_from_wasm_pickles_with_code_frames_message(protocol):
    t = _trap_from_wasm()
    assert t.code is TrapCode.UNREACHABLE and len(t.frames) == 2
    t2 = roundtrip(t, protocol)
    assert type(t2) is Trap
    assert (t2.message, t2.code, t2.frames) == (t.message, t.code, t.frames)
    assert t2.frames[0].func_name == "inner" and t2.frames[0].module_name == "m"
    assert str(t2) == str(t) and t2.args == t.args


def test_trap_extra_attributes_and_notes_survive():
    t = Trap("boom", TrapCode.INTERRUPT)
    t.add_note("from job 7")
    t.job = 7
    t2 = roundtrip(t)
    assert t2.job == 7 and t2.__notes__ == ["from job 7"] and t2.code is TrapCode.INTERRUPT


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wasi_exit_pickles(protocol):
    e = roundtrip(WasiExit(3), protocol)
    assert type(e) is WasiExit and e.code == 3 and str(e) == str(WasiExit(3))


def test_compile_and_link_errors_pickle():
    with pytest.raises(CompileError) as ce:
        Module(None, "(module (func (result i32)))")
    with pytest.raises(LinkError) as le:
        wasmbind.instantiate('(module (import "env" "missing" (func)))')
    store = Store()
    store.close()
    with pytest.raises(StoreClosedError) as sc:
        Instance(store, Module(None, "(module)"))
    for exc in (ce.value, le.value, sc.value, wasmbind.WasmError("base"),
                wasmbind.StoreBusyError("busy")):
        e2 = roundtrip(exc)
        assert type(e2) is type(exc) and str(e2) == str(exc) and e2.args == exc.args
        assert isinstance(e2, wasmbind.WasmError)
    assert "missing" in str(roundtrip(le.value))


def test_exceptions_raised_by_check_returncode_carry_their_result():
    wat = ('(module (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))'
           ' (memory (export "memory") 1)'
           ' (func (export "_start") i32.const 3 call $exit))')
    with pytest.raises(WasiExit) as ei:
        run_wasi(wat, check=True)
    e2 = roundtrip(ei.value)
    assert e2.code == 3 and e2.result.returncode == 3 and e2.result.args == ei.value.result.args
    with pytest.raises(Trap) as ti:
        run_wasi('(module (memory (export "memory") 1) (func (export "_start") unreachable))', check=True)
    t2 = roundtrip(ti.value)
    assert t2.code is TrapCode.UNREACHABLE and t2.result.trap.code is TrapCode.UNREACHABLE


# ---------------------------------------------------------------- WasiResult, WasiConfig

@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wasi_result_pickles_every_field(protocol):
    trap = _trap_from_wasm()
    r = WasiResult(["prog", "a"], None, b"out", b"err", trap, 123, 0.5, True, False, (1, 2.5))
    r2 = roundtrip(r, protocol)
    for name in WasiResult.__slots__:
        if name != "trap":
            assert getattr(r2, name) == getattr(r, name), name
    assert r2.trap.code is TrapCode.UNREACHABLE and r2.trap.frames == trap.frames
    assert r2.timed_out is False and r2.ok is False


def test_wasi_result_from_run_wasi_pickles():
    r = run_wasi('(module (memory (export "memory") 1) (func (export "_start") (loop $l br $l)))',
                 fuel=1000)
    r2 = roundtrip(r)
    assert r2.out_of_fuel and r2.fuel_consumed == r.fuel_consumed == 1000 and r2.returncode is None


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_wasi_config_pickles_its_fields(protocol, tmp_path):
    wc = WasiConfig(argv=["p", "x"], env={"A": "1"}, stdin_bytes=b"in", capture_stdout=True,
                    stderr_file=str(tmp_path / "err"), max_output=99,
                    preopens=[(str(tmp_path), "/data", True)])
    wc2 = roundtrip(wc, protocol)
    for name in ("argv", "env", "stdin_bytes", "capture_stdout", "stderr_file", "max_output",
                 "preopens", "inherit_env", "inherit_stdout"):
        assert getattr(wc2, name) == getattr(wc, name), name


def test_wasi_config_is_checked_where_it_arrives(tmp_path):
    d = tmp_path / "gone"
    d.mkdir()
    data = pickle.dumps(WasiConfig(preopens=[(str(d), "/x")]))
    d.rmdir()
    with pytest.raises(FileNotFoundError):
        pickle.loads(data)


# ---------------------------------------------------------------- refusals

def _store_objects():
    s = Store()
    m = Module(s.engine, KERNEL)
    inst = Instance(s, m)
    host = wasmbind.Func(s, FuncType([], []), lambda: None)
    return s, {
        "Store": s,
        "Instance": inst,
        "Exports": inst.exports,
        "Func": inst.exports.add,
        "Func (host)": host,
        "Memory": inst.exports.memory,
        "Global": inst.exports.g,
        "Table": inst.exports.t,
        "Memory (new)": Memory(s, MemoryType(1)),
        "Global (new)": Global(s, GlobalType("i32", False), 1),
        "Table (new)": Table(s, TableType("funcref", 1)),
        "Linker": Linker(s.engine),
    }


@pytest.mark.parametrize("protocol", PROTOCOLS)
def test_store_objects_refuse_to_pickle(protocol):
    s, objects = _store_objects()
    for label, obj in objects.items():
        with pytest.raises(TypeError) as ei:
            pickle.dumps(obj, protocol=protocol)
        msg = str(ei.value)
        assert "wasmbind.%s" % type(obj).__name__ in msg, (label, msg)
        assert "Send the Module" in msg, (label, msg)
        if label != "Linker":
            assert "Store(module.engine)" in msg, (label, msg)
        for fn in (copy.copy, copy.deepcopy):
            with pytest.raises(TypeError, match="Send the Module"):
                fn(obj)
    # refusing leaves them working
    assert objects["Func"](2, 2) == 4
    s.close()
    with pytest.raises(TypeError, match="Send the Module"):  # closed: still a refusal
        pickle.dumps(s)


def test_closed_and_uninitialized_objects_refuse_too():
    for cls in (Memory, Global, Table, Instance, Store, Linker):
        with pytest.raises(TypeError, match="cannot pickle a wasmbind"):
            pickle.dumps(cls.__new__(cls))


def test_caller_refuses_to_pickle():
    seen = []

    def host(caller):
        for obj in (caller, caller.exports):
            try:
                pickle.dumps(obj)
            except TypeError as exc:
                seen.append(str(exc))
        return 0

    m = Module(None, '(module (import "env" "h" (func $h (result i32)))'
                     ' (func (export "go") (result i32) call $h))')
    with Store(m.engine) as s:
        f = wasmbind.Func(s, FuncType([], [ValType.i32]), host, access_caller=True)
        assert Instance(s, m, [f]).exports.go() == 0
    assert len(seen) == 2 and all("Send the Module" in msg for msg in seen)


def test_structures_holding_store_objects_refuse_as_a_whole():
    s, objects = _store_objects()
    with pytest.raises(TypeError, match="Send the Module"):
        pickle.dumps({"module": objects["Instance"].module, "inst": objects["Instance"]})
    # the module alone goes
    assert roundtrip(objects["Instance"].module).exports == objects["Instance"].module.exports
