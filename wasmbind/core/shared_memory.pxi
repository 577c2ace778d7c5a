# Shared memories (threads proposal): one linear memory that stores on
# several threads use at once. It belongs to the engine, not to a store.

from wasmbind.errors import WasmError
from wasmbind.types import MemoryType


@cython.final
@cython.auto_pickle(False)
cdef class SharedMemory:
    """A shared linear memory. ``SharedMemory(engine, MemoryType(1, 4, shared=True))``.

    Needs an Engine with ``Config(wasm_threads=True)``. It belongs to the
    engine: import it into any number of instances, in any stores of that
    engine, on any threads, and they all see the same bytes; modules that
    export a shared memory give one back. Supports the writable buffer
    protocol (``memoryview``, ``numpy.frombuffer``); the memory never moves,
    so views stay valid while it grows (they keep the length they were made
    with). Guests may change the bytes at any moment: use atomics in the
    guest to agree on who writes what. ``notify(address)`` wakes guests
    blocked in ``memory.atomic.wait`` on an address, ``wake_all()`` every one.
    """

    def __init__(self, engine, memorytype):
        cdef Engine e
        cdef wasm_memorytype_t *mt
        cdef wasmtime_error_t *err
        if self._ptr != NULL:
            raise WasmError("SharedMemory is already initialized")
        e = _engine_arg(engine)
        if not isinstance(memorytype, MemoryType) or not memorytype.shared:
            raise TypeError("expected a MemoryType with shared=True, got %r" % (memorytype,))
        if not e._shared_memory:
            raise WasmError("a SharedMemory needs an Engine with Config(wasm_threads=True)")
        mt = _memorytype_new(memorytype)
        try:
            err = wasmtime_sharedmemory_new(e._engine(), mt, &self._ptr)
        finally:
            wasm_memorytype_delete(mt)
        if err != NULL:
            self._ptr = NULL
            _raise_error(err)
        self.engine = e

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_sharedmemory_delete(self._ptr)
            self._ptr = NULL

    @staticmethod
    cdef SharedMemory _wrap(Engine engine, wasmtime_sharedmemory_t *ptr):
        """Takes the handle ``ptr`` (an export's)."""
        cdef SharedMemory self = SharedMemory.__new__(SharedMemory)
        self._ptr = ptr
        self.engine = engine
        return self

    cdef wasmtime_sharedmemory_t *_mem(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("SharedMemory was not initialized")
        return self._ptr

    @property
    def type(self):
        cdef wasm_memorytype_t *mt = wasmtime_sharedmemory_type(self._mem())
        try:
            return _memorytype_py(mt)
        finally:
            wasm_memorytype_delete(mt)

    @property
    def size(self):
        """Current size in pages (64 KiB)."""
        return wasmtime_sharedmemory_size(self._mem())

    @property
    def data_len(self):
        """Current size in bytes."""
        return wasmtime_sharedmemory_data_size(self._mem())

    @property
    def data_ptr(self):
        """Address of the first byte (valid while this object lives)."""
        return <size_t>wasmtime_sharedmemory_data(self._mem())

    def __len__(self):
        return wasmtime_sharedmemory_data_size(self._mem())

    def grow(self, delta):
        """Grow by ``delta`` pages; returns the previous size in pages."""
        cdef uint64_t prev = 0
        cdef wasmtime_sharedmemory_t *p = self._mem()
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError("delta must be an int, got %s" % type(delta).__name__)
        if not 0 <= delta < 2**48:
            raise ValueError("delta must be in [0, 2**48), got %d" % delta)
        err = wasmtime_sharedmemory_grow(p, delta, &prev)
        if err != NULL:
            _raise_error(err)
        return prev

    def read(self, offset, length):
        """Copy ``length`` bytes starting at ``offset`` out of the memory."""
        cdef Py_ssize_t off = _offset(offset, "offset"), n = _offset(length, "length")
        return bytes(memoryview(self)[self._range(off, n)])

    def write(self, offset, data):
        """Copy the bytes-like ``data`` into the memory at ``offset``."""
        cdef Py_ssize_t off = _offset(offset, "offset")
        src = memoryview(data).cast("B")
        memoryview(self)[self._range(off, len(src))] = src

    cdef object _range(self, Py_ssize_t offset, Py_ssize_t length):
        cdef size_t size = wasmtime_sharedmemory_data_size(self._mem())
        if <size_t>offset > size or <size_t>length > size - <size_t>offset:
            raise IndexError("memory access [%d, %d) out of bounds (memory is %d bytes)"
                             % (offset, <object>offset + length, size))
        return slice(offset, offset + length)

    def notify(self, address, count=None):
        """Wake up to ``count`` (default: all) guests blocked in
        ``memory.atomic.wait`` on ``address``; returns how many woke."""
        addr = _as_index(address, "address")
        if not 0 <= addr < 2**32 or addr % 4:
            raise ValueError("address must be a multiple of 4 in [0, 2**32), got %d" % addr)
        n = 0xFFFFFFFF if count is None else _as_index(count, "count")
        if not 0 <= n <= 0xFFFFFFFF:
            raise ValueError("count must be in [0, 2**32), got %d" % n)
        return _notifier(self).exports.notify(addr, n) & 0xFFFFFFFF

    def wake_all(self):
        """Wake every guest blocked in ``memory.atomic.wait`` on this memory
        (whatever the address): what ends a wait that nothing else would.
        Takes about a millisecond per 64 KiB page. Returns how many woke."""
        return _notifier(self).exports.wake_all(self.data_len) & 0xFFFFFFFF

    def __getbuffer__(self, Py_buffer *view, int flags):
        cdef wasmtime_sharedmemory_t *p = self._mem()
        PyBuffer_FillInfo(view, self, wasmtime_sharedmemory_data(p),
                          wasmtime_sharedmemory_data_size(p), 0, flags)

    def __releasebuffer__(self, Py_buffer *view):
        pass

    def __reduce__(self):
        raise TypeError("cannot pickle a wasmbind.SharedMemory: it is this process's memory. "
                        "Send the Module instead (Modules pickle)")

    def __repr__(self):
        if self._ptr == NULL:
            return "<wasmbind.SharedMemory (uninitialized)>"
        return "<wasmbind.SharedMemory %d pages>" % self.size


_NOTIFIER_WAT = """(module
  (import "" "m" (memory %(index)s0 %(max)s shared))
  (func (export "notify") (param i32 i32) (result i32)
    (memory.atomic.notify %(addr0)s (local.get 1)))
  (func (export "wake_all") (param i32) (result i32)
    (local $a i32) (local $n i32)
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $a) (local.get 0)))
      (local.set $n (i32.add (local.get $n) (memory.atomic.notify %(addr)s (i32.const -1))))
      (local.set $a (i32.add (local.get $a) (i32.const 4)))
      (br $next)))
    (local.get $n)))"""


cdef object _notifier(SharedMemory mem, bint release_gil=False):
    """An instance, in a store of its own (so that any thread may notify at
    any time), whose functions notify ``mem``; its module is compiled once.
    ``release_gil``: for the ticker thread, which calls it without the GIL."""
    if mem._notifier is None:
        if mem.type.memory64:
            parts = {"index": "i64 ", "max": 2**48, "addr0": "(i64.extend_i32_u (local.get 0))",
                     "addr": "(i64.extend_i32_u (local.get $a))"}
        else:
            parts = {"index": "", "max": 65536, "addr0": "(local.get 0)", "addr": "(local.get $a)"}
        mem._notifier = Module(mem.engine, _NOTIFIER_WAT % parts)
    global _making_notifier
    _making_notifier += 1  # its store is never listed with the wake registry
    try:
        return Instance(Store(mem.engine, release_gil=release_gil), mem._notifier, [mem])
    finally:
        _making_notifier -= 1


# ---- ending atomic waits at deadlines and Ctrl-C (csrc/wasmbind_wake.h) -------

# address of a Store's state -> the (SharedMemory, notifier Instance) pairs the
# wake registry calls for it; dropped when the store closes or dies
_WAKE_KEEP = {}
cdef int _making_notifier = 0


cdef int _wake_register(Store store, SharedMemory mem) except -1:
    """Lists (store, mem) with the wake registry: the ticker then wakes the
    memory's waiters when a call of the store runs past its deadline, or at
    Ctrl-C. Only stores of engines with epoch interruption (the only ones
    with deadlines and Ctrl-C in running code)."""
    cdef Instance notifier
    cdef Func wake_all
    cdef wasmtime_sharedmemory_t *p = mem._mem()
    if not store.engine._epoch or store._ctx == NULL or _making_notifier:
        return 0
    if wb_wake_has(&store._state, wasmtime_sharedmemory_data(p)):
        return 0
    notifier = _notifier(mem, True)
    wake_all = notifier.exports.wake_all
    _WAKE_KEEP.setdefault(<size_t>&store._state, []).append((mem, notifier))
    if wb_wake_add(&store._state, p, (<Store>notifier.store)._ctx, &wake_all._func) != 0:
        raise MemoryError()
    wb_sigint_chain()
    return 0


cdef int _wake_exports(Store store, Module module, object exports) except -1:
    """The shared memories an instance exports, listed with the wake registry
    (reading an export lists it)."""
    for et in module.exports:
        if isinstance(et.type, MemoryType) and et.type.shared:
            exports[et.name]
    return 0


cdef void _wake_forget(Store store) noexcept:
    """The store closes or dies: out of the wake registry (then its notifiers)."""
    wb_wake_forget(&store._state)
    try:
        if _WAKE_KEEP:
            _WAKE_KEEP.pop(<size_t>&store._state, None)
    except BaseException:  # interpreter shutdown: nothing left to drop
        pass
