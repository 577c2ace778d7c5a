"""Tags (exception handling): real externs, made from Python or exported,
passed as imports, compared by identity."""

import pickle

import pytest

import wasmbind
from wasmbind import (
    FuncType,
    Instance,
    Linker,
    LinkError,
    Module,
    Store,
    Tag,
    TagType,
    ValType,
    WasmError,
)

i32, i64, f32, f64 = ValType.i32, ValType.i64, ValType.f32, ValType.f64

TAGS_WAT = """(module
  (tag $a (export "a") (param i32 f64))
  (tag $e (export "e"))
  (export "a2" (tag $a)))"""

IMPORTS_WAT = """(module
  (import "m" "t" (tag $t (param i32 f64)))
  (export "t" (tag $t))
  (func (export "throw") (param i32 f64) (throw $t (local.get 0) (local.get 1))))"""


@pytest.fixture
def s(exn_engine):
    st = Store(exn_engine)
    yield st
    st.close()


def test_tagtype_from_value_types_or_a_functype():
    assert TagType([i32, f64]) == TagType(FuncType([i32, f64], []))
    assert TagType(["i64"]).params == (i64,)
    assert TagType([]).params == ()
    assert repr(TagType([i32, f64])) == "TagType([i32, f64])"
    assert hash(TagType([i32])) == hash(TagType(FuncType([i32], [])))
    assert pickle.loads(pickle.dumps(TagType([f32]))) == TagType([f32])
    with pytest.raises(ValueError, match="no results"):
        TagType(FuncType([i32], [i32]))
    for bad in ("i32", [object()], ["nope"], 5):
        with pytest.raises(TypeError):
            TagType(bad)


def test_tag_made_from_python_has_its_type(s):
    t = Tag(s, TagType([i32, f64]))
    assert t.type == TagType([i32, f64])
    assert t.store is s
    assert "TagType([i32, f64])" in repr(t)
    assert Tag(s, TagType([])).type.params == ()


def test_tags_compare_by_identity(s):
    a = Tag(s, TagType([i32]))
    b = Tag(s, TagType([i32]))
    assert a == a and a != b and not (a != a) and not (a == b)
    inst = Instance(s, Module(s.engine, TAGS_WAT))
    x, y = inst.exports["a"], inst.exports["a2"]  # the same tag, exported twice
    assert isinstance(x, Tag) and isinstance(y, Tag)
    assert x is not y and x == y and hash(x) == hash(y)
    assert inst.exports["e"] != x
    assert x.type == TagType([i32, f64]) and inst.exports["e"].type == TagType([])
    assert len({x, y, inst.exports["e"]}) == 2
    assert x != 5 and x != None  # noqa: E711


def test_tag_passed_as_import_by_sequence_mapping_and_linker(s):
    m = Module(s.engine, IMPORTS_WAT)
    assert m.imports[0].type == TagType([i32, f64])
    t = Tag(s, TagType([i32, f64]))
    for imports in ([t], {"m": {"t": t}}):
        inst = Instance(s, m, imports)
        assert inst.exports["t"] == t and hash(inst.exports["t"]) == hash(t)
    linker = Linker(s.engine)
    linker.define(s, "m", "t", t)
    inst = linker.instantiate(s, m)
    assert inst.exports["t"] == t
    assert linker.get(s, "m", "t") == t
    # an exported tag goes on to another instance
    other = Instance(s, m, [inst.exports["t"]])
    assert other.exports["t"] == t


def test_tag_of_the_wrong_type_is_a_link_error(s):
    m = Module(s.engine, IMPORTS_WAT)
    for tt in (TagType([i32]), TagType([f64, i32]), TagType([])):
        with pytest.raises(LinkError):
            Instance(s, m, [Tag(s, tt)])
    with pytest.raises(LinkError):
        Linker(s.engine).define(s, "m", "t", Tag(s, TagType([i64]))) or \
            Linker(s.engine).instantiate(s, m)


def test_tag_where_another_extern_is_declared_is_refused(s):
    m = Module(s.engine, '(module (import "m" "f" (func)))')
    with pytest.raises(LinkError):
        Instance(s, m, [Tag(s, TagType([]))])
    tag_module = Module(s.engine, IMPORTS_WAT)
    with pytest.raises((LinkError, TypeError)):
        Instance(s, tag_module, [wasmbind.Global(s, wasmbind.GlobalType(i32, False), 1)])


def test_tag_of_another_store_is_refused(exn_engine, s):
    other = Store(exn_engine)
    t = Tag(other, TagType([i32, f64]))
    m = Module(s.engine, IMPORTS_WAT)
    with pytest.raises(ValueError, match="different Store"):
        Instance(s, m, [t])
    with pytest.raises(ValueError, match="different Store"):
        Linker(s.engine).define(s, "m", "t", t)
    mine = Tag(s, TagType([i32, f64]))
    assert mine != t  # never handed to the engine together
    other.close()


def test_tag_bad_construction(s):
    with pytest.raises(TypeError):
        Tag(s, FuncType([i32], []))
    with pytest.raises(TypeError):
        Tag(None, TagType([]))
    t = Tag(s, TagType([]))
    with pytest.raises(WasmError, match="already initialized"):
        t.__init__(s, TagType([i32]))
    assert t.type == TagType([])
    u = Tag.__new__(Tag)
    with pytest.raises(WasmError, match="not initialized"):
        u.type
    assert "uninitialized" in repr(u)
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(t)


def test_tag_after_the_store_closed(exn_engine):
    st = Store(exn_engine)
    a = Tag(st, TagType([i32]))
    b = Instance(st, Module(exn_engine, TAGS_WAT)).exports["a"]
    c = Instance(st, Module(exn_engine, TAGS_WAT)).exports["a"]
    st.close()
    assert "closed" in repr(a)
    with pytest.raises(wasmbind.StoreClosedError):
        a.type
    assert a == a and a != b and b != c and hash(a) == hash(a)


def test_module_types_list_tags(exn_engine):
    m = Module(exn_engine, TAGS_WAT)
    assert dict((e.name, e.type) for e in m.exports) == {
        "a": TagType([i32, f64]), "e": TagType([]), "a2": TagType([i32, f64])}
