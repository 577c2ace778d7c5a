# Func.map inside the guest: a small generated Wasm module (one per signature
# and array placement, compiled once per engine) imports the mapped function
# and loops over linear memory, calling it once per element; the loop runs in
# the engine, so an element costs a Wasm-to-Wasm call instead of a call from C.
#
# Arrays that already live in a memory of the store (views of a Memory) are
# used where they are (zero copy); the others are copied in blocks through a
# staging memory of the store. The C loops of map.pxi stay for what the guest
# loop does not take: N-d walks, strided views of the store's memories, a map
# nested in a map of the same store, stores with instance or memory count
# limits, tiny arrays, and any set-up failure (the loop cannot be compiled or
# instantiated: nothing was called yet, so the C loop runs the map).

import functools as _functools
import weakref as _weakref

from wasmbind.errors import Trap, WasmError


cdef enum:
    _STAGE_PAGES = 4            # the staging memory of a store: 256 KiB
    _ZERO_COPY_CHUNK = 1 << 30  # elements per loop call when nothing is staged

cdef enum _Place:
    _SCALAR = 0      # broadcast: a parameter of the loop function
    _STAGED = 1      # copied in (inputs) or out (results) in blocks
    _IN_MEMORY = 2   # already in the store's memory: used in place

# arrays shorter than this take the C loop: the guest loop's set-up (about
# 0.4 us) is then more than the calls it saves (the crossover, measured: 32)
cdef Py_ssize_t _guest_min_n = 32
cdef Py_ssize_t _guest_runs = 0    # guest-loop runs so far (for the tests)

_LOOP_MODULE = "wasmbind.map"   # the name section's module name: its frames leave traces
cdef bytes _RUN = b"wasmbind.map.run"    # the exports: names no caller would ask for
cdef bytes _DONE = b"wasmbind.map.done"


def _map_guest_settings(min_n=None):
    """(Private, for tests and benchmarks.) Sets the length from which
    Func.map loops inside the guest (a huge value: never) when given; returns
    ``(previous min_n, guest-loop runs so far)``."""
    global _guest_min_n
    prev = _guest_min_n
    if min_n is not None:
        _guest_min_n = max(1, min_n)
    return prev, _guest_runs


# ---- the loop module's binary -------------------------------------------------

cdef bytes _leb(unsigned long long v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


cdef bytes _vec(list items):
    return _leb(len(items)) + b"".join(items)


cdef bytes _section(int sid, bytes body):
    return bytes([sid]) + _leb(len(body)) + body


cdef bytes _wname(bytes s):
    return _leb(len(s)) + s


cdef dict _VALTYPE = {WB_I32: 0x7F, WB_I64: 0x7E, WB_F32: 0x7D, WB_F64: 0x7C}
cdef dict _LOAD = {WB_I32: 0x28, WB_I64: 0x29, WB_F32: 0x2A, WB_F64: 0x2B}
cdef dict _STORE = {WB_I32: 0x36, WB_I64: 0x37, WB_F32: 0x38, WB_F64: 0x39}


cdef bytes _memarg(uint8_t kind, int memidx):
    align = 2 if _kind_size(kind) == 4 else 3
    if memidx == 0:
        return _leb(align) + b"\x00"
    return _leb(align | 0x40) + _leb(memidx) + b"\x00"


cdef bytes _loop_binary(bytes kinds, Py_ssize_t np, bytes place, bint wide):
    """The loop module for ``kinds`` (params then results) with the arrays
    placed as ``place`` says; ``wide``: the store's memory is 64-bit.

    Imports ``f`` (the function), then the staging memory and/or the store's
    memory; exports ``run(params..., result addresses..., n)``, which calls
    ``f`` on n elements, and the global ``done``: the elements finished.
    """
    cdef Py_ssize_t nall = len(kinds), nr = nall - np, j
    staged = any(place[j] == _STAGED for j in range(nall))
    in_mem = any(place[j] == _IN_MEMORY for j in range(nall))
    stage_idx, mem_idx = 0, (1 if staged else 0)
    addr = {_STAGED: 0x7F, _IN_MEMORY: 0x7E if wide else 0x7F}
    memidx = {_STAGED: stage_idx, _IN_MEMORY: mem_idx}
    f_type = (b"\x60" + _vec([bytes([_VALTYPE[kinds[j]]]) for j in range(np)])
              + _vec([bytes([_VALTYPE[kinds[j]]]) for j in range(np, nall)]))
    run_params = [bytes([_VALTYPE[kinds[j]] if place[j] == _SCALAR else addr[place[j]]])
                  for j in range(nall)] + [b"\x7F"]
    run_type = b"\x60" + _vec(run_params) + _vec([])
    imports = [_wname(b"wasmbind") + _wname(b"f") + b"\x00\x00"]
    if staged:
        imports.append(_wname(b"wasmbind") + _wname(b"stage") + b"\x02\x00\x00")
    if in_mem:
        imports.append(_wname(b"wasmbind") + _wname(b"memory") + (b"\x02\x04\x00" if wide else b"\x02\x00\x00"))
    # locals: the run parameters 0..nall-1, n = nall, i = nall + 1, then one
    # temporary per result when there are several
    n_loc, i_loc, tmp = nall, nall + 1, nall + 2
    local_decls = [b"\x01\x7F"] + ([b"\x01" + bytes([_VALTYPE[kinds[j]]]) for j in range(np, nall)]
                                   if nr > 1 else [])
    code = bytearray()
    code += b"\x41\x00\x24\x00"                                   # done = 0
    code += b"\x02\x40"                                           # block
    code += b"\x20" + _leb(n_loc) + b"\x45\x0D\x00"              # br_if (n == 0)
    code += b"\x03\x40"                                           # loop
    if nr == 1:
        code += b"\x20" + _leb(np)                                # the result's address
    for j in range(np):
        code += b"\x20" + _leb(j)
        if place[j] != _SCALAR:
            code += bytes([_LOAD[kinds[j]]]) + _memarg(kinds[j], memidx[place[j]])
    code += b"\x10\x00"                                           # call f
    if nr == 1:
        code += bytes([_STORE[kinds[np]]]) + _memarg(kinds[np], memidx[place[np]])
    elif nr > 1:
        for j in reversed(range(nr)):
            code += b"\x21" + _leb(tmp + j)
        for j in range(nr):
            code += b"\x20" + _leb(np + j) + b"\x20" + _leb(tmp + j)
            code += bytes([_STORE[kinds[np + j]]]) + _memarg(kinds[np + j], memidx[place[np + j]])
    for j in range(nall):                                         # advance the addresses
        if place[j] != _SCALAR:
            w = place[j] == _IN_MEMORY and wide
            code += b"\x20" + _leb(j) + (b"\x42" if w else b"\x41") + _leb(_kind_size(kinds[j]))
            code += (b"\x7C" if w else b"\x6A") + b"\x21" + _leb(j)
    code += b"\x20" + _leb(i_loc) + b"\x41\x01\x6A\x22" + _leb(i_loc) + b"\x24\x00"  # done = ++i
    code += b"\x20" + _leb(i_loc) + b"\x20" + _leb(n_loc) + b"\x47\x0D\x00"          # br_if (i != n)
    code += b"\x0B\x0B\x0B"                                       # end loop, block, function
    body = _vec(local_decls) + bytes(code)
    names = (_section(0, _wname(_LOOP_MODULE.encode()))
             + _section(1, _vec([_leb(1) + _wname(b"map_loop")])))
    return (b"\0asm\x01\x00\x00\x00"
            + _section(1, _vec([f_type, run_type]))
            + _section(2, _vec(imports))
            + _section(3, _vec([b"\x01"]))
            + _section(6, _vec([b"\x7F\x01\x41\x00\x0B"]))
            + _section(7, _vec([_wname(_RUN) + b"\x00\x01", _wname(_DONE) + b"\x03\x00"]))
            + _section(10, _vec([_wname(body)]))
            + _section(0, _wname(b"name") + names))


# ---- caches: loop modules per engine, staging memory and loops per store -------

@cython.final
cdef class _GuestModule:
    """A compiled loop module (no reference to its Engine object: it is a value
    of a cache keyed by that engine)."""
    cdef wasmtime_module_t *ptr

    def __dealloc__(self):
        if self.ptr != NULL:
            wasmtime_module_delete(self.ptr)


@cython.final
cdef class _GuestLoop:
    """A loop instance in a store: its entry and its progress counter."""
    cdef wasmtime_func_t run
    cdef wasmtime_global_t done


@cython.final
cdef class _GuestCache:
    """The cache entry of one Engine (loop modules) or one Store (staging
    memory, loop instances), found by id() and checked by a weak reference."""
    cdef object ref
    cdef dict items
    cdef uint64_t store_id
    cdef bint has_stage
    cdef wasmtime_memory_t stage
    cdef uint8_t *stage_data
    cdef bint busy


cdef dict _guest_engines = {}
cdef dict _guest_stores = {}


def _guest_forget(dict table, key, ref):
    table.pop(key, None)


cdef _GuestCache _guest_cache(dict table, object owner):
    cdef _GuestCache c = table.get(id(owner))
    if c is not None and c.ref() is owner:
        return c
    c = _GuestCache.__new__(_GuestCache)
    c.ref = _weakref.ref(owner, _functools.partial(_guest_forget, table, id(owner)))
    c.items = {}
    table[id(owner)] = c
    return c


cdef _GuestCache _guest_store_cache(Func f, Store store, wasmtime_context_t *ctx):
    """The store's cache entry with its staging memory, None if it has none."""
    cdef _GuestCache c = _guest_cache(_guest_stores, store)
    cdef wasm_memorytype_t *mt = NULL
    cdef wasmtime_error_t *err
    if c.store_id == f._func.store_id:
        return c if c.has_stage else None
    # first use in this store (or the Store object was opened again)
    c.items = {}
    c.store_id = f._func.store_id
    c.has_stage = False
    err = wasmtime_memorytype_new(_STAGE_PAGES, True, _STAGE_PAGES, False, False, 16, &mt)
    if err == NULL:
        err = wasmtime_memory_new(ctx, mt, &c.stage)
        wasm_memorytype_delete(mt)
    if err != NULL:   # e.g. the store's memory_size limit
        wasmtime_error_delete(err)
        return None
    c.has_stage = True
    c.stage_data = wasmtime_memory_data(ctx, &c.stage)
    return c


cdef _GuestModule _guest_module(Engine engine, bytes kinds, Py_ssize_t np, bytes place, bint wide):
    cdef _GuestCache c = _guest_cache(_guest_engines, engine)
    cdef _GuestModule gm
    cdef wasmtime_module_t *m = NULL
    key = (kinds, np, place, wide)
    found = c.items.get(key, _MISSING)
    if found is not _MISSING:
        return found
    try:
        m = _compile(engine, _loop_binary(kinds, np, place, wide))
    except WasmError:   # CompileError: an engine configured without what the loop needs
        gm = None
    else:
        gm = _GuestModule.__new__(_GuestModule)
        gm.ptr = m
    c.items[key] = gm
    return gm


cdef _GuestLoop _guest_instantiate(Func f, Store store, wasmtime_context_t *ctx, _GuestCache c,
                                   Memory mem, bytes kinds, Py_ssize_t np, bytes place, bint wide):
    cdef _GuestModule gm = _guest_module(store.engine, kinds, np, place, wide)
    cdef _GuestLoop loop
    cdef wasmtime_extern_t ext[3]
    cdef wasmtime_extern_t item
    cdef wasmtime_instance_t inst
    cdef wasmtime_error_t *err
    cdef wasm_trap_t *trap = NULL
    cdef int nimp = 1
    if gm is None:
        return None
    ext[0].kind = WB_EXTERN_FUNC
    ext[0].of.func = f._func
    if _STAGED in place:
        ext[nimp].kind = WB_EXTERN_MEMORY
        ext[nimp].of.memory = c.stage
        nimp += 1
    if _IN_MEMORY in place:
        ext[nimp].kind = WB_EXTERN_MEMORY
        ext[nimp].of.memory = mem._mem
        nimp += 1
    err = wasmtime_instance_new(ctx, gm.ptr, ext, nimp, &inst, &trap)
    if err != NULL or trap != NULL:   # e.g. a memory of another page size
        if err != NULL:
            wasmtime_error_delete(err)
        if trap != NULL:
            wasm_trap_delete(trap)
        return None
    loop = _GuestLoop.__new__(_GuestLoop)
    if not wasmtime_instance_export_get(ctx, &inst, _RUN, len(_RUN), &item):
        return None
    loop.run = item.of.func
    if not wasmtime_instance_export_get(ctx, &inst, _DONE, len(_DONE), &item):
        return None
    loop.done = item.of.global_
    return loop


# ---- choosing the path ----------------------------------------------------------

cdef struct _GuestRun:
    wasmtime_func_t run
    wasmtime_global_t done
    uint8_t *stage
    char *mem
    Py_ssize_t block
    bint wide
    uint8_t place[MAP_MAX]
    uint8_t size[MAP_MAX]
    Py_ssize_t st[MAP_MAX]   # byte stride of each array operand
    size_t off[MAP_MAX]      # offset in the staging memory of each staged operand


cdef object _nd_base = None   # ndarray.base, read past any subclass's override


cdef Memory _owner_memory(object obj, Store store, object nd):
    """The Memory of ``store`` that a buffer exporter (a view, an ndarray of
    type ``nd``...) is a view of, if any. Runs no code of the objects'."""
    global _nd_base
    for _ in range(8):
        if isinstance(obj, Memory):
            return obj if (<Memory>obj).store is store else None
        if isinstance(obj, memoryview):
            try:
                obj = obj.obj
            except ValueError:   # released
                return None
        elif nd is not None and isinstance(obj, nd):
            if _nd_base is None:
                _nd_base = nd.base
            obj = _nd_base.__get__(obj)
        else:
            return None
    return None


cdef inline void _span(char *p, Py_ssize_t st, Py_ssize_t n, Py_ssize_t size, char **lo,
                       char **hi) noexcept nogil:
    if st < 0:
        lo[0] = p + (n - 1) * st
        hi[0] = p + size
    else:
        lo[0] = p
        hi[0] = p + (n - 1) * st + size


cdef _GuestCache _guest_plan(Func f, Store store, wasmtime_context_t *ctx, Py_ssize_t np, Py_ssize_t nr,
                             Py_ssize_t n, uint8_t *kinds, char **ptrs, const Py_ssize_t *strides,
                             Py_ssize_t rs, wasmtime_val_raw_t *scalars, Py_buffer *views,
                             Py_ssize_t nviews, _GuestRun *g):
    """Fills ``g`` with the loop to run this map with and returns the store's
    cache entry, or returns None for the C loop. Broadcast inputs become
    ``scalars`` (and their ``ptrs`` NULL)."""
    cdef Py_ssize_t nall = np + nr, j, k, per = 0
    cdef Memory mem = None
    cdef char *base = NULL
    cdef char *lo1
    cdef char *hi1
    cdef char *lo2
    cdef char *hi2
    cdef size_t msize = 0
    cdef bint any_staged = False, any_in = False
    cdef _GuestCache c
    cdef wasm_memorytype_t *mt
    cdef PyObject *exporter
    limits = store._limits
    if limits is not None and (limits["instances"] is not None or limits["memories"] is not None):
        return None   # the loop instances would use up the store's budget
    c = _guest_store_cache(f, store, ctx)
    if c is None or c.busy:
        return None   # no staging memory, or a map already running in this store
    # getattr: numpy may be half imported by another thread (see _get_input)
    nd = getattr(_MODULES.get("numpy"), "ndarray", None)
    for k in range(nviews):
        exporter = <PyObject *>views[k].obj
        if exporter != NULL:
            mem = _owner_memory(<object>exporter, store, nd)
            if mem is not None:
                base = <char *>wasmtime_memory_data(ctx, &mem._mem)
                msize = wasmtime_memory_data_size(ctx, &mem._mem)
                break
    for j in range(nall):
        g.size[j] = _kind_size(kinds[j])
        g.st[j] = strides[j * rs]
        if ptrs[j] != NULL and j < np and g.st[j] == 0:
            _load(kinds[j], ptrs[j], &scalars[j])   # broadcast along the dimension
            ptrs[j] = NULL
        if ptrs[j] == NULL:
            g.place[j] = _SCALAR
            continue
        _span(ptrs[j], g.st[j], n, g.size[j], &lo1, &hi1)
        if base != NULL and lo1 < base + msize and base < hi1:
            if g.st[j] != g.size[j] or lo1 < base or hi1 > base + msize:
                return None   # strided in a memory the function may write: C order matters
            g.place[j] = _IN_MEMORY
            any_in = True
        else:
            g.place[j] = _STAGED
            any_staged = True
    if any_in and any_staged and store.engine.config.wasm_multi_memory is False:
        for j in range(nall):   # one memory only: stage everything
            if g.place[j] == _IN_MEMORY:
                g.place[j] = _STAGED
        any_in = False
    # a staged input is read a block ahead of the results: it must not overlap
    # an output other than as the very same elements (map.pxi makes it so; kept
    # here so the block order can never show)
    for j in range(np, nall):
        _span(ptrs[j], g.st[j], n, g.size[j], &lo1, &hi1)
        for k in range(np):
            if ptrs[k] == NULL or (g.place[j] == _IN_MEMORY and g.place[k] == _IN_MEMORY):
                continue
            _span(ptrs[k], g.st[k], n, g.size[k], &lo2, &hi2)
            if (lo1 < hi2 and lo2 < hi1
                    and (ptrs[k] != ptrs[j] or g.st[k] != g.st[j] or g.size[k] != g.size[j])):
                return None
    g.wide = False
    if any_in:
        mt = wasmtime_memory_type(ctx, &mem._mem)
        g.wide = wasmtime_memorytype_is64(mt)
        wasm_memorytype_delete(mt)
    place = PyBytes_FromStringAndSize(<char *>g.place, nall)
    key = (PyBytes_FromStringAndSize(<char *>&f._func, sizeof(wasmtime_func_t)),
           <size_t>base if any_in else 0, place)
    loop = c.items.get(key, _MISSING)
    if loop is _MISSING:
        loop = _guest_instantiate(f, store, ctx, c, mem, PyBytes_FromStringAndSize(<char *>kinds, nall),
                                  np, place, g.wide)
        c.items[key] = loop
    if loop is None:
        return None
    g.run = (<_GuestLoop>loop).run
    g.done = (<_GuestLoop>loop).done
    g.stage = c.stage_data
    g.mem = base
    for j in range(nall):
        if g.place[j] == _STAGED:
            per += g.size[j]
    g.block = _ZERO_COPY_CHUNK if per == 0 else (_STAGE_PAGES * 65536 // per) & ~7
    per = 0
    for j in range(nall):
        if g.place[j] == _STAGED:
            g.off[j] = per
            per += g.block * g.size[j]
    return c


# ---- running it -------------------------------------------------------------------

cdef inline void _copy_elements(char *dst, Py_ssize_t dst_st, const char *src, Py_ssize_t src_st,
                                Py_ssize_t count, Py_ssize_t size) noexcept nogil:
    cdef Py_ssize_t i
    if dst_st == size and src_st == size:
        memcpy(dst, src, count * size)
    elif size == 4:
        for i in range(count):
            (<uint32_t *>(dst + i * dst_st))[0] = (<const uint32_t *>(src + i * src_st))[0]
    else:
        for i in range(count):
            (<uint64_t *>(dst + i * dst_st))[0] = (<const uint64_t *>(src + i * src_st))[0]


cdef inline void _guest_copy_out(_GuestRun *g, Py_ssize_t np, Py_ssize_t nall, char **ptrs,
                                 Py_ssize_t start, Py_ssize_t count) noexcept nogil:
    cdef Py_ssize_t j
    for j in range(np, nall):
        if g.place[j] == _STAGED and count > 0:
            _copy_elements(ptrs[j] + start * g.st[j], g.st[j], <char *>g.stage + g.off[j], g.size[j],
                           count, g.size[j])


cdef Py_ssize_t _guest_loop(wasmtime_context_t *ctx, _GuestRun *g, Py_ssize_t np, Py_ssize_t nr,
                            Py_ssize_t n, char **ptrs, wasmtime_val_raw_t *scalars,
                            wasmtime_error_t **err, wasm_trap_t **trap) noexcept nogil:
    """Runs the loop over all n elements, block by block: -1 when done, else
    the index of the element that failed (the ones before it are written)."""
    cdef wasmtime_val_raw_t raw[MAP_MAX + 1]
    cdef wasmtime_val_t done
    cdef Py_ssize_t nall = np + nr, start = 0, count, j
    cdef uint64_t addr
    while start < n:
        count = n - start
        if count > g.block:
            count = g.block
        for j in range(nall):
            if g.place[j] == _SCALAR:
                raw[j] = scalars[j]
            elif g.place[j] == _STAGED:
                raw[j].i32 = <int32_t>g.off[j]
                if j < np:
                    _copy_elements(<char *>g.stage + g.off[j], g.size[j], ptrs[j] + start * g.st[j],
                                   g.st[j], count, g.size[j])
            else:
                addr = <uint64_t>(ptrs[j] - g.mem) + <uint64_t>start * g.size[j]
                if g.wide:
                    raw[j].i64 = <int64_t>addr
                else:
                    raw[j].i32 = <int32_t><uint32_t>addr
        raw[nall].i32 = <int32_t>count
        # the counter from the host too: a loop stopped before its first
        # instruction (fuel, a deadline) must not leave the last block's count
        done.kind = WB_I32
        done.of.i32 = 0
        err[0] = wasmtime_global_set(ctx, &g.done, &done)
        if err[0] != NULL:
            return start
        err[0] = wasmtime_func_call_unchecked(ctx, &g.run, raw, nall + 1, trap)
        if err[0] != NULL or trap[0] != NULL:
            wasmtime_global_get(ctx, &g.done, &done)
            if <uint32_t>done.of.i32 < <size_t>count:
                count = <uint32_t>done.of.i32
            _guest_copy_out(g, np, nall, ptrs, start, count)
            return start + count
        _guest_copy_out(g, np, nall, ptrs, start, count)
        start += count
    return -1


cdef bint _map_guest(Func f, Store store, wasmtime_context_t *ctx, Py_ssize_t np, Py_ssize_t nr,
                     Py_ssize_t n, uint8_t *kinds, char **ptrs, const Py_ssize_t *strides,
                     Py_ssize_t rs, wasmtime_val_raw_t *scalars, Py_buffer *views,
                     Py_ssize_t nviews) except -1:
    """Runs a map over one dimension (operand ``k`` at ``ptrs[k]``, moved on by
    ``strides[k * rs]`` bytes; NULL: ``scalars[k]``) in the guest loop: True
    when done, False when the C loop must run it (nothing was called). Raises
    what the failing call raised, with the elements before it written."""
    global _guest_runs
    cdef _GuestRun g
    cdef _GuestCache c
    cdef wasmtime_error_t *err = NULL
    cdef wasm_trap_t *trap = NULL
    cdef Py_ssize_t failed_at
    cdef char *p[MAP_MAX]
    if n < _guest_min_n:
        return False
    memcpy(p, ptrs, (np + nr) * sizeof(char *))   # the C loop's own are left as they are
    c = _guest_plan(f, store, ctx, np, nr, n, kinds, p, strides, rs, scalars, views, nviews, &g)
    if c is None:
        return False
    if wb_state_enter(&store._state):
        _stack_refused(store)
    c.busy = True
    _guest_runs += 1
    if store._state.release_gil:
        with nogil:
            failed_at = _guest_loop(ctx, &g, np, nr, n, p, scalars, &err, &trap)
    else:
        failed_at = _guest_loop(ctx, &g, np, nr, n, p, scalars, &err, &trap)
    wb_state_leave(&store._state)
    c.busy = False
    if failed_at < 0:
        return True
    if store._pending is not None:
        _raise_call_failure(store, err, trap)
    try:
        _raise_call_failure(store, err, trap)
    except Trap as exc:   # the engine's trap: without the loop's own frames
        exc.frames = tuple([fr for fr in exc.frames if fr.module_name != _LOOP_MODULE])
        raise
    return True
