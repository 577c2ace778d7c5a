"""Linear memory: buffer protocol, read/write, slicing, bounds, growth under views."""

import gc

import pytest

import wasmbind
from wasmbind import Memory, MemoryType, StoreClosedError

try:
    import numpy as np
except ImportError:  # pragma: no cover
    np = None

needs_numpy = pytest.mark.skipif(np is None, reason="needs numpy")

PAGE = 65536

WAT = """(module
  (memory (export "memory") 1 100)
  (func (export "load8") (param i32) (result i32) local.get 0 i32.load8_u)
  (func (export "store8") (param i32 i32) local.get 0 local.get 1 i32.store8)
  (func (export "grow") (param i32) (result i32) local.get 0 memory.grow)
  (func (export "size") (result i32) memory.size)
)"""


@pytest.fixture
def inst(make):
    return make(WAT)


def test_size_and_len(inst):
    mem = inst.exports.memory
    assert mem.size == 1
    assert mem.data_len == PAGE
    assert len(mem) == PAGE
    assert mem.type == MemoryType(1, 100)
    assert "1 pages" in repr(mem)


def test_grow_returns_previous_size(inst):
    mem = inst.exports.memory
    assert mem.grow(2) == 1
    assert mem.size == 3 and len(mem) == 3 * PAGE
    assert mem.grow(0) == 3
    assert inst.exports.size() == 3
    assert inst.exports.grow(1) == 3  # the guest sees the same memory
    assert mem.size == 4
    with pytest.raises(wasmbind.WasmError):
        mem.grow(200)  # past the maximum
    assert mem.size == 4
    with pytest.raises(ValueError):
        mem.grow(-1)
    with pytest.raises(TypeError):
        mem.grow(1.0)
    with pytest.raises(TypeError):
        mem.grow(True)


def test_memoryview_zero_copy_both_ways(inst):
    mem = inst.exports.memory
    view = memoryview(mem)
    try:
        assert view.nbytes == PAGE and not view.readonly
        view[100] = 42
        assert inst.exports.load8(100) == 42
        inst.exports.store8(200, 7)
        assert view[200] == 7
        assert mem[200] == 7
    finally:
        view.release()


@needs_numpy
def test_numpy_frombuffer_zero_copy(inst):
    mem = inst.exports.memory
    arr = np.frombuffer(mem, dtype=np.uint32)
    assert arr.shape == (PAGE // 4,)
    assert arr.flags.writeable
    arr[10] = 0x01020304
    assert inst.exports.load8(40) == 4 and inst.exports.load8(43) == 1
    inst.exports.store8(80, 0xFF)
    assert arr[20] == 0xFF
    assert arr.ctypes.data == mem.data_ptr
    del arr
    gc.collect()


@needs_numpy
def test_read_write(inst):
    mem = inst.exports.memory
    mem.write(10, b"hello")
    assert mem.read(10, 5) == b"hello"
    mem.write(20, bytearray(b"ab"))
    mem.write(30, memoryview(b"xyz"))
    mem.write(40, np.array([1, 2], dtype=np.uint16))
    assert mem.read(20, 2) == b"ab" and mem.read(30, 3) == b"xyz"
    assert mem.read(40, 4) == b"\x01\x00\x02\x00"
    assert inst.exports.load8(11) == ord("e")
    assert mem.read(0, 0) == b""
    assert mem.read(PAGE, 0) == b""
    mem.write(PAGE - 2, b"zz")
    assert mem.read(PAGE - 2, 2) == b"zz"
    with pytest.raises(TypeError):
        mem.write(0, "text")
    with pytest.raises(TypeError):
        mem.read("0", 1)


def test_indexing_and_slicing(inst):
    mem = inst.exports.memory
    mem[5] = 9
    assert mem[5] == 9
    assert mem[-1] == 0
    mem[-1] = 3
    assert mem[PAGE - 1] == 3
    mem[0:4] = b"abcd"
    assert mem[0:4] == b"abcd"
    assert mem[:2] == b"ab"
    assert mem[-4:] == b"\0\0\0\x03"
    assert len(mem[:]) == PAGE
    mem[2:4] = bytearray(b"ZZ")
    assert mem.read(0, 4) == b"abZZ"
    assert mem[3:3] == b""
    with pytest.raises(ValueError):
        mem[0:4] = b"abc"  # length mismatch
    with pytest.raises(ValueError):
        mem[0:4:2]
    with pytest.raises(ValueError):
        mem[0] = 256
    with pytest.raises(ValueError):
        mem[0] = -1


@pytest.mark.parametrize("offset, length", [
    (PAGE, 1), (PAGE - 1, 2), (PAGE + 100, 0), (2**40, 1), (2**62, 2**62),
    (2**63 - 1, 1), (1, 2**63 - 1), (2**64, 1), (10**30, 1),
])
def test_read_write_out_of_bounds(inst, offset, length):
    mem = inst.exports.memory
    with pytest.raises(IndexError):
        mem.read(offset, length)
    data = b"x" * min(length, 8)
    if offset + len(data) > PAGE:
        with pytest.raises(IndexError):
            mem.write(offset, data)
    with pytest.raises(IndexError):
        mem[offset:offset + length] if offset + length > PAGE else mem[PAGE + 1]


@pytest.mark.parametrize("offset, length", [(-1, 1), (0, -1), (-2**63, 1), (5, -2**70)])
def test_negative_offsets(inst, offset, length):
    with pytest.raises(IndexError):
        inst.exports.memory.read(offset, length)


def test_write_empty_at_end_ok_beyond_fails(inst):
    mem = inst.exports.memory
    mem.write(PAGE, b"")
    with pytest.raises(IndexError):
        mem.write(PAGE + 1, b"")


def test_item_out_of_bounds(inst):
    mem = inst.exports.memory
    for i in (PAGE, 2**40, -PAGE - 1, 2**64):
        with pytest.raises(IndexError):
            mem[i]
        with pytest.raises(IndexError):
            mem[i] = 1
    for sl in (slice(0, PAGE + 1), slice(-PAGE - 1, None), slice(PAGE + 5, PAGE + 6)):
        with pytest.raises(IndexError):
            mem[sl]
        with pytest.raises(IndexError):
            mem[sl] = b""


@needs_numpy
def test_view_survives_guest_growth(inst):
    mem = inst.exports.memory
    ptr = mem.data_ptr
    view = memoryview(mem)
    arr = np.frombuffer(mem, dtype=np.uint8)
    try:
        view[123] = 5
        assert inst.exports.grow(50) == 1
        mem.grow(10)
        assert mem.size == 61
        assert mem.data_ptr == ptr  # never moves
        assert view[123] == 5 and arr[123] == 5
        view[124] = 6
        assert inst.exports.load8(124) == 6
        assert len(view) == PAGE  # a view keeps the length it was made with
        inst.exports.store8(60 * PAGE, 1)
        assert mem[60 * PAGE] == 1
        assert memoryview(mem).nbytes == 61 * PAGE
    finally:
        view.release()
        del arr
        gc.collect()


def test_close_with_live_view_raises_buffer_error(engine):
    s = wasmbind.Store(engine)
    mem = Memory(s, MemoryType(1))
    view = memoryview(mem)
    with pytest.raises(BufferError):
        s.close()
    assert not s.closed
    view[0] = 1  # still valid
    view.release()
    s.close()
    assert s.closed
    with pytest.raises(StoreClosedError):
        memoryview(mem)


@needs_numpy
def test_close_with_numpy_view_raises(engine):
    s = wasmbind.Store(engine)
    mem = Memory(s, MemoryType(1))
    arr = np.frombuffer(mem, dtype=np.uint8)
    sub = arr[10:20]
    del arr
    with pytest.raises(BufferError):
        s.close()
    sub[0] = 1
    assert mem[10] == 1
    del sub
    gc.collect()
    s.close()
    assert s.closed


def test_nested_views_count(engine):
    s = wasmbind.Store(engine)
    mem = Memory(s, MemoryType(1))
    a, b = memoryview(mem), memoryview(mem)
    c = a[10:20]
    a.release()
    with pytest.raises(BufferError):
        s.close()
    b.release()
    with pytest.raises(BufferError):  # c still exports from the same buffer as a
        s.close()
    c.release()
    s.close()


def test_view_keeps_store_alive(engine):
    import weakref
    s = wasmbind.Store(engine)
    mem = Memory(s, MemoryType(1))
    mem[0] = 77
    ref = weakref.ref(s)
    view = memoryview(mem)
    del s, mem
    gc.collect()
    assert ref() is not None
    assert view[0] == 77
    view.release()
    del view
    gc.collect()
    assert ref() is None


def test_host_memory(store):
    mem = Memory(store, MemoryType(2, 3))
    assert mem.size == 2 and mem.type == MemoryType(2, 3)
    mem.write(PAGE + 5, b"q")
    assert mem[PAGE + 5] == ord("q")
    assert mem.grow(1) == 2
    with pytest.raises(wasmbind.WasmError):
        mem.grow(1)
    with pytest.raises(TypeError):
        Memory(store, "1 page")


def test_memory_type_validation():
    with pytest.raises(ValueError):
        MemoryType(2, 1)
    with pytest.raises(ValueError):
        MemoryType(2**16 + 1)
    with pytest.raises(ValueError):
        MemoryType(1, shared=True)
    with pytest.raises(TypeError):
        MemoryType(1.0)


def test_huge_memory_request_fails_cleanly():
    from support import assert_clean, run_py
    proc = run_py("""
    import wasmbind
    s = wasmbind.Store()
    try:
        m = wasmbind.Memory(s, wasmbind.MemoryType(65536))
        m[65536 * 65536 - 1] = 1
        print(m.size)
    except wasmbind.WasmError as e:
        print("refused")
    m = wasmbind.Memory(s, wasmbind.MemoryType(1))
    try:
        m.grow(2**47)
    except (wasmbind.WasmError, ValueError):
        print("refused")
    """, timeout=60)
    assert_clean(proc)
    assert proc.stdout.split()[-1] == "refused"


# ---- once-only construction, uninitialized memories, views torn down by the GC


def test_memory_constructed_once_under_a_view():
    # re-running __init__ moved the memory to another store under a live view:
    # the view then outlived the store it pointed into
    from support import assert_clean, run_py
    proc = run_py("""
    from wasmbind import *
    a, b = Store(), Store()
    m = Memory(a, MemoryType(1))
    view = memoryview(m)
    try:
        Memory.__init__(m, b, MemoryType(2))
    except WasmError as exc:
        assert "already initialized" in str(exc)
        print("refused")
    assert m.store is a and m.size == 1
    b.close()
    view[0] = 5
    assert m[0] == 5
    try:
        a.close()
    except BufferError:
        print("view alive")
    view.release()
    a.close()
    print(a.closed)
    """)
    assert_clean(proc)
    assert proc.stdout.split() == ["refused", "view", "alive", "True"]


def test_failed_memory_init_is_final(store):
    m = Memory.__new__(Memory)
    with pytest.raises((TypeError, ValueError)):
        m.__init__(store, "not a type")
    with pytest.raises(wasmbind.WasmError, match="already initialized"):
        m.__init__(store, MemoryType(1))
    with pytest.raises(wasmbind.WasmError, match="not initialized"):
        len(m)


@pytest.mark.parametrize("action", [
    len, memoryview, lambda m: m.size, lambda m: m.data_len, lambda m: m.data_ptr, lambda m: m.type,
    lambda m: m.grow(1), lambda m: m.read(0, 1), lambda m: m.write(0, b"x"), lambda m: m[0],
    lambda m: m[0:1], lambda m: m.__setitem__(0, 1)])
def test_uninitialized_memory_raises(action):
    m = Memory.__new__(Memory)
    with pytest.raises(wasmbind.WasmError, match="not initialized"):
        action(m)
    assert "uninitialized" in repr(m)


def test_view_in_a_garbage_cycle_with_its_store():
    # store -> externref payload -> view -> memory -> store: the GC tears the
    # cycle down and releases the view; the release needs the memory's store
    from support import assert_clean, run_py
    proc = run_py("""
    import gc, weakref
    from wasmbind import *
    e = Engine()
    refs = []
    for i in range(50):
        s = Store(e)
        m = Memory(s, MemoryType(1))
        g = Global(s, GlobalType("externref", True), None)
        g.value = [memoryview(m), m, s]
        refs.append(weakref.ref(s))
        del s, m, g
    gc.collect()
    print(sum(r() is not None for r in refs))
    """)
    assert_clean(proc, "0")


# ---------------------------------------------------------------- bad indices, clear errors

@pytest.mark.parametrize("index", [-PAGE - 1, -70000, -2**63, -2**70, PAGE, 2**63, 10**30])
def test_index_error_names_the_index_given(inst, index):
    # the message names the index as written, not one shifted by the size
    # (mem[-70000] once reported "index -4464")
    mem = inst.exports.memory
    for op in (lambda: mem[index], lambda: mem.__setitem__(index, 1)):
        with pytest.raises(IndexError) as e:
            op()
        assert str(e.value) == "memory index %d out of range (memory is %d bytes)" % (index, PAGE)


def test_negative_indices_within_the_size(inst):
    mem = inst.exports.memory
    mem[0] = 7
    assert mem[-PAGE] == 7
    mem[-PAGE] = 8
    assert mem[0] == 8


@pytest.mark.parametrize("key", [True, False, 1.0, "1", None, b"\0", 1j, [0]])
def test_non_int_indices_are_type_errors(inst, key):
    mem = inst.exports.memory
    with pytest.raises(TypeError, match="memory index must be an int"):
        mem[key]
    with pytest.raises(TypeError, match="memory index must be an int"):
        mem[key] = 1


@needs_numpy
def test_numpy_integers_are_indices(inst):
    mem = inst.exports.memory
    mem[np.int64(3)] = np.uint8(5)
    assert mem[np.int32(3)] == 5
    assert mem[np.int64(2):np.int64(4)] == b"\0\x05"
    assert mem.read(np.int64(3), np.int64(1)) == b"\x05"


@pytest.mark.parametrize("value", [True, 1.0, "1", None, b"\x01"])
def test_bytes_written_by_index_must_be_ints(inst, value):
    with pytest.raises(TypeError, match="a memory byte must be an int"):
        inst.exports.memory[0] = value


@pytest.mark.parametrize("value", [256, -1, 2**64])
def test_bytes_written_by_index_must_fit(inst, value):
    with pytest.raises(ValueError, match=r"a memory byte must be in \[0, 256\), got %d" % value):
        inst.exports.memory[0] = value


@pytest.mark.parametrize("sl, message", [
    (slice(-70000, None), r"memory slice \[-70000:None\] out of range"),
    (slice(0, 2**70), r"memory slice \[0:%d\] out of range" % 2**70),
    (slice(None, -PAGE - 1), r"memory slice \[None:-65537\] out of range"),
    (slice(5, 2), r"memory slice \[5:2\] ends before it starts"),
    (slice(-1, -2), r"memory slice \[-1:-2\] ends before it starts"),
])
def test_slices_out_of_range_are_exact(inst, sl, message):
    # no silent clamping: the bytes asked for exist or it is an IndexError
    mem = inst.exports.memory
    with pytest.raises(IndexError, match=message):
        mem[sl]
    with pytest.raises(IndexError, match=message):
        mem[sl] = b""


@pytest.mark.parametrize("step", [2, -1, 0, True, 1.0, "1"])
def test_slices_with_steps_are_refused(inst, step):
    mem = inst.exports.memory
    with pytest.raises(ValueError, match="memory slices must have step 1, got %r" % (step,)):
        mem[0:4:step]
    with pytest.raises(ValueError, match="step 1"):
        mem[0:4:step] = b"abcd"


def test_step_one_is_a_plain_slice(inst):
    mem = inst.exports.memory
    mem[0:3:1] = b"xyz"
    assert mem[0:3:1] == b"xyz"


@pytest.mark.parametrize("bound", [True, 1.0, "1", b"1"])
def test_slice_bounds_must_be_ints(inst, bound):
    mem = inst.exports.memory
    with pytest.raises(TypeError, match="memory slice start must be an int"):
        mem[bound:4]
    with pytest.raises(TypeError, match="memory slice stop must be an int"):
        mem[0:bound]


@pytest.mark.parametrize("data", ["ab", 5, None, [1, 2]])
def test_slice_assignment_needs_bytes(inst, data):
    with pytest.raises(TypeError, match="memory slice assignment needs bytes-like data"):
        inst.exports.memory[0:2] = data


@pytest.mark.parametrize("bad", [True, False, 1.5, "0", None])
def test_offsets_and_lengths_must_be_ints(inst, bad):
    mem = inst.exports.memory
    with pytest.raises(TypeError, match="offset must be an int"):
        mem.read(bad, 1)
    with pytest.raises(TypeError, match="length must be an int"):
        mem.read(0, bad)
    with pytest.raises(TypeError, match="offset must be an int"):
        mem.write(bad, b"x")
    assert mem.read(0, 1) == b"\0"  # nothing was written
