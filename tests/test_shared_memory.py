"""SharedMemory: one linear memory for stores on several threads (threads
proposal), from Python or exported, imported anywhere in its engine."""

import threading

import pytest

import wasmbind
from wasmbind import Config, Engine, Instance, Linker, MemoryType, Module, SharedMemory, Store, WasmError

from support import assert_clean, run_py

COUNTER = """(module
  (import "env" "mem" (memory 1 4 shared))
  (func (export "bump") (param i32)
    (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get 0)))
      (drop (i32.atomic.rmw.add (i32.const 0) (i32.const 1)))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  (func (export "load") (result i32) (i32.atomic.load (i32.const 0)))
  (func (export "size") (result i32) (memory.size))
  (func (export "wait") (param i32 i64) (result i32)
    (memory.atomic.wait32 (local.get 0) (i32.const 0) (local.get 1))))"""

EXPORTS = '(module (memory (export "mem") 2 3 shared) (data (i32.const 8) "hi"))'


@pytest.fixture(scope="module")
def threads_engine():
    return Engine(Config(wasm_threads=True))


def test_made_from_python_typed_and_a_buffer(threads_engine):
    m = SharedMemory(threads_engine, MemoryType(1, 4, shared=True))
    assert m.type == MemoryType(1, 4, shared=True)
    assert m.size == 1 and len(m) == m.data_len == 65536 and m.data_ptr != 0
    view = memoryview(m)
    assert len(view) == 65536 and not view.readonly
    view[0:3] = b"abc"
    assert m.read(0, 3) == b"abc"
    m.write(65533, b"xyz")
    assert bytes(view[-3:]) == b"xyz"
    assert m.grow(2) == 1 and m.size == 3 and len(m) == 3 * 65536
    assert len(view) == 65536 and bytes(view[:3]) == b"abc"  # the old view still valid
    with pytest.raises(WasmError):
        m.grow(2)  # past the maximum
    for off, n in ((3 * 65536, 1), (2**62, 1), (0, 3 * 65536 + 1)):
        with pytest.raises(IndexError):
            m.read(off, n)
    with pytest.raises(IndexError):
        m.write(3 * 65536 - 1, b"ab")
    assert "3 pages" in repr(m)
    view.release()


def test_bad_construction(threads_engine):
    with pytest.raises(TypeError, match="shared=True"):
        SharedMemory(threads_engine, MemoryType(1, 2))
    with pytest.raises(TypeError):
        SharedMemory(threads_engine, "memory")
    with pytest.raises(WasmError, match="wasm_threads=True"):
        SharedMemory(Engine(), MemoryType(1, 2, shared=True))
    m = SharedMemory(threads_engine, MemoryType(1, 2, shared=True))
    with pytest.raises(WasmError, match="already initialized"):
        m.__init__(threads_engine, MemoryType(1, 1, shared=True))
    assert m.type.maximum == 2
    u = SharedMemory.__new__(SharedMemory)
    with pytest.raises(WasmError, match="not initialized"):
        len(u)
    with pytest.raises(WasmError, match="not initialized"):
        memoryview(u)
    import pickle
    with pytest.raises(TypeError, match="pickle"):
        pickle.dumps(m)


def test_exported_and_imported_by_sequence_mapping_and_linker(threads_engine):
    s = Store(threads_engine)
    inst = Instance(s, Module(threads_engine, EXPORTS))
    mem = inst.exports.mem
    assert isinstance(mem, SharedMemory) and mem.type == MemoryType(2, 3, shared=True)
    assert mem.read(8, 2) == b"hi"
    counter = Module(threads_engine, COUNTER.replace("1 4 shared", "1 3 shared"))
    for imports in ([mem], {"env": {"mem": mem}}):
        c = Instance(Store(threads_engine), counter, imports)
        c.exports.bump(5)
        assert c.exports.size() == 2
    assert int.from_bytes(mem.read(0, 4), "little") == 10
    linker = Linker(threads_engine)
    s2 = Store(threads_engine)
    linker.define(s2, "env", "mem", mem)
    c = linker.instantiate(s2, counter)
    c.exports.bump(1)
    assert c.exports.load() == 11
    got = linker.get(s2, "env", "mem")
    assert isinstance(got, SharedMemory)
    got.write(0, (100).to_bytes(4, "little"))
    assert c.exports.load() == 100


def test_wrong_imports_refused(threads_engine):
    counter = Module(threads_engine, COUNTER)
    s = Store(threads_engine)
    with pytest.raises(wasmbind.LinkError):
        Instance(s, counter, [SharedMemory(threads_engine, MemoryType(1, 8, shared=True))])
    with pytest.raises(wasmbind.LinkError):
        Instance(s, counter, [wasmbind.Memory(s, MemoryType(1, 4))])
    other = Engine(Config(wasm_threads=True))
    with pytest.raises(ValueError, match="different Engine"):
        Instance(s, counter, [SharedMemory(other, MemoryType(1, 4, shared=True))])
    with pytest.raises(ValueError, match="different Engine"):
        Linker(threads_engine).define(s, "env", "mem", SharedMemory(other, MemoryType(1, 4, shared=True)))


def test_concurrent_atomic_increments_give_the_exact_total(threads_engine):
    mem = SharedMemory(threads_engine, MemoryType(1, 4, shared=True))
    module = Module(threads_engine, COUNTER)
    n, nthreads = 200_000, 4
    errors = []

    def work():
        try:
            Instance(Store(threads_engine), module, [mem]).exports.bump(n)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(nthreads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert int.from_bytes(mem.read(0, 4), "little") == n * nthreads
    # Python writes are seen by the guest too
    mem.write(0, bytes(4))
    assert Instance(Store(threads_engine), module, [mem]).exports.load() == 0


def test_notify_and_wake_all_end_waits(threads_engine):
    mem = SharedMemory(threads_engine, MemoryType(1, 4, shared=True))
    module = Module(threads_engine, COUNTER)
    results = []
    ready = threading.Barrier(3)

    def wait(addr):
        inst = Instance(Store(threads_engine), module, [mem])
        ready.wait()
        results.append(inst.exports.wait(addr, -1))  # no timeout: only a notify ends it

    threads = [threading.Thread(target=wait, args=(a,), daemon=True) for a in (64, 4096)]
    for t in threads:
        t.start()
    ready.wait()
    woken = 0
    for _ in range(2000):
        woken += mem.notify(64)
        if woken:
            break
        threading.Event().wait(0.005)
    threads[0].join(10)
    assert woken == 1 and results == [0]
    woken = 0
    for _ in range(2000):
        woken += mem.wake_all()
        if woken:
            break
        threading.Event().wait(0.005)
    threads[1].join(10)
    assert woken == 1 and results == [0, 0]
    assert mem.notify(0) == 0 and mem.notify(0, 0) == 0
    for bad in (3, -4, 2**32):
        with pytest.raises(ValueError):
            mem.notify(bad)
    with pytest.raises(TypeError):
        mem.notify(1.0)


def test_wait_with_a_timeout_returns(threads_engine):
    mem = SharedMemory(threads_engine, MemoryType(1, 4, shared=True))
    inst = Instance(Store(threads_engine), Module(threads_engine, COUNTER), [mem])
    assert inst.exports.wait(0, 1_000_000) == 2  # timed out after 1 ms
    mem.write(0, b"\x01\0\0\0")
    assert inst.exports.wait(0, -1) == 1  # not-equal: returns at once


def test_memory_outlives_its_stores_and_views_in_a_child():
    proc = run_py('''
import gc
from wasmbind import Config, Engine, Instance, MemoryType, Module, SharedMemory, Store
e = Engine(Config(wasm_threads=True))
s = Store(e)
mem = Instance(s, Module(e, '(module (memory (export "m") 1 2 shared))')).exports.m
view = memoryview(mem)
s.close()
del s
gc.collect()
view[0] = 7
assert mem.read(0, 1) == b"\\x07"
del mem
gc.collect()
view[1] = 8       # the view keeps the memory alive
assert view[0] == 7 and view[1] == 8
view.release()
print("ok")
''')
    assert_clean(proc, "ok")


def test_notify_from_several_threads_at_once(threads_engine):
    mem = SharedMemory(threads_engine, MemoryType(1, 1, shared=True))
    errors = []

    def poke():
        try:
            for _ in range(50):
                assert mem.notify(0) == 0
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=poke) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []


# ---- deadlines and Ctrl-C end a wait that nothing notifies ------------------

# a futex-style wait: blocks until the word at the address is no longer 0
WAIT_LOOP = """
  (func (export "wait_loop") (param i32) (result i32)
    (loop $again
      (drop (memory.atomic.wait32 (local.get 0) (i32.const 0) (i64.const -1)))
      (br_if $again (i32.eqz (i32.atomic.load (local.get 0)))))
    (i32.const 1))"""
IMPORTING = '(module (import "env" "mem" (memory 1 4 shared))' + WAIT_LOOP + ")"
EXPORTING = '(module (memory (export "mem") 1 4 shared)' + WAIT_LOOP + ")"

WAIT_CHILD = '''
import signal, sys, threading
from wasmbind import Config, Engine, Instance, MemoryType, Module, SharedMemory, Store, Trap, TrapCode
e = Engine(Config.sandbox(wasm_threads=True))
s = Store(e)
how = sys.argv[1] if len(sys.argv) > 1 else %(how)r
if how == "exported":
    inst = Instance(s, Module(e, %(exporting)r))
else:
    mem = SharedMemory(e, MemoryType(1, 4, shared=True))
    inst = Instance(s, Module(e, %(importing)r), {"env": {"mem": mem}})
%(body)s
'''


def wait_child(how, body, timeout=60):
    return run_py(WAIT_CHILD % {"how": how, "exporting": EXPORTING, "importing": IMPORTING,
                                "body": body}, timeout=timeout)


@pytest.mark.parametrize("how", ["imported", "exported"])
def test_deadline_ends_a_wait_nothing_notifies(how):
    proc = wait_child(how, '''
for _ in range(2):  # and the store stays usable for the next one
    s.set_timeout(0.2)
    try:
        inst.exports.wait_loop(0)
    except Trap as t:
        assert t.code == TrapCode.INTERRUPT, t
    else:
        raise SystemExit("the wait returned")
# other threads ran meanwhile? they do not need to: the ticker woke the guest
s.set_timeout(None)
print("ok")
''')
    assert_clean(proc, "ok")


def test_deadline_ends_waits_of_several_stores_on_threads():
    proc = wait_child("imported", '''
stores = []
def run(timeout, out):
    st = Store(e)
    i = Instance(st, Module(e, %r), {"env": {"mem": mem}})
    st.set_timeout(timeout)
    try:
        i.exports.wait_loop(8)
    except Trap as t:
        out.append(t.code)
out = []
ts = [threading.Thread(target=run, args=(0.1 + 0.1 * k, out)) for k in range(3)]
for t in ts: t.start()
for t in ts: t.join(30)
assert out == [TrapCode.INTERRUPT] * 3, out
print("ok")
''' % IMPORTING)
    assert_clean(proc, "ok")


@pytest.mark.parametrize("how", ["imported", "exported"])
def test_ctrl_c_ends_a_wait_nothing_notifies(how):
    import os
    import signal
    import subprocess
    import sys
    import time

    from support import python_env

    code = WAIT_CHILD % {"how": how, "exporting": EXPORTING, "importing": IMPORTING, "body": '''
print("waiting", flush=True)
try:
    inst.exports.wait_loop(0)
except KeyboardInterrupt:
    print("interrupted", flush=True)
'''}
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=python_env())
    try:
        assert child.stdout.readline().strip() == "waiting"
        time.sleep(0.3)  # inside the wait by now (if not, Ctrl-C is seen at its start)
        os.kill(child.pid, signal.SIGINT)
        out, err = child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0 and out.strip() == "interrupted", (child.returncode, out, err[-2000:])
