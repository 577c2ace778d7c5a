# Linear memories, shared with Python through the buffer protocol.

# no_gc_clear: a view's release (__releasebuffer__) needs the store even when
# the GC tears down a cycle holding the view, its Memory and their store.
@cython.final
@cython.no_gc_clear
cdef class Memory(_StoreObject):
    """A linear memory: bytes the guest reads and writes.

    ``Memory(store, memorytype)``. Supports the writable buffer protocol, so
    ``memoryview(mem)`` and ``numpy.frombuffer(mem, dtype)`` see the memory without
    copying. The memory never moves: views stay valid while it grows (they keep
    the length they were made with). Out-of-bounds access raises IndexError.
    """

    def __init__(self, Store store not None, memorytype):
        cdef wasm_memorytype_t *mt
        cdef wasmtime_error_t *err = NULL
        self._claim()
        store._context()
        mt = _memorytype_new(memorytype)
        try:
            err = wasmtime_memory_new(store._context(), mt, &self._mem)
        finally:
            wasm_memorytype_delete(mt)
        if err != NULL:
            _raise_error(err)
        self.store = store

    @property
    def type(self):
        cdef wasm_memorytype_t *mt = wasmtime_memory_type(self._context(), &self._mem)
        try:
            return _memorytype_py(mt)
        finally:
            wasm_memorytype_delete(mt)

    @property
    def size(self):
        """Current size in pages (64 KiB)."""
        return wasmtime_memory_size(self._context(), &self._mem)

    @property
    def data_len(self):
        """Current size in bytes."""
        return wasmtime_memory_data_size(self._context(), &self._mem)

    @property
    def data_ptr(self):
        """Address of the first byte (for ctypes and the like; valid while the store is open)."""
        return <size_t>wasmtime_memory_data(self._context(), &self._mem)

    def __len__(self):
        return wasmtime_memory_data_size(self._context(), &self._mem)

    def grow(self, delta):
        """Grow by ``delta`` pages; returns the previous size in pages.

        Raises WasmError when the memory's maximum or the store's limits forbid it.
        """
        cdef uint64_t prev = 0, n
        self._context()
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError("delta must be an int, got %s" % type(delta).__name__)
        if not 0 <= delta < 2**48:
            raise ValueError("delta must be in [0, 2**48), got %d" % delta)
        n = delta
        err = wasmtime_memory_grow(self._context(), &self._mem, n, &prev)
        if err != NULL:
            _raise_error(err)
        return prev

    cdef uint8_t *_span(self, Py_ssize_t offset, Py_ssize_t length) except NULL:
        cdef wasmtime_context_t *ctx = self._context()
        cdef size_t size = wasmtime_memory_data_size(ctx, &self._mem)
        if <size_t>offset > size or <size_t>length > size - <size_t>offset:
            raise IndexError("memory access [%d, %d) out of bounds (memory is %d bytes)"
                             % (offset, <object>offset + length, size))  # Python ints: no C overflow
        return wasmtime_memory_data(ctx, &self._mem) + offset

    def read(self, offset, length):
        """Copy ``length`` bytes starting at ``offset`` out of the memory."""
        cdef Py_ssize_t off = _offset(offset, "offset"), n = _offset(length, "length")
        cdef uint8_t *p = self._span(off, n)
        return PyBytes_FromStringAndSize(<char *>p, n)

    def write(self, offset, data):
        """Copy the bytes-like ``data`` into the memory at ``offset``."""
        cdef Py_ssize_t off = _offset(offset, "offset")
        cdef Py_buffer buf
        cdef uint8_t *p
        PyObject_GetBuffer(data, &buf, PyBUF_SIMPLE)
        try:
            p = self._span(off, buf.len)
            memcpy(p, buf.buf, buf.len)
        finally:
            PyBuffer_Release(&buf)

    cdef Py_ssize_t _index(self, object key) except -1:
        """The byte ``mem[key]`` names (negative counts from the end)."""
        cdef Py_ssize_t size = self.data_len
        i = _as_index(key, "memory index")
        if not -size <= i < size:
            raise IndexError("memory index %d out of range (memory is %d bytes)" % (i, size))
        return i + size if i < 0 else i

    cdef int _slice(self, object key, Py_ssize_t *start, Py_ssize_t *stop) except -1:
        """The bytes ``mem[a:b]`` names. A slice of memory is exact: bounds
        past either end raise IndexError instead of being cut to fit."""
        cdef Py_ssize_t size = self.data_len
        if key.step is not None and (isinstance(key.step, bool) or not PyIndex_Check(key.step)
                                     or PyNumber_Index(key.step) != 1):
            raise ValueError("memory slices must have step 1, got %r" % (key.step,))
        a = 0 if key.start is None else _as_index(key.start, "memory slice start")
        b = size if key.stop is None else _as_index(key.stop, "memory slice stop")
        if a < 0:
            a += size
        if b < 0:
            b += size
        if not 0 <= a <= size or not 0 <= b <= size:
            raise IndexError("memory slice [%s:%s] out of range (memory is %d bytes)"
                             % (key.start, key.stop, size))
        if a > b:
            raise IndexError("memory slice [%s:%s] ends before it starts" % (key.start, key.stop))
        start[0] = a
        stop[0] = b
        return 0

    def __getitem__(self, key):
        cdef Py_ssize_t a, b
        if isinstance(key, slice):
            self._slice(key, &a, &b)
            return self.read(a, b - a)
        return self._span(self._index(key), 1)[0]

    def __setitem__(self, key, value):
        cdef Py_ssize_t a, b, i
        if isinstance(key, slice):
            self._slice(key, &a, &b)
            if not PyObject_CheckBuffer(value) or isinstance(value, str):
                raise TypeError("memory slice assignment needs bytes-like data, not %s"
                                % type(value).__name__)
            n = len(memoryview(value).cast("B"))
            if n != b - a:
                raise ValueError("memory slice assignment: %d bytes for a slice of %d" % (n, b - a))
            self.write(a, value)
            return
        i = self._index(key)
        byte = _as_index(value, "a memory byte")
        if not 0 <= byte <= 255:
            raise ValueError("a memory byte must be in [0, 256), got %d" % byte)
        self._span(i, 1)[0] = byte

    def __getbuffer__(self, Py_buffer *view, int flags):
        cdef wasmtime_context_t *ctx = self._context()
        cdef size_t size = wasmtime_memory_data_size(ctx, &self._mem)
        cdef uint8_t *p = wasmtime_memory_data(ctx, &self._mem)
        PyBuffer_FillInfo(view, self, p, size, 0, flags)
        self.store._buffer_views += 1

    def __releasebuffer__(self, Py_buffer *view):
        self.store._buffer_views -= 1

    def __repr__(self):
        why = _unusable(self)
        if why is not None:
            return "<wasmbind.Memory (%s)>" % why
        return "<wasmbind.Memory %d pages>" % self.size
