"""Components: loading, validating, (de)serializing, telling them from core
modules, and reading their types (imports, exports, WIT-like printing)."""

import pytest
from component_build import COMPONENTS, parse, wit_of

import wasmbind
from wasmbind import CompileError, Module
from wasmbind.component import Component, FuncType, InstanceType, WitType

ADD = (COMPONENTS / "add.wat").read_text()
CORE = '(module (func (export "f") (result i32) i32.const 1))'


def test_from_text_and_binary(engine, echo_wasm):
    c1 = Component(engine, ADD)
    c2 = Component(engine, parse(ADD))
    assert c1.exports == c2.exports
    c3 = Component(engine, bytearray(echo_wasm))
    c4 = Component(engine, memoryview(echo_wasm))
    assert set(c3.exports) == set(c4.exports) >= {"add", "echo-string"}


def test_default_engine():
    assert "add" in Component(None, ADD).exports


def test_from_file(engine, tmp_path, echo_wasm):
    p = tmp_path / "c.wasm"
    p.write_bytes(echo_wasm)
    assert "echo-point" in Component.from_file(engine, p).exports
    t = tmp_path / "c.wat"
    t.write_text(ADD)
    assert "add" in Component.from_file(engine, str(t)).exports
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x0d\x00\x01\x00garbage")
    with pytest.raises(CompileError, match="bad.wasm"):
        Component.from_file(engine, bad)


def test_validate(engine, echo_wasm):
    assert Component.validate(engine, echo_wasm) is None
    with pytest.raises(CompileError):
        Component.validate(engine, echo_wasm[:40])


def test_core_module_where_component_expected(engine):
    binary = wasmbind.wat2wasm(CORE)
    for src in (CORE, binary, bytearray(binary)):
        with pytest.raises(CompileError, match="got a core WebAssembly module"):
            Component(engine, src)
    with pytest.raises(CompileError, match="got a core"):
        Component.validate(engine, binary)


def test_component_where_module_expected(engine, echo_wasm):
    for src in (ADD, echo_wasm, bytearray(echo_wasm)):
        with pytest.raises(CompileError, match="got a component"):
            Module(engine, src)
    with pytest.raises(CompileError, match="got a component"):
        Module.validate(engine, echo_wasm)


@pytest.mark.parametrize("data", [b"", b"\0asm", b"\0asm\x0d\x00\x01\x00\xff\xff\xff",
                                  b"\x00\x01\x02garbage\xff", b"(component (func $f", "(component (oops))",
                                  "not wasm at all"])
def test_garbage_is_compile_error(engine, data):
    with pytest.raises(CompileError):
        Component(engine, data)


def test_wrong_source_type(engine):
    for bad in (None, 42, 1.5, object()):
        with pytest.raises(TypeError, match="component source"):
            Component(engine, bad)


def test_serialize_roundtrip(engine, echo_component):
    data = echo_component.serialize()
    assert isinstance(data, bytes) and data[:4] == b"\x7fELF"
    c = Component.deserialize(engine, data)
    assert c.exports.keys() == echo_component.exports.keys()
    store = wasmbind.Store(engine)
    assert wasmbind.component.Linker(engine).instantiate(store, c).exports.add(2, 3) == 5


def test_deserialize_refuses_non_artifacts(engine, echo_wasm):
    with pytest.raises(CompileError, match="not serialized data|WebAssembly binary"):
        Component.deserialize(engine, echo_wasm)
    for bad in (b"", b"garbage", b"\x7fELF" + b"\0" * 64):
        with pytest.raises(CompileError):
            Component.deserialize(engine, bad)
    module_data = Module(engine, CORE).serialize()
    with pytest.raises(CompileError):
        Component.deserialize(engine, module_data)
    with pytest.raises(TypeError):
        Component.deserialize(engine, 12)


def test_exports_types(echo_component):
    ex = echo_component.exports
    add = ex["add"]
    assert isinstance(add, FuncType)
    assert [(n, str(t)) for n, t in add.params] == [("a", "u32"), ("b", "u32")]
    assert str(add.result) == "u32"
    assert str(add) == "func(a: u32, b: u32) -> u32"
    assert str(ex["echo-bytes"]) == "func(b: list<u8>) -> list<u8>"
    p = ex["echo-point"].params[0][1]
    assert isinstance(p, WitType) and p.kind == "record"
    assert list(p.fields) == ["a", "b", "c", "d"] and all(str(t) == "u32" for t in p.fields.values())
    assert str(p) == "record { a: u32, b: u32, c: u32, d: u32 }"
    assert ex["trap"].result is None and ex["trap"].params == ()
    assert isinstance(ex["point"], WitType)
    assert echo_component.imports == {}


def test_world_text(echo_component):
    text = str(echo_component.type)
    assert text.startswith("world {") and text.endswith("}")
    assert "  export add: func(a: u32, b: u32) -> u32;" in text
    assert "export echo-string: func(s: string) -> string;" in text
    assert "export type point = record { a: u32, b: u32, c: u32, d: u32 };" in text
    assert "add" in repr(echo_component)


IMPORTS = """
(component
  (import "ns:pkg/iface@1.0.0" (instance
    (type $e0 (enum "a" "b" "list"))
    (export "e" (type $e (eq $e0)))
    (type $fl0 (flags "r" "w"))
    (export "fl" (type $fl (eq $fl0)))
    (export "f" (func (param "x" (option (list string))) (result (result u8 (error string)))))
    (export "g" (func (param "flag" bool) (param "e" $e) (param "fl" $fl)))
    (export "t" (func (result (tuple char s64 f32))))
  ))
  (import "log" (func (param "msg" string)))
)
"""


def test_imports_and_interfaces(engine):
    c = Component(engine, IMPORTS)
    imp = c.imports
    assert set(imp) == {"ns:pkg/iface@1.0.0", "log"}
    iface = imp["ns:pkg/iface@1.0.0"]
    assert isinstance(iface, InstanceType) and set(iface) == {"e", "fl", "f", "g", "t"}
    assert str(iface["e"]) == "enum { a, b, %list }"
    assert set(iface.functions) == {"f", "g", "t"}
    assert str(iface["f"]) == "func(x: option<list<string>>) -> result<u8, string>"
    assert str(iface["g"]) == "func(flag: bool, e: enum { a, b, %list }, fl: flags { r, w })"
    assert str(iface["t"]) == "func() -> tuple<char, s64, f32>"
    e = iface["g"].params[1][1]
    assert e.kind == "enum" and e.names == ("a", "b", "list")
    r = iface["f"].result
    assert r.kind == "result" and str(r.ok) == "u8" and str(r.err) == "string"
    assert str(imp["log"]) == "func(msg: string)"
    text = str(c.type)
    assert "import ns:pkg/iface@1.0.0: interface {" in text and "import log: func(msg: string);" in text


def test_types_agree_with_wasm_tools():
    """wasm-tools, an independent reader, sees the same functions."""
    wit = wit_of(parse(ADD))
    assert "export add: func(a: u32, b: u32) -> u32;" in wit
    wit = wit_of(parse(IMPORTS))
    assert "log: func(msg: string);" in wit and "ns:pkg/iface@1.0.0" in wit


def test_uninitialized_component():
    c = Component.__new__(Component)
    with pytest.raises(wasmbind.WasmError, match="not initialized"):
        c.serialize()
    assert "uninitialized" in repr(c)
