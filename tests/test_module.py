"""Module: compile, wat2wasm, validate, serialize, imports/exports types, files."""

import os

import pytest

import wasmbind
from wasmbind import (
    CompileError,
    Engine,
    ExportType,
    FuncType,
    GlobalType,
    ImportType,
    Instance,
    MemoryType,
    Module,
    Store,
    TableType,
    ValType,
    wat2wasm,
)

WAT = """(module
  (import "env" "f" (func (param i32 i64) (result f32)))
  (import "env" "mem" (memory 1 5))
  (import "env" "g" (global (mut f64)))
  (import "env" "t" (table 2 funcref))
  (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add)
  (memory (export "memory") 2)
  (global (export "const") i64 (i64.const 5))
  (table (export "table") 3 10 externref)
)"""


def test_wat2wasm_roundtrip():
    wasm = wat2wasm("(module)")
    assert isinstance(wasm, bytes)
    assert wasm[:4] == b"\0asm"
    assert wat2wasm(b"(module)") == wasm
    assert wat2wasm(bytearray(b"(module)")) == wasm


def test_wat2wasm_errors():
    with pytest.raises(CompileError) as info:
        wat2wasm("(module (func (result i32) i32.bogus))")
    assert isinstance(info.value, ValueError)
    assert "bogus" in str(info.value)
    with pytest.raises(TypeError):
        wat2wasm(42)


def test_module_from_wat_str_bytes_and_binary(engine):
    for src in (WAT, WAT.encode(), wat2wasm(WAT), bytearray(wat2wasm(WAT)), memoryview(wat2wasm(WAT))):
        m = Module(engine, src)
        assert [e.name for e in m.exports] == ["add", "memory", "const", "table"]


def test_module_default_engine():
    assert Module(None, "(module)").engine is wasmbind.default_engine()


@pytest.mark.parametrize(
    "data",
    [b"", b"\0asm", b"\0asm\x01\0\0\0\xff\xff\xff", wat2wasm(WAT)[:-3], b"\x00\x01\x02garbage\xff",
     "(module (func (result i32)))", "(module", b"\xff\xfe\xfd"],
)
def test_bad_modules_raise_compile_error(engine, data):
    with pytest.raises(CompileError) as info:
        Module(engine, data)
    assert isinstance(info.value, ValueError)
    assert str(info.value)


def test_module_bad_source_type(engine):
    with pytest.raises(TypeError):
        Module(engine, 12)
    with pytest.raises(TypeError):
        Module(engine, None)


def test_validate(engine):
    assert Module.validate(engine, WAT) is None
    assert Module.validate(engine, wat2wasm("(module)")) is None
    with pytest.raises(CompileError):
        Module.validate(engine, b"\0asm\x01\0\0\0\x01")
    with pytest.raises(CompileError):
        Module.validate(engine, "(module (func (result i32) i64.const 0))")


def test_imports_types(engine):
    m = Module(engine, WAT)
    imps = m.imports
    assert imps == [
        ImportType("env", "f", FuncType([ValType.i32, ValType.i64], [ValType.f32])),
        ImportType("env", "mem", MemoryType(1, 5)),
        ImportType("env", "g", GlobalType(ValType.f64, True)),
        ImportType("env", "t", TableType(ValType.funcref, 2, None)),
    ]
    imps.clear()  # a copy: the module's list is unchanged
    assert len(m.imports) == 4


def test_exports_types(engine):
    m = Module(engine, WAT)
    assert m.exports == [
        ExportType("add", FuncType(["i32", "i32"], ["i32"])),
        ExportType("memory", MemoryType(2)),
        ExportType("const", GlobalType("i64", False)),
        ExportType("table", TableType("externref", 3, 10)),
    ]
    assert "imports=4" in repr(m) and "exports=4" in repr(m)


def test_memory64_and_shared_types():
    e = Engine(wasmbind.Config(wasm_memory64=True))
    m = Module(e, '(module (memory (export "m") i64 1 2) (memory (export "s") 1 4 shared))')
    assert m.exports[0].type == MemoryType(1, 2, memory64=True)
    assert m.exports[1].type == MemoryType(1, 4, shared=True)


def test_serialize_deserialize(engine):
    m = Module(engine, '(module (func (export "f") (result i32) i32.const 42))')
    data = m.serialize()
    assert isinstance(data, bytes) and len(data) > 100
    m2 = Module.deserialize(engine, data)
    assert m2.exports == m.exports
    assert Instance(Store(engine), m2).exports.f() == 42
    m3 = Module.deserialize(engine, bytearray(data))
    assert Instance(Store(engine), m3).exports.f() == 42


def test_deserialize_garbage(engine):
    with pytest.raises(CompileError):
        Module.deserialize(engine, b"not an artifact at all")
    with pytest.raises(TypeError):
        Module.deserialize(engine, "text")


def test_deserialize_incompatible_engine(engine):
    data = Module(engine, '(module (func (export "f")))').serialize()
    other = Engine(wasmbind.Config(consume_fuel=True))
    with pytest.raises(CompileError):
        Module.deserialize(other, data)


def test_from_file_wasm_and_wat(engine, tmp_path):
    wat = '(module (func (export "f") (result i32) i32.const 3))'
    p_wat = tmp_path / "m.wat"
    p_wat.write_text(wat)
    p_wasm = tmp_path / "m.wasm"
    p_wasm.write_bytes(wat2wasm(wat))
    for p in (p_wat, p_wasm, str(p_wat), str(p_wasm)):
        m = Module.from_file(engine, p)
        assert Instance(Store(engine), m).exports.f() == 3
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0\x05")
    with pytest.raises(CompileError):
        Module.from_file(engine, bad)
    with pytest.raises(FileNotFoundError):
        Module.from_file(engine, tmp_path / "missing.wasm")


def test_kernels_load(engine):
    from wasmbind.bench import kernels
    m = Module.from_file(engine, kernels.path("calls"))
    names = [e.name for e in m.exports]
    assert "add" in names and "memory" in names


def test_module_shared_across_stores(engine):
    m = Module(engine, '(module (global $g (mut i32) (i32.const 0))'
                       ' (func (export "inc") (result i32) global.get $g i32.const 1 i32.add'
                       ' global.set $g global.get $g))')
    a, b = Instance(Store(engine), m), Instance(Store(engine), m)
    assert a.exports.inc() == 1 and a.exports.inc() == 2
    assert b.exports.inc() == 1


def test_v128_export_types_do_not_abort():
    # The pinned engine's wasm_valtype_kind() aborts on v128: looking at such
    # a module's exports (or calling such a function) must not kill Python.
    from support import run_py
    proc = run_py("""
    import wasmbind
    m = wasmbind.Module(None, '(module (func (export "v") (param v128) (result v128) local.get 0))')
    print(m.exports[0].type == wasmbind.FuncType(["v128"], ["v128"]))
    """, timeout=60)
    assert proc.returncode == 0 and proc.stdout.strip() == "True", proc.stderr[-2000:]


# ---------------------------------------------------------------- names are exact

NUL_NAMES = r"""(module
  (import "env\00" "f\00" (func))
  (import "env" "f" (func))
  (func (export "a\00") (result i32) i32.const 1)
  (func (export "a") (result i32) i32.const 2)
  (func (export "b\00\00x") (result i32) i32.const 3)
  (func (export "\00") (result i32) i32.const 4)
  (func (export "") (result i32) i32.const 5))"""


def test_names_with_nul_bytes_are_listed_exactly(engine):
    # names are length-delimited: a NUL is part of the name, even at the end
    m = Module(engine, NUL_NAMES)
    assert [(i.module, i.name) for i in m.imports] == [("env\0", "f\0"), ("env", "f")]
    assert [e.name for e in m.exports] == ["a\0", "a", "b\0\0x", "\0", ""]


def _binary(name_bytes):
    """A module exporting one function under the raw bytes ``name_bytes``."""
    body = b"\x01" + bytes([len(name_bytes)]) + name_bytes + b"\x00\x00"
    return (b"\0asm\x01\0\0\0" + b"\x01\x04\x01\x60\x00\x00" + b"\x03\x02\x01\x00"
            + b"\x07" + bytes([len(body)]) + body + b"\x0a\x04\x01\x02\x00\x0b")


@pytest.mark.parametrize("name", [b"\xff", b"a\xc3", b"\xed\xa0\x80", b"\xc0\x80"])
def test_names_that_are_not_utf8_are_refused_by_the_engine(engine, name):
    # so every name wasmbind hands out is text, and every lookup is by text
    assert [e.name for e in Module(engine, _binary(b"ok")).exports] == ["ok"]
    with pytest.raises(CompileError, match="malformed UTF-8"):
        Module(engine, _binary(name))


def test_frame_names_keep_nul_bytes(engine):
    # a name section naming the function "f\0" and the module "m\0"
    names = b"\x00\x03\x02m\x00" + b"\x01\x05\x01\x00\x02f\x00"
    custom = b"\x04name" + names
    wasm = (b"\0asm\x01\0\0\0" + b"\x01\x04\x01\x60\x00\x00" + b"\x03\x02\x01\x00"
            + b"\x07\x06\x01\x02go\x00\x00" + b"\x0a\x05\x01\x03\x00\x00\x0b"
            + b"\x00" + bytes([len(custom)]) + custom)
    inst = Instance(Store(engine), Module(engine, wasm))
    with pytest.raises(wasmbind.Trap) as e:
        inst.exports.go()
    frame = e.value.frames[0]
    assert (frame.func_name, frame.module_name) == ("f\0", "m\0")


# ---------------------------------------------------------------- WAT files that are not UTF-8

@pytest.mark.parametrize("content", [
    b'(module (func (export "\xff")))',          # in a name
    b"(module)\n;; \xfe\xff a comment",          # in a comment
    b"  \n(module (memory 1) \xc3)",             # a truncated sequence
])
def test_wat_file_not_utf8_is_a_compile_error(engine, tmp_path, content):
    p = tmp_path / "bad.wat"
    p.write_bytes(content)
    with pytest.raises(CompileError, match="WAT text is not valid UTF-8") as e:
        Module.from_file(engine, p)
    assert isinstance(e.value, ValueError) and str(p) in str(e.value)
    with pytest.raises(CompileError, match="WAT text is not valid UTF-8"):
        Module(engine, content)
    with pytest.raises(CompileError):
        wat2wasm(content)


def test_wat_file_with_a_non_utf8_file_name(engine, tmp_path):
    name = os.fsdecode(b"m\xff.wat")
    p = tmp_path / name
    p.write_text('(module (func (export "f") (result i32) i32.const 3))')
    assert Instance(Store(engine), Module.from_file(engine, p)).exports.f() == 3
    assert Instance(Store(engine), Module.from_file(engine, os.fsencode(p))).exports.f() == 3
    (tmp_path / os.fsdecode(b"bad\xfe.wat")).write_bytes(b"(module \xff)")
    with pytest.raises(CompileError, match="not valid UTF-8"):
        Module.from_file(engine, tmp_path / os.fsdecode(b"bad\xfe.wat"))
