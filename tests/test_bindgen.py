"""Typed bindings (wasmbind.component.codegen, `python -m wasmbind bindgen`):
generated for the test components, imported and called in a child process,
imports implemented as Protocol classes, mypy --strict on the output and on
user programs (one with type errors mypy must report), regeneration
identical, WIT input through wasm-tools, `inspect --wit`."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from component_build import COMPONENTS, need_wasm_tools, parse

import wasmbind
from wasmbind.component import Component, Linker, Record
from wasmbind.component.codegen import bindgen, generate

from support import python_env

EDGE_WIT = COMPONENTS / "bindgen" / "edge.wit"


def _run(path, cwd, timeout=120):
    env = python_env()
    env["PYTHONPATH"] = str(cwd) + os.pathsep + env["PYTHONPATH"]
    return subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=env)


def _mypy(cwd, *targets, cache):
    return subprocess.run([sys.executable, "-m", "mypy", "--strict", "--no-error-summary",
                           "--cache-dir", str(cache), *targets], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=python_env())


@pytest.fixture(scope="module")
def mypy_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("mypy-cache")


@pytest.fixture(scope="module")
def kitchen_pkg(tmp_path_factory, kitchen_wasm):
    out = tmp_path_factory.mktemp("kitchen-bindings")
    bindgen(kitchen_wasm, out, name="kitchen")
    return out


KITCHEN_USER = '''
from __future__ import annotations

import sys
from typing import List, Optional, Tuple, Union

from wasmbind import Engine, Store, WasmError
from wasmbind.component import Component, ComponentError, Err, Ok, Record, Some

from kitchen import (Api, Blob, Color, Counter, DivideError, EchoResultError, FailsError, Host, Perms, Point,
                     Root, Shape, ShapeCircle, ShapeEmpty, ShapeRect)


class MyBlob:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def size(self) -> int:
        return len(self.data)


class MyHost:
    """Implements the Host protocol: a plain class, no base."""
    blob = MyBlob

    def __init__(self) -> None:
        self.logged: List[str] = []
        self.seen: List[object] = []

    def log(self, msg: str) -> None:
        self.logged.append(msg)

    def add(self, a: int, b: int) -> int:
        return (a + b) & 0xFFFFFFFF

    def echo_point(self, p: Point) -> Point:
        self.seen.append(p)
        return Point(p.x + 1, p.y)

    def echo_shape(self, s: Shape) -> Shape:
        self.seen.append(s)
        return s

    def echo_list(self, xs: List[int]) -> List[int]:
        return xs

    def echo_opt(self, x: Optional[Some]) -> Optional[Some]:
        return x

    def echo_res(self, x: Union[Ok, Err]) -> str:
        return str(x.value)

    def fails(self, x: int) -> int:
        if x % 2:
            raise FailsError("odd: %d" % x)
        return x // 2

    def echo_misc(self, c: Color, f: Perms, t: Tuple[bool, str, float],
                  b: bytes) -> Tuple[Color, Perms, Tuple[bool, str, float], bytes]:
        self.seen.append((c, f))
        return (c, f | Perms.EXEC, t, b)

    def blob_size(self, b: Blob) -> int:
        return b.size()


def main(path: str) -> None:
    engine = Engine()
    component = Component.from_file(engine, path)
    host: Host = MyHost()
    root = Root(Store(engine), component, host=host)
    api: Api = root.api
    # every value kind
    assert api.echo_bool(True) is True
    for f, v in ((api.echo_s8, -128), (api.echo_u8, 255), (api.echo_s16, -32768), (api.echo_u16, 65535),
                 (api.echo_s32, -2**31), (api.echo_u32, 2**32 - 1), (api.echo_s64, -2**63),
                 (api.echo_u64, 2**64 - 1)):
        assert f(v) == v, f
    assert api.echo_f32(1.5) == 1.5 and api.echo_f64(-0.25) == -0.25
    assert api.echo_char("\\u00e9") == "\\u00e9" and api.echo_string("h\\u00e9") == "h\\u00e9"
    assert api.echo_bytes(b"\\x00\\x01") == b"\\x00\\x01"
    assert api.echo_list([1, -2]) == [1, -2] and api.echo_f64s([0.5]) == [0.5]
    assert api.echo_strings(["a", "b"]) == ["a", "b"]
    p = api.echo_point(Point(1, 2))
    assert type(p) is Point and p == Point(1, 2), p
    ps = api.echo_points([Point(1, 2), Point(3, 4)])
    assert ps == [Point(1, 2), Point(3, 4)] and all(type(q) is Point for q in ps)
    s = api.echo_shape(ShapeRect(Point(3, 4)))              # a record nested in a variant
    assert type(s) is ShapeRect and type(s.value) is Point and s.value == Point(3, 4), s
    assert type(api.echo_shape(ShapeEmpty())) is ShapeEmpty
    assert api.echo_shape(ShapeCircle(1.5)) == ShapeCircle(1.5)
    assert isinstance(api.echo_shape(ShapeCircle(1.5)), Shape)
    assert api.echo_color(Color.GREEN) is Color.GREEN
    both = api.echo_perms(Perms.READ | Perms.EXEC)
    assert type(both) is Perms and both == Perms.READ | Perms.EXEC
    assert api.echo_perms(Perms(0)) == Perms(0)
    assert api.echo_opt(None) is None and api.echo_opt(3) == 3
    assert api.echo_opt2(Some(None)) == Some(None) and api.echo_opt2(Some(4)) == Some(4)
    assert api.echo_opt2(None) is None
    assert api.echo_tuple((1, "a", True)) == (1, "a", True)
    assert api.echo_result(Ok(5)) == 5
    try:
        api.echo_result(Err("no"))
        raise AssertionError("no error")
    except EchoResultError as exc:
        assert exc.value == "no" and isinstance(exc, ComponentError)
    assert api.echo_results([Ok(1), Err("x")]) == [Ok(1), Err("x")]
    try:
        api.divide(1, 0)
        raise AssertionError("no error")
    except DivideError as exc:
        assert exc.value == "division by zero"
    assert api.divide(7, 2) == 3
    # a resource the component defines
    with Counter(api, 5) as c:
        assert type(c) is Counter
        assert c.inc() == 6 and c.get() == 6
        assert api.peek_counter(c) == 6
    assert c.dropped
    c2 = Counter(api, 1)
    assert api.take_counter(c2) == 1
    try:
        c2.get()
        raise AssertionError("a moved handle was usable")
    except WasmError as exc:
        assert "moved" in str(exc), exc
    # the imports, implemented by MyHost: values arrive as the generated classes
    assert api.via_host_add(2, 3) == 5
    assert api.via_host_point(Point(1, 2)) == Point(2, 2)
    assert api.via_host_shape(ShapeRect(Point(1, 1))) == ShapeRect(Point(1, 1))
    out = api.via_host_misc(Color.RED, Perms.WRITE, (True, "x", 0.5), b"hi")
    assert out == (Color.RED, Perms.WRITE | Perms.EXEC, (True, "x", 0.5), b"hi"), out
    assert api.via_host_fails(3) == "err:odd: 3" and api.via_host_fails(4) == "ok:2"
    assert api.via_host_blob(b"abc") == (3, 3)       # a host-defined resource
    api.via_host_log("hey")
    assert host.logged == ["hey"]                     # type: ignore[attr-defined]
    seen = host.seen                                  # type: ignore[attr-defined]
    assert type(seen[0]) is Point and type(seen[1]) is ShapeRect and type(seen[1].value) is Point, seen
    assert type(seen[2][0]) is Color and type(seen[2][1]) is Perms, seen
    # a wrong value still gets the runtime's TypeError with its path
    try:
        api.echo_point(Point(1, "2"))                 # type: ignore[arg-type]
        raise AssertionError("no error")
    except TypeError as exc:
        assert ".y: expected s32, got str" in str(exc), exc
    print("ok")


main(sys.argv[1] if len(sys.argv) > 1 else "")
'''


def test_kitchen_bindings_call_every_function(kitchen_pkg, kitchen_wasm):
    """The kitchen (built by componentize-py): every export through the
    generated classes, the imports implemented by a plain class."""
    prog = kitchen_pkg / "user_ok.py"
    prog.write_text(KITCHEN_USER.replace('sys.argv[1] if len(sys.argv) > 1 else ""', repr(str(kitchen_wasm))))
    proc = _run(prog, kitchen_pkg)
    assert proc.returncode == 0 and proc.stdout.strip() == "ok", proc.stdout + proc.stderr[-3000:]


def test_mypy_strict_on_bindings_and_user_program(kitchen_pkg, mypy_cache):
    prog = kitchen_pkg / "user_typed.py"
    prog.write_text(KITCHEN_USER)
    proc = _mypy(kitchen_pkg, "kitchen", "user_typed.py", cache=mypy_cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_mypy_reports_wrong_calls(kitchen_pkg, mypy_cache):
    prog = kitchen_pkg / "user_wrong.py"
    prog.write_text(textwrap.dedent('''
        from wasmbind import Engine, Store
        from wasmbind.component import Component
        from kitchen import Color, Point, Root


        class NoHost:
            pass


        def main(component: Component) -> None:
            root = Root(Store(Engine()), component, host=NoHost())
            root.api.echo_u32("seven")
            Point(1)
            root.api.echo_color("red")
            n: str = root.api.echo_point(Point(1, 2)).x
            root.api.no_such_function()
    '''))
    proc = _mypy(kitchen_pkg, "user_wrong.py", cache=mypy_cache)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    out = proc.stdout
    for line, what in ((12, "host"), (13, "echo_u32"), (14, "Point"), (15, "echo_color"), (16, "assignment"),
                       (17, "no_such_function")):
        assert ("user_wrong.py:%d:" % line) in out and what in out, (line, what, out)


def test_generating_twice_gives_identical_files(kitchen_wasm, tmp_path):
    first = generate(kitchen_wasm, "kitchen")
    assert generate(kitchen_wasm, "kitchen") == first
    a, b = tmp_path / "a", tmp_path / "b"
    bindgen(kitchen_wasm, a, name="kitchen")
    proc = subprocess.run([sys.executable, "-m", "wasmbind", "bindgen", str(kitchen_wasm), "-o", str(b),
                           "--name", "kitchen"], capture_output=True, text=True, timeout=300, env=python_env())
    assert proc.returncode == 0, proc.stderr
    for rel, text in first.items():
        assert (a / rel).read_text(encoding="utf-8") == text
        assert (b / rel).read_bytes() == (a / rel).read_bytes()
    assert str(tmp_path) not in first["kitchen/__init__.py"]     # no paths of this machine


def test_root_level_exports_and_hooks_are_per_instance(engine, echo_wasm, tmp_path):
    """echo.wat: the world's own exports as Root methods; an instance made
    without the bindings still gets plain Records (hooks are per instance)."""
    comp = Component(engine, echo_wasm)
    bindgen(comp, tmp_path, name="echo_bindings")
    sys.path.insert(0, str(tmp_path))
    try:
        import echo_bindings as eb
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("echo_bindings", None)
    root = eb.Root(wasmbind.Store(engine), comp)
    assert root.add(2, 3) == 5 and root.echo_string("hé") == "hé" and root.echo_bytes(b"ab") == b"ab"
    assert root.echo_u32s([1, 2]) == [1, 2]
    got = root.echo_point(eb.Point(1, 2, 3, 4))
    assert type(got) is eb.Point and got == eb.Point(1, 2, 3, 4)
    assert root.echo_point(Record(a=1, b=2, c=3, d=4)) == eb.Point(1, 2, 3, 4)   # Records still accepted
    with pytest.raises(wasmbind.Trap):
        root.trap()
    plain = Linker(engine).instantiate(wasmbind.Store(engine), comp).exports
    back = plain.echo_point(eb.Point(1, 2, 3, 4))
    assert type(back) is Record and back == Record(a=1, b=2, c=3, d=4)


@pytest.fixture(scope="module")
def edge_pkg(tmp_path_factory):
    need_wasm_tools()
    out = tmp_path_factory.mktemp("edge-bindings")
    bindgen(EDGE_WIT, out, name="edge")
    return out


def test_wit_input_names_and_kinds(edge_pkg, mypy_cache):
    """A WIT file (made a stand-in component by wasm-tools): keyword clashes,
    kebab-case, nested records, statics, results without ok, root imports."""
    text = (edge_pkg / "edge" / "__init__.py").read_text()
    for want in ("def lookup(self, from_: Range, in_: _t.Optional[Tree]) -> Outer:",
                 "def pick(self, class_: int) -> _t.Tuple[Big, DarkMode]:",
                 "    type_: str", "    from_: int", 'setattr(Range, "from", property(lambda self: self.from_))',
                 'AUTO_DETECT = "auto-detect"', "class Big(_enum.Flag):", "C = 4",
                 "    maybe: _t.Optional[Range]", "class TreeNode(Tree):", "value: _t.List[Outer]",
                 "    @staticmethod\n    def open(owner: Types, name: str) -> Session:",
                 "    def close(self) -> None:", "class SessionCloseError(_ComponentError):",
                 "class Log(_t.Protocol):", "def sink(self) -> _t.Callable[[], Sink]:",
                 "class Imports(_t.Protocol):", "    def now(self) -> int:",
                 "log: Log, imports: Imports", "    def version(self) -> str:",
                 "class WitLookupError(_ComponentError):"):   # not the builtin LookupError
        assert want in text, want
    proc = _mypy(edge_pkg, "edge", cache=mypy_cache)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_wit_input_instantiates_with_protocol_objects(edge_pkg):
    prog = edge_pkg / "use_edge.py"
    prog.write_text(textwrap.dedent('''
        from wasmbind import Engine, Store, Trap
        from wasmbind.component.codegen import load_component
        from edge import Range, Root

        class Sink:
            def write(self, line: str) -> None:
                pass

        class Log:
            sink = Sink
            def emit(self, s: Sink, level: int) -> None:
                pass

        class Imports:
            def now(self) -> int:
                return 1

        engine = Engine()
        component = load_component(%r, engine=engine)
        root = Root(Store(engine), component, log=Log(), imports=Imports())
        try:
            root.types.lookup(Range(1, 2, "t"), None)     # the stand-in's functions trap
        except Trap:
            print("trap")
        r = Range(1, 2, "x")
        assert getattr(r, "from") == 1 and r.from_ == 1 and r.type_ == "x"

        class Incomplete:
            sink = Sink

        try:
            Root(Store(engine), component, log=Incomplete(), imports=Imports())  # type: ignore[arg-type]
        except TypeError as exc:
            print("missing:", exc)
    ''' % str(EDGE_WIT)))
    proc = _run(prog, edge_pkg)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert lines[0] == "trap" and "has no method 'emit'" in lines[1], proc.stdout


def test_inspect_wit(kitchen_wasm):
    proc = subprocess.run([sys.executable, "-m", "wasmbind", "inspect", str(kitchen_wasm), "--wit"],
                          capture_output=True, text=True, timeout=300, env=python_env())
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for want in ("interface host {  // demo:kitchen/host", "  record point { x: s32, y: s32 }",
                 "  variant shape { circle(f64), rect(point), empty }", "  flags perms { read, write, exec }",
                 "  use host.{point, shape, color, perms};", "  resource counter {\n    constructor(start: u32);",
                 "    inc: func() -> u32;", "  echo-points: func(p: list<point>) -> list<point>;",
                 "  take-counter: func(c: counter) -> u32;", "  peek-counter: func(c: borrow<counter>) -> u32;",
                 "world root {", "  import demo:kitchen/host;", "  export demo:kitchen/api;"):
        assert want in out, want


def test_bad_inputs(tmp_path, engine):
    with pytest.raises(ValueError, match="identifier"):
        generate(parse("(component)"), "not-a-name")
    core = tmp_path / "core.wasm"
    core.write_bytes(parse("(module)"))
    proc = subprocess.run([sys.executable, "-m", "wasmbind", "bindgen", str(core), "-o", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120, env=python_env())
    assert proc.returncode == 1 and proc.stderr.startswith("wasmbind: error:") and "module" in proc.stderr, \
        proc.stderr
    proc = subprocess.run([sys.executable, "-m", "wasmbind", "bindgen", str(tmp_path / "nope.wasm"), "-o", "x"],
                          capture_output=True, text=True, timeout=120, env=python_env())
    assert proc.returncode == 2 and "no such file" in proc.stderr
    if EDGE_WIT.exists():
        need_wasm_tools()
        bad = tmp_path / "bad.wit"
        bad.write_text("package a:b;\ninterface i { f: func(x: nope); }\nworld w { export i; }\n")
        with pytest.raises(ValueError, match="wasm-tools could not read"):
            generate(bad, "b")


def test_bind_type_refuses_wrong_hooks(echo):
    from wasmbind._core import _bind_type
    point = echo.echo_point.type.result
    add_t = echo.add.type.result
    with pytest.raises(TypeError, match="only records"):
        _bind_type(add_t, int)
    with pytest.raises(TypeError, match="callable"):
        _bind_type(point, 3)
    _bind_type(point, lambda *v: ("built", v))
    assert echo.echo_point(Record(a=1, b=2, c=3, d=4)) == ("built", (1, 2, 3, 4))
    _bind_type(point, None)
    assert echo.echo_point(Record(a=1, b=2, c=3, d=4)) == Record(a=1, b=2, c=3, d=4)


def test_generated_package_imports_nothing_but_wasmbind(kitchen_pkg):
    text = Path(kitchen_pkg / "kitchen" / "__init__.py").read_text()
    imports = {line.split()[1] for line in text.splitlines() if line.startswith(("import ", "from "))}
    assert imports <= {"__future__", "dataclasses", "enum", "typing", "wasmbind", "wasmbind.component"}, imports
