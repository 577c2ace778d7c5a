"""The component Linker: Python functions implementing a component's imports
(arguments and results converted by the import's WIT type, results and
errors, exceptions passing through unchanged), scopes, unknown imports, and
instantiation failures."""

import pytest
from component_build import kitchen_host

import wasmbind
from wasmbind import LinkError, Store, Trap
from wasmbind.component import Component, ComponentError, Err, Linker, Ok, Record, Some, Variant

LOGGER = """
(component
  (import "log" (func $log (param "msg" u32)))
  (core func $log-core (canon lower (func $log)))
  (core module $m
    (import "host" "log" (func $log (param i32)))
    (func (export "run") (param i32) (call $log (local.get 0)) (call $log (i32.add (local.get 0) (i32.const 1)))))
  (core instance $i (instantiate $m (with "host" (instance (export "log" (func $log-core))))))
  (func (export "run") (param "n" u32) (canon lift (core func $i "run")))
)
"""


def test_host_values_both_ways(kitchen):
    api, _, log = kitchen
    assert api.via_host_add(2, 3) == 5
    assert api.via_host_point(Record(x=1, y=2)) == Record(x=1, y=2)
    assert api.via_host_shape(Variant("circle", 2.5)) == Variant("circle", 2.5)
    assert api.via_host_shape(Variant("rect", {"x": -1, "y": 1})) == Variant("rect", Record(x=-1, y=1))
    assert api.via_host_list([-(2**63), 2**63 - 1]) == [-(2**63), 2**63 - 1]
    for v in (None, Some(None), Some(3)):
        assert api.via_host_opt(v) == v
    assert api.via_host_res(Ok("yes")) == "yes"
    with pytest.raises(ComponentError) as info:
        api.via_host_res(Err(7))
    assert info.value.value == 7
    assert api.via_host_misc("blue", {"read"}, (True, "ß", 0.5), b"\x00\xff") == \
        ("blue", frozenset({"read"}), (True, "ß", 0.5), b"\x00\xff")
    api.via_host_log("hello from the host")
    assert log == ["hello from the host"]


def test_host_result_and_component_error(kitchen):
    api, _, _ = kitchen
    assert api.via_host_fails(4) == "ok:2"
    assert api.via_host_fails(3) == "err:odd: 3"


def test_host_exception_comes_back_unchanged(engine, kitchen_component):
    store = Store(engine)
    linker = Linker(engine, allow_shadowing=True)
    linker.add_wasip2()
    kitchen_host(linker)
    boom = KeyError("the same object")

    def add(a, b):
        raise boom
    linker.instance("demo:kitchen/host").add_func("add", add)
    api = linker.instantiate(store, kitchen_component).exports["demo:kitchen/api"]
    with pytest.raises(KeyError) as info:
        api.via_host_add(1, 2)
    assert info.value is boom


def test_host_bad_return_value(engine, kitchen_component):
    store = Store(engine)
    linker = Linker(engine, allow_shadowing=True)
    linker.add_wasip2()
    kitchen_host(linker)
    host = linker.instance("demo:kitchen/host")
    host.add_func("add", lambda a, b: "three")
    host.add_func("echo-point", lambda p: {"x": 1, "y": 2**40})
    api = linker.instantiate(store, kitchen_component).exports["demo:kitchen/api"]
    with pytest.raises(TypeError, match="host function demo:kitchen/host#add returned a bad value: result: "
                                        "expected u32, got str"):
        api.via_host_add(1, 2)


def test_root_functions_and_decorator(engine):
    seen = []
    linker = Linker(engine)

    @linker.root.func("log")
    def log(n):
        seen.append(n)
    c = Component(engine, LOGGER)
    inst = linker.instantiate(Store(engine), c)
    inst.exports.run(41)
    assert seen == [41, 42]
    assert "root" in repr(linker.root)


def test_missing_import_is_link_error(engine):
    c = Component(engine, LOGGER)
    with pytest.raises(LinkError, match="log"):
        Linker(engine).instantiate(Store(engine), c)


def test_wrong_import_type_is_link_error(engine):
    linker = Linker(engine)
    linker.instance("log")   # an instance where a function is expected
    with pytest.raises(LinkError):
        linker.instantiate(Store(engine), Component(engine, LOGGER))


def test_unknown_imports_as_traps(engine):
    c = Component(engine, LOGGER)
    linker = Linker(engine)
    linker.define_unknown_imports_as_traps(c)
    inst = linker.instantiate(Store(engine), c)
    with pytest.raises(Trap):
        inst.exports.run(1)


def test_duplicate_definition_needs_shadowing(engine):
    linker = Linker(engine)
    linker.root.add_func("log", print)
    with pytest.raises(LinkError):
        linker.root.add_func("log", print)
    linker.allow_shadowing = True
    linker.root.add_func("log", print)


def test_bad_arguments(engine):
    linker = Linker(engine)
    with pytest.raises(TypeError, match="callable"):
        linker.root.add_func("f", 5)
    with pytest.raises(TypeError):
        linker.root.add_func(5, print)
    with pytest.raises(ValueError):
        linker.root.add_func("", print)
    with pytest.raises(ValueError):
        linker.instance("a\udc80")
    with pytest.raises(TypeError, match="core Module"):
        linker.instantiate(Store(engine), wasmbind.Module(engine, "(module)"))
    with pytest.raises(ValueError, match="one Engine"):
        linker.instantiate(Store(wasmbind.Engine()), Component(engine, LOGGER))


def test_nested_scopes(engine):
    linker = Linker(engine)
    s = linker.instance("a:b/c@1.0.0")
    t = s.instance("inner")
    assert t.path == ("a:b/c@1.0.0", "inner")
    t.add_func("f", print)
    s.add_func("g", print)    # reopening an instance keeps what it has


def test_fuel_and_deadline_carry_over(engine):
    """A host function that loops back into Wasm is interrupted by the store's deadline."""
    eng = wasmbind.Engine(wasmbind.Config(consume_fuel=True))
    c = Component(eng, LOGGER)
    linker = Linker(eng)
    linker.root.add_func("log", lambda n: None)
    store = Store(eng)
    store.set_fuel(10000)
    inst = linker.instantiate(store, c)
    inst.exports.run(1)
    store.set_fuel(1)
    with pytest.raises(Trap) as info:
        inst.exports.run(1)
    assert info.value.code == wasmbind.TrapCode.OUT_OF_FUEL
    assert str(info.value).startswith("all fuel consumed")
