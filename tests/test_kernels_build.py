"""Tests for the shipped benchmark kernels (wasmbind/bench/kernels/*.wasm).

(a) When clang can target wasm32: every kernel rebuilds byte for byte from
    source, from any source directory (no paths embedded), and the native
    build agrees with the Python reference through ctypes.
(b) Always: the committed files are wasm binaries matching their documented
    exports; when the `wasmtime` package is importable, every kernel is run
    and checked against wasmbind/bench/kernels/reference.py.

Neither the compiled wasmbind extension nor `import wasmbind` is needed: the
kernel metadata and the helpers are loaded by file path.
"""

from __future__ import annotations

import array
import ctypes
import filecmp
import importlib.util
import pathlib
import random
import shutil
import struct

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def _load(name: str, path: pathlib.Path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


BUILD_SCRIPT = ROOT / "scripts" / "build_kernels.py"
REFERENCE = ROOT / "wasmbind" / "bench" / "kernels" / "reference.py"
if not (BUILD_SCRIPT.is_file() and REFERENCE.is_file()):  # e.g. a copy of tests/ alone
    pytest.skip("not run from a source tree", allow_module_level=True)

build = _load("_wasmbind_build_kernels", BUILD_SCRIPT)
ref = _load("_wasmbind_kernels_reference", REFERENCE)
meta = build.load_kernels_meta()

ALL = meta.names()
COMPUTE = ["kernels", "kernels_simd"]


# ---------------------------------------------------------------------------
# (b) always: the committed files
# ---------------------------------------------------------------------------

def test_names_and_paths():
    assert ALL == ["callbacks", "calls", "kernels", "kernels_simd"]
    for name in ALL:
        p = meta.path(name)
        assert p.is_file(), p
        assert p == meta.path(name + ".wasm")
        assert p.parent == pathlib.Path(meta.__file__).resolve().parent
        assert meta.source(name).is_file()
    with pytest.raises(KeyError):
        meta.path("no_such_kernel")


@pytest.mark.parametrize("name", ALL)
def test_committed_wasm_magic_and_size(name):
    data = meta.read_bytes(name)
    assert data[:8] == meta.WASM_MAGIC
    assert len(data) < 16 * 1024, "kernels are meant to stay small"


@pytest.mark.parametrize("name", COMPUTE)
def test_no_custom_sections_or_paths(name):
    """Stripped build: only standard sections, so nothing host-specific."""
    data = meta.read_bytes(name)
    pos, ids = 8, []
    while pos < len(data):
        sec_id = data[pos]
        pos += 1
        size, shift = 0, 0
        while True:
            b = data[pos]
            pos += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        ids.append(sec_id)
        pos += size
    assert pos == len(data)
    assert 0 not in ids, "custom section (names/producers/debug) left in"
    assert b"/" not in data and b"kernels.c" not in data


# --- with wasmtime-py ------------------------------------------------------

@pytest.fixture(scope="module")
def wt():
    return pytest.importorskip("wasmtime")


def _instantiate(wt, name, imports=()):
    store = wt.Store()
    module = wt.Module.from_file(store.engine, str(meta.path(name)))
    inst = wt.Instance(store, module, list(imports))
    return store, module, inst.exports(store)


def _types(valtypes):
    return tuple(str(t) for t in valtypes)


@pytest.mark.parametrize("name", ALL)
def test_exports_match_metadata(wt, name):
    store = wt.Store()
    module = wt.Module.from_file(store.engine, str(meta.path(name)))
    funcs = {}
    mems = []
    for exp in module.exports:
        if isinstance(exp.type, wt.FuncType):
            funcs[exp.name] = (_types(exp.type.params), _types(exp.type.results))
        elif isinstance(exp.type, wt.MemoryType):
            mems.append(exp.name)
    expected = {k: (s.params, s.results) for k, s in meta.exports(name).items()}
    assert funcs == expected
    assert mems == (["memory"] if meta.MODULES[name]["memory"] else [])
    imps = {(i.module, i.name): (_types(i.type.params), _types(i.type.results))
            for i in module.imports}
    assert imps == {k: (s.params, s.results) for k, s in meta.imports(name).items()}


def test_simd_only_in_simd_build(wt):
    cfg = wt.Config()
    cfg.wasm_relaxed_simd = False
    cfg.wasm_simd = False
    engine = wt.Engine(cfg)
    wt.Module(engine, meta.read_bytes("kernels"))  # scalar build: no v128
    with pytest.raises(wt.WasmtimeError):
        wt.Module(engine, meta.read_bytes("kernels_simd"))


def test_calls(wt):
    store, _, ex = _instantiate(wt, "calls")
    assert ex["nop"](store) is None
    for a, b in [(1, 2), (-5, 3), (2**31 - 1, 1), (-2**31, -1), (123456789, 987654321)]:
        assert ex["add"](store, a, b) == ref.add(a, b)
        assert ex["swap"](store, a, b) == list(ref.swap(a, b))
    assert ex["add"](store, 2**31 - 1, 1) == -2**31
    for a, b in [(1, 2), (2**63 - 1, 1), (-2**40, 3**30)]:
        assert ex["add_i64"](store, a, b) == ref.add_i64(a, b)
    assert ex["add_i64"](store, 2**63 - 1, 1) == -2**63
    for a, b in [(0.1, 0.2), (1e300, 1e300), (-2.5, 2.5), (1.0, 2**-60)]:
        assert ex["add_f64"](store, a, b) == ref.add_f64(a, b)
        assert ex["add_f32"](store, a, b) == ref.add_f32(a, b)
    assert ex["add_f32"](store, 0.1, 0.2) != 0.1 + 0.2  # really f32
    args = [1, 2, 3, 4, 5, 6, 7, 2**31 - 1]
    assert ex["sum8_i32"](store, *args) == ref.sum8_i32(*args)


def test_callbacks(wt):
    store = wt.Store()
    seen = []

    def host_add(a, b):
        seen.append((a, b))
        return a + b

    nops = []
    i32 = wt.ValType.i32()
    f_add = wt.Func(store, wt.FuncType([i32, i32], [i32]), host_add)
    f_nop = wt.Func(store, wt.FuncType([], []), lambda: nops.append(1))
    module = wt.Module.from_file(store.engine, str(meta.path("callbacks")))
    ex = wt.Instance(store, module, [f_add, f_nop]).exports(store)
    assert ex["call_add"](store, 5) == ref.call_add(5) == 5
    assert seen == [(0, 1), (1, 1), (2, 1), (3, 1), (4, 1)]
    assert ex["call_add"](store, 0) == 0
    ex["call_nop"](store, 7)
    assert len(nops) == 7


@pytest.fixture(params=COMPUTE)
def kern(request, wt):
    store, _, ex = _instantiate(wt, request.param)
    return store, ex


def _put(store, ex, data: bytes) -> int:
    ptr = ex["alloc"](store, len(data))
    assert ptr != 0 and ptr % 16 == 0
    ex["memory"].write(store, data, ptr)
    return ptr


def test_fib(kern):
    store, ex = kern
    for n in list(range(-2, 21)) + [25]:
        assert ex["fib"](store, n) == ref.fib(n), n
    assert ex["fib"](store, 25) == 75025


@pytest.mark.parametrize("w,h,it", [(1, 1, 10), (7, 5, 50), (40, 30, 100), (64, 48, 255),
                                    (0, 10, 10), (10, 10, 0)])
def test_mandelbrot(kern, w, h, it):
    store, ex = kern
    assert ex["mandelbrot"](store, w, h, it) == ref.mandelbrot(w, h, it)


def test_mandelbrot_nontrivial(kern):
    store, ex = kern
    total = ex["mandelbrot"](store, 40, 30, 100)
    assert 40 * 30 < total < 40 * 30 * 100  # some points escape, some do not


def test_dot_f64(kern):
    store, ex = kern
    rng = random.Random(1)
    for n in [0, 1, 2, 3, 7, 16, 33, 1000]:
        a = [rng.uniform(-1e3, 1e3) for _ in range(n)]
        b = [rng.uniform(-1, 1) for _ in range(n)]
        pa = _put(store, ex, struct.pack(f"<{n}d", *a))
        pb = _put(store, ex, struct.pack(f"<{n}d", *b))
        assert ex["dot_f64"](store, pa, pb, n) == ref.dot_f64(a, b), n  # bit-exact
    ex["heap_reset"](store)


def test_sum_u32(kern):
    store, ex = kern
    rng = random.Random(2)
    for n in [0, 1, 5, 64, 1001]:
        vals = [rng.randrange(2**32) for _ in range(n)]
        p = _put(store, ex, struct.pack(f"<{n}I", *vals))
        got = ex["sum_u32"](store, p, n)
        assert got == ref.sum_u32(vals) == sum(vals)
    # beyond 32 bits: no wrap
    p = _put(store, ex, struct.pack("<4I", *[0xFFFFFFFF] * 4))
    assert ex["sum_u32"](store, p, 4) == 4 * 0xFFFFFFFF


def test_saxpy_f32(kern):
    store, ex = kern
    rng = random.Random(3)
    for n in [0, 1, 3, 4, 17, 257]:
        x = array.array("f", (rng.uniform(-10, 10) for _ in range(n)))
        y = array.array("f", (rng.uniform(-10, 10) for _ in range(n)))
        px = _put(store, ex, x.tobytes())
        py = _put(store, ex, y.tobytes())
        a = 1.7
        ex["saxpy_f32"](store, a, px, py, n)
        out = array.array("f")
        out.frombytes(bytes(ex["memory"].read(store, py, py + 4 * n)))
        assert out == ref.saxpy_f32(a, x, array.array("f", y))
        if n:
            assert out != y  # really updated in place


def test_count_u8(kern):
    store, ex = kern
    rng = random.Random(4)
    for n in [0, 1, 15, 16, 17, 1000, 4099]:
        data = bytes(rng.randrange(8) for _ in range(n))
        p = _put(store, ex, data)
        for byte in (0, 3, 7, 200, 256 + 3):
            assert ex["count_u8"](store, p, n, byte) == ref.count_u8(data, byte) \
                == data.count(byte & 0xFF)


def test_alloc_grows_and_resets(kern):
    store, ex = kern
    mem = ex["memory"]
    base = ex["heap_base"](store)
    assert base % 16 == 0 and base > 0
    ex["heap_reset"](store)
    p1 = ex["alloc"](store, 1)
    assert p1 == base
    assert ex["alloc"](store, 0) == base + 16
    pages = mem.size(store)
    big = ex["alloc"](store, pages * 65536)  # more than what is left: must grow
    assert big % 16 == 0
    assert mem.size(store) > pages
    assert mem.data_len(store) >= big + pages * 65536
    mem.write(store, b"\xab" * 16, big + pages * 65536 - 16)  # last bytes usable
    assert ex["alloc"](store, 0xFFFFFFF0) == 0  # cannot grow to 4 GiB
    ex["heap_reset"](store)
    assert ex["alloc"](store, 8) == base


# ---------------------------------------------------------------------------
# (a) with a wasm32-capable clang: reproducible build
# ---------------------------------------------------------------------------

_problem = build.toolchain_problem()
needs_toolchain = pytest.mark.skipif(_problem is not None,
                                     reason=f"no wasm32 toolchain: {_problem}")
_version = build.clang_version() or ""
needs_reference_clang = pytest.mark.skipif(
    build.REFERENCE_CLANG not in _version,
    reason=f"committed kernels were built with clang {build.REFERENCE_CLANG}, "
           f"have {_version!r}")


@needs_toolchain
@needs_reference_clang
def test_rebuild_is_byte_identical(tmp_path):
    built = build.build_wasm(tmp_path / "out", verbose=False)
    assert sorted(built) == ALL
    for name, p in built.items():
        assert p.read_bytes() == meta.read_bytes(name), f"{name} differs from committed"


@needs_toolchain
def test_build_does_not_depend_on_source_dir(tmp_path):
    """Same bytes from two different source directories: no paths embedded."""
    outs = []
    for d in ("a", "b/much/deeper/src"):
        src = tmp_path / d
        src.mkdir(parents=True)
        for name in ALL:
            shutil.copy(meta.source(name), src)
        outs.append(build.build_wasm(tmp_path / d / "out", src_dir=src, verbose=False))
    for name in ALL:
        assert filecmp.cmp(outs[0][name], outs[1][name], shallow=False), name
        data = outs[0][name].read_bytes()
        assert data[:8] == meta.WASM_MAGIC
        assert str(tmp_path).encode() not in data


@needs_toolchain
def test_native_build_matches_reference(tmp_path):
    lib = ctypes.CDLL(str(build.build_native(tmp_path, verbose=False)))
    lib.fib.argtypes = [ctypes.c_int32]
    lib.fib.restype = ctypes.c_int32
    assert lib.fib(20) == ref.fib(20)
    lib.mandelbrot.argtypes = [ctypes.c_int32] * 3
    lib.mandelbrot.restype = ctypes.c_int32
    assert lib.mandelbrot(64, 48, 255) == ref.mandelbrot(64, 48, 255)
    n = 101
    rng = random.Random(5)
    a = (ctypes.c_double * n)(*[rng.uniform(-1, 1) for _ in range(n)])
    b = (ctypes.c_double * n)(*[rng.uniform(-1, 1) for _ in range(n)])
    lib.dot_f64.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32]
    lib.dot_f64.restype = ctypes.c_double
    assert lib.dot_f64(a, b, n) == ref.dot_f64(list(a), list(b))
    u = (ctypes.c_uint32 * 4)(*[0xFFFFFFFF] * 4)
    lib.sum_u32.argtypes = [ctypes.c_void_p, ctypes.c_int32]
    lib.sum_u32.restype = ctypes.c_int64
    assert lib.sum_u32(u, 4) == ref.sum_u32(list(u))
    data = bytes(rng.randrange(4) for _ in range(999))
    lib.count_u8.argtypes = [ctypes.c_char_p, ctypes.c_int32, ctypes.c_int32]
    lib.count_u8.restype = ctypes.c_int32
    assert lib.count_u8(data, len(data), 2) == ref.count_u8(data, 2)
    x = array.array("f", (rng.uniform(-3, 3) for _ in range(n)))
    y = array.array("f", (rng.uniform(-3, 3) for _ in range(n)))
    expected = ref.saxpy_f32(0.5, x, array.array("f", y))
    xb = (ctypes.c_float * n)(*x)
    yb = (ctypes.c_float * n)(*y)
    lib.saxpy_f32.argtypes = [ctypes.c_float, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int32]
    lib.saxpy_f32.restype = None
    lib.saxpy_f32(0.5, xb, yb, n)
    assert array.array("f", yb) == expected
