"""Config validation and Engine construction."""

import pytest

import wasmbind
from wasmbind import Config, Engine, Module, Store, instantiate

from support import assert_clean, run_py

ADD = '(module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))'


def test_defaults_and_options():
    c = Config()
    opts = c.options()
    assert opts["cranelift_opt_level"] == "speed"
    assert opts["epoch_interruption"] is False  # Config() is Config.fast()
    assert opts["consume_fuel"] is False
    assert opts["wasm_gc"] is None
    assert c.proposal_enabled("wasm_simd") is True
    assert c.proposal_enabled("wasm_gc") is False
    assert repr(c) == "Config()"


def test_keywords_and_attributes():
    c = Config(cranelift_opt_level="none", consume_fuel=True)
    c.max_wasm_stack = 256 * 1024
    assert c.cranelift_opt_level == "none"
    assert c.consume_fuel is True
    assert c.max_wasm_stack == 256 * 1024
    assert "consume_fuel=True" in repr(c)
    assert c == Config(cranelift_opt_level="none", consume_fuel=True, max_wasm_stack=256 * 1024)
    assert c != Config()


def test_unknown_option():
    with pytest.raises(AttributeError, match="no_such"):
        Config(no_such=1)
    c = Config()
    with pytest.raises(AttributeError):
        c.no_such = True
    with pytest.raises(AttributeError):
        c.no_such


@pytest.mark.parametrize(
    "name, value, exc",
    [
        ("cranelift_opt_level", "fast", ValueError),
        ("consume_fuel", 1, TypeError),
        ("epoch_interruption", None, TypeError),
        ("wasm_simd", "yes", TypeError),
        ("max_wasm_stack", 1024, ValueError),
        ("max_wasm_stack", 4 * 1024 * 1024 + 1, ValueError),
        ("max_wasm_stack", 1.5, TypeError),
        ("max_wasm_stack", True, TypeError),
        ("memory_reservation", -1, ValueError),
        ("memory_guard_size", 2**63, ValueError),
        ("cache", 3, TypeError),
    ],
)
def test_bad_values(name, value, exc):
    with pytest.raises(exc):
        Config(**{name: value})


def test_max_wasm_stack_bounds_accepted():
    assert Config(max_wasm_stack=4096).max_wasm_stack == 4096
    assert Config(max_wasm_stack=4 * 1024 * 1024).max_wasm_stack == 4 * 1024 * 1024


@pytest.mark.parametrize(
    "options",
    [
        dict(wasm_gc=True),
        dict(wasm_gc=True, wasm_function_references=True, wasm_reference_types=False),
        dict(wasm_function_references=True, wasm_reference_types=False),
        dict(wasm_relaxed_simd=True, wasm_simd=False),
        dict(wasm_simd=False),  # relaxed SIMD is on by default and needs SIMD
        dict(wasm_threads=True, wasm_bulk_memory=False),
        dict(wasm_exceptions=True, wasm_reference_types=False),
    ],
)
def test_invalid_combinations_raise(options):
    c = Config(**options)
    with pytest.raises(ValueError):
        c.validate()
    with pytest.raises(ValueError):
        Engine(c)


def test_valid_combinations_build_engines():
    Engine(Config(wasm_gc=True, wasm_function_references=True))
    Engine(Config(wasm_simd=False, wasm_relaxed_simd=False))
    Engine(Config(wasm_exceptions=True))


def test_engine_config_kept():
    c = Config(cranelift_opt_level="speed_and_size")
    e = Engine(c)
    assert e.config is c
    assert "speed_and_size" in repr(e)
    assert Engine().config == Config()


def test_engine_rejects_non_config():
    with pytest.raises(TypeError):
        Engine({"consume_fuel": True})


def test_engine_init_twice():
    e = Engine()
    with pytest.raises(wasmbind.WasmError):
        e.__init__()


def test_engine_tick_and_epoch():
    e = Engine()
    assert 0 < e.tick_seconds < 1
    e.increment_epoch()  # harmless
    s = Store(e)
    assert instantiate  # keep import used
    inst = wasmbind.Instance(s, Module(e, ADD))
    assert inst.exports.add(2, 3) == 5


def _elf_section(image, name):
    """The bytes of section ``name`` of a serialized module (a little-endian ELF64)."""
    assert image[:4] == b"\x7fELF" and image[4] == 2 and image[5] == 1
    shoff = int.from_bytes(image[0x28:0x30], "little")
    shentsize, shnum, shstrndx = (int.from_bytes(image[i:i + 2], "little") for i in (0x3A, 0x3C, 0x3E))

    def header(i):
        h = image[shoff + i * shentsize:shoff + (i + 1) * shentsize]
        return (int.from_bytes(h[0:4], "little"), int.from_bytes(h[24:32], "little"),
                int.from_bytes(h[32:40], "little"))
    _, stroff, _ = header(shstrndx)
    for i in range(shnum):
        nameoff, off, size = header(i)
        end = image.index(b"\0", stroff + nameoff)
        if image[stroff + nameoff:end] == name.encode():
            return image[off:off + size]
    raise AssertionError("no section %s" % name)


@pytest.mark.parametrize("module", ["kernels", "kernels_simd"])
def test_default_engine_compiles_what_wasmtime_default_compiles(module):
    # Engine() must run kernels at the engine's own full speed: the machine
    # code it compiles is byte for byte what `wasmtime.Engine()` compiles, and
    # the whole artifact is wasmtime-py's with only "memory never moves" set.
    wasmtime = pytest.importorskip("wasmtime")
    from wasmbind.bench import kernels
    wasm = kernels.read_bytes(module)
    ours = Module(Engine(), wasm).serialize()
    theirs = wasmtime.Module(wasmtime.Engine(), wasm).serialize()
    assert _elf_section(ours, ".text") == _elf_section(theirs, ".text")
    cfg = wasmtime.Config()
    cfg.memory_may_move = False
    assert ours == wasmtime.Module(wasmtime.Engine(cfg), wasm).serialize()
    assert Module(wasmbind.default_engine(), wasm).serialize() == ours
    # the comparison sees code differences: epoch checks change the code
    sandbox = Module(Engine(Config.sandbox()), wasm).serialize()
    assert _elf_section(sandbox, ".text") != _elf_section(ours, ".text")


def test_default_engine_is_shared():
    assert wasmbind.default_engine() is wasmbind.default_engine()
    assert Store().engine is wasmbind.default_engine()
    assert Module(None, ADD).engine is wasmbind.default_engine()


def test_opt_levels_compile_and_run():
    for level in ("none", "speed", "speed_and_size"):
        e = Engine(Config(cranelift_opt_level=level))
        inst = wasmbind.Instance(Store(e), Module(e, ADD))
        assert inst.exports.add(40, 2) == 42


def test_disabled_proposal_rejects_module():
    e = Engine(Config(wasm_simd=False, wasm_relaxed_simd=False))
    with pytest.raises(wasmbind.CompileError):
        Module(e, '(module (func (result v128) v128.const i64x2 0 0))')
    e2 = Engine(Config(wasm_multi_memory=False))
    with pytest.raises(wasmbind.CompileError):
        Module(e2, "(module (memory 1) (memory 1))")


def test_engine_without_epoch_interruption():
    e = Engine(Config(epoch_interruption=False))
    inst = wasmbind.Instance(Store(e), Module(e, ADD))
    assert inst.exports.add(1, 1) == 2
    with pytest.raises(wasmbind.WasmError):
        Store(e).set_timeout(1.0)


def test_modules_from_other_engine_rejected():
    e1, e2 = Engine(), Engine()
    m = Module(e1, ADD)
    # like every other cross-store / cross-engine mismatch: a ValueError naming it
    with pytest.raises(ValueError, match="different Engine"):
        wasmbind.Instance(Store(e2), m)


def test_risky_configs_do_not_abort():
    # Every accepted Config must build an engine; every refused one must raise
    # ValueError before it reaches the engine (which would abort the process).
    code = r"""
    import itertools, wasmbind
    from wasmbind import Config, Engine
    names = ["wasm_gc", "wasm_function_references", "wasm_reference_types",
             "wasm_exceptions", "wasm_simd", "wasm_relaxed_simd", "wasm_threads",
             "wasm_bulk_memory"]
    built = refused = 0
    for values in itertools.product([None, False, True], repeat=3):
        for trio in [names[0:3], names[3:6], names[5:8]]:
            c = Config(**dict(zip(trio, values)))
            try:
                Engine(c)
                built += 1
            except ValueError:
                refused += 1
    for stack in (4096, 2 * 1024 * 1024 + 1, 4 * 1024 * 1024):
        e = Engine(Config(max_wasm_stack=stack))
        i = wasmbind.Instance(wasmbind.Store(e), wasmbind.Module(e, '(module (func (export "f")))'))
        i.exports.f()
    print(built > 0 and refused > 0)
    """
    assert_clean(run_py(code, timeout=120), "True")


def test_small_wasm_stack_overflows_cleanly():
    e = Engine(Config(max_wasm_stack=64 * 1024))
    inst = wasmbind.Instance(
        Store(e),
        Module(e, '(module (func $r (export "r") (param i32) (result i32)'
                  ' local.get 0 i32.const 1 i32.add call $r))'),
    )
    with pytest.raises(wasmbind.Trap) as info:
        inst.exports.r(0)
    assert info.value.code == wasmbind.TrapCode.STACK_OVERFLOW


def test_reference_types_off():
    # used to abort the process: the engine's component-model-async needs reference types
    proc = run_py("""
    import wasmbind
    e = wasmbind.Engine(wasmbind.Config(wasm_reference_types=False))
    m = wasmbind.Module(e, '(module (func (export "f") (result i32) i32.const 2))')
    inst = wasmbind.Instance(wasmbind.Store(e), m)
    assert inst.exports.f() == 2
    try:
        wasmbind.Module(e, '(module (func (param externref)))')
    except wasmbind.CompileError:
        print("refused")
    """)
    assert_clean(proc, "refused")


def test_shared_engine_one_per_option_set():
    from wasmbind import shared_engine
    from wasmbind._core import _SHARED_ENGINES_MAX
    assert shared_engine() is shared_engine(Config()) is wasmbind.default_engine()
    a = shared_engine(Config(consume_fuel=True))
    assert shared_engine(Config(consume_fuel=True)) is a
    assert a is not wasmbind.default_engine() and a.config == Config(consume_fuel=True)
    # the cache is bounded and keeps the default engine whatever else comes
    stacks = [65536 + 4096 * i for i in range(_SHARED_ENGINES_MAX + 8)]
    engines = [shared_engine(Config(max_wasm_stack=s)) for s in stacks]
    assert len({id(e) for e in engines}) == len(stacks)
    from wasmbind import _core
    assert len(_core._shared_engines) <= _SHARED_ENGINES_MAX
    assert shared_engine() is wasmbind.default_engine()
    with pytest.raises(TypeError, match="Config"):
        shared_engine({"consume_fuel": True})


def test_epoch_engines_past_the_ticker_limit():
    # the ticker drives at most WB_MAX_ENGINES (4096) engines: one more raises
    # a WasmError saying so (not a misleading thread error), freeing engines
    # makes room again, and the engines alive keep working meanwhile
    code = r"""
    import gc, wasmbind
    from wasmbind import Config, Engine, Instance, Module, Store, Trap, TrapCode, WasmError
    first = Engine(Config.sandbox())
    spin = Module(first, '(module (func (export "spin") (loop $l br $l)))')
    engines = [first]
    try:
        while len(engines) < 5000:
            engines.append(Engine(Config.sandbox()))
        print("no limit")
    except WasmError as exc:
        print(len(engines), "too many engines" in str(exc) and "shared_engine" in str(exc))
    Engine(Config(epoch_interruption=False))  # not ticked: not counted
    s = Store(first)
    inst = Instance(s, spin)
    s.set_timeout(0.05)
    try:
        inst.exports.spin()
    except Trap as exc:
        print(exc.code == TrapCode.INTERRUPT)  # the ticker still ticks them all
    del engines[1:11]
    gc.collect()
    more = [Engine(Config.sandbox()) for _ in range(10)]
    try:
        Engine(Config.sandbox())
        print("no limit")
    except WasmError:
        print("full again")
    del engines, more, inst, s, spin, first
    gc.collect()
    print(wasmbind.instantiate('(module (func (export "f") (result i32) i32.const 1))').exports.f())
    """
    assert_clean(run_py(code, timeout=120), "4096 True\nTrue\nfull again\n1")
