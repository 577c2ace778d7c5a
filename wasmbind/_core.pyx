# cython: boundscheck=False, wraparound=False, initializedcheck=False
"""wasmbind's core: the cdef classes over Wasmtime's C API.

Layout of this file, top to bottom: error choke points, value conversion,
type conversion, Engine, Store, Module, Func (calls and host functions),
Caller, Memory, Global, Table, Instance and Exports, Linker, WASI.
"""

cimport cython
from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_SIMPLE, PyBUF_WRITABLE, PyObject_CheckBuffer, PyBuffer_FillInfo, PyBuffer_Release,
                             PyObject_GetBuffer)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble, PyFloat_CheckExact
from cpython.long cimport (PyLong_AsDouble, PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong,
                           PyLong_Check, PyLong_CheckExact)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.sequence cimport PySequence_Fast_ITEMS
from cpython.tuple cimport PyTuple_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from wasmbind.includes.helpers cimport *
from wasmbind.includes.wasi cimport *

import threading
from collections.abc import Mapping as _Mapping

from wasmbind import errors as _errors
from wasmbind.config import Config
from wasmbind.errors import (CompileError, LinkError, StoreBusyError, StoreClosedError, Trap,
                             TrapCode, WasiExit, WasmError)
from wasmbind.types import (ExportType, FuncType, GlobalType, ImportType, MemoryType, TableType,
                            TagType, ValType)

cdef extern from "Python.h":
    unsigned long wb_thread_id()
    object PyObject_Vectorcall(object callable, PyObject **args, size_t nargsf, PyObject *kwnames)
    int PyIndex_Check(object o)
    object PyNumber_Index(object o)

cdef extern from *:
    """
    #ifndef WASMBIND_WASMTIME_VERSION
    #define WASMBIND_WASMTIME_VERSION "unknown"
    #endif
    """
    const char *WASMBIND_WASMTIME_VERSION

cdef extern from "wasmbind_abi.h":
    object wb_abi_layout()

WASMTIME_VERSION = WASMBIND_WASMTIME_VERSION.decode()


def _abi_layout():
    """Size, alignment and field offsets of each struct declared by value in
    csrc/wasmbind_capi.h, as compiled here (checked against the engine's ABI
    by tests/test_abi_layout.py)."""
    return wb_abi_layout()

# Stack buffers for calls: enough for nearly every signature, heap beyond.
DEF SMALL = 16
DEF MAX_PARAMS = 1000


# ======================================================================
# Errors: the one place engine failures become Python exceptions.
# ======================================================================

cdef str _name_to_str(const wasm_name_t *name):
    if name == NULL or name.data == NULL:
        return None
    cdef Py_ssize_t n = name.size
    while n > 0 and name.data[n - 1] == 0:
        n -= 1
    return (<char *>name.data)[:n].decode("utf-8", "replace")


cdef str _take_message(wasm_name_t *vec):
    try:
        return _name_to_str(vec)
    finally:
        wasm_byte_vec_delete(vec)


cdef object _known_offset(size_t offset):
    # the engine reports an unknown offset (e.g. the frame that overflowed the stack) as SIZE_MAX
    return None if offset == <size_t>-1 else offset


cdef tuple _frames(wasm_frame_vec_t *vec):
    cdef list out = []
    cdef size_t i
    cdef wasm_frame_t *f
    try:
        for i in range(vec.size):
            f = vec.data[i]
            out.append(_errors.Frame(
                wasm_frame_func_index(f),
                _name_to_str(wasmtime_frame_func_name(f)),
                _name_to_str(wasmtime_frame_module_name(f)),
                _known_offset(wasm_frame_func_offset(f)),
                _known_offset(wasm_frame_module_offset(f)),
            ))
    finally:
        wasm_frame_vec_delete(vec)
    return tuple(out)


cdef object _trap_exception(wasm_trap_t *trap):
    """Builds a Trap from an engine trap and frees it."""
    cdef wasm_name_t msg
    cdef wasm_frame_vec_t trace
    cdef wasmtime_trap_code_t code
    try:
        wasm_trap_message(trap, &msg)
        message = _clean_message(_take_message(&msg))
        wasm_trap_trace(trap, &trace)
        frames = _frames(&trace)
        pycode = TrapCode._from_engine(code) if wasmtime_trap_code(trap, &code) else None
    finally:
        wasm_trap_delete(trap)
    return Trap(message, pycode, frames)


cdef str _clean_message(str message):
    """The engine's trap text without its own backtrace (Trap renders frames
    itself) and without its numbering of the error chain: the causes, outermost
    first, joined by "; "."""
    if message is None:
        return None
    if "Caused by:" in message:
        message = message.split("Caused by:", 1)[1]
    parts = []
    for line in message.strip().splitlines():
        line = line.strip()
        m = _CAUSE_NUMBER.match(line)
        if m:
            line = line[m.end():]
        if line:
            parts.append(line)
    return "; ".join(parts)


import re as _re
_CAUSE_NUMBER = _re.compile(r"\d+: ")


cdef str _error_message(wasmtime_error_t *err):
    cdef wasm_name_t msg
    wasmtime_error_message(err, &msg)
    return _take_message(&msg)


cdef int _raise_error(wasmtime_error_t *err, object cls=WasmError) except -1:
    """Raises ``cls`` with the engine's message and frees the error."""
    try:
        message = _error_message(err)
    finally:
        wasmtime_error_delete(err)
    raise cls(message)


cdef int _raise_call_failure(Store store, wasmtime_error_t *err, wasm_trap_t *trap,
                             object error_cls=None) except -1:
    """The choke point after any call into Wasm that failed.

    Order: an exception kept from a host callback or a signal handler is raised
    again as the same object; then a deadline interrupt; then the engine's trap;
    then a WASI exit; then the engine's error message.
    """
    cdef int status
    cdef wasm_frame_vec_t trace
    pending = store._pending
    interrupted = store._state.interrupted
    store._pending = None
    store._state.interrupted = 0
    if pending is not None:
        if trap != NULL:
            wasm_trap_delete(trap)
        if err != NULL:
            wasmtime_error_delete(err)
        raise pending
    if trap != NULL:
        exc = _trap_exception(trap)
        if err != NULL:
            wasmtime_error_delete(err)
        raise exc
    if err == NULL:
        return 0
    try:
        if wasmtime_error_exit_status(err, &status):
            raise WasiExit(status)
        message = _clean_message(_error_message(err))
        wasmtime_error_wasm_trace(err, &trace)
        frames = _frames(&trace)
    finally:
        wasmtime_error_delete(err)
    if interrupted:
        raise Trap("wasm execution interrupted: the store's deadline passed", TrapCode.INTERRUPT, frames)
    if error_cls is not None:
        raise error_cls(message)
    if frames:
        raise Trap(message, None, frames)
    raise WasmError(message)


cdef int _link_failure(Store store, wasmtime_error_t *err, wasm_trap_t *trap) except -1:
    """Instantiation failed: a trap in the start function, or a link error."""
    if store._pending is not None or trap != NULL or store._state.interrupted:
        return _raise_call_failure(store, err, trap)
    cdef int status
    if wasmtime_error_exit_status(err, &status):
        return _raise_call_failure(store, err, trap)
    message = _error_message(err)
    wasmtime_error_delete(err)
    if "import" in message or "incompatible" in message:
        raise LinkError(message)
    raise WasmError(message)


# ======================================================================
# Values: Python objects <-> raw Wasm values.
# ======================================================================

cdef str _kind_name(uint8_t kind):
    if kind <= WB_EXTERNREF:
        return ValType(kind).name
    return "unsupported type %d" % kind


cdef inline object _index(object v, uint8_t kind):
    if PyLong_Check(v):
        return v
    if PyIndex_Check(v):
        return PyNumber_Index(v)
    raise TypeError("expected an int for %s, got %s" % (_kind_name(kind), type(v).__name__))


cdef inline int32_t _as_i32(object v) except? -1:
    cdef long long x
    cdef int overflow = 0
    if not PyLong_CheckExact(v):
        v = _index(v, WB_I32)
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow or x < -0x80000000 or x > 0xFFFFFFFF:
        raise OverflowError("%r out of range for i32 [-2**31, 2**32)" % (v,))
    return <int32_t><uint32_t>x


cdef inline int64_t _as_i64(object v) except? -1:
    cdef int overflow = 0
    cdef long long x
    if not PyLong_CheckExact(v):
        v = _index(v, WB_I64)
    x = PyLong_AsLongLongAndOverflow(v, &overflow)
    if overflow == 0:
        return x
    if overflow > 0 and v <= 0xFFFFFFFFFFFFFFFF:
        return <int64_t>PyLong_AsUnsignedLongLong(v)
    raise OverflowError("%r out of range for i64 [-2**63, 2**64)" % (v,))


cdef inline double _as_double(object v, uint8_t kind) except? -1.0:
    if PyFloat_CheckExact(v):
        return PyFloat_AS_DOUBLE(v)
    if PyLong_Check(v):
        return PyLong_AsDouble(v)
    if isinstance(v, (str, bytes, bytearray, complex)) or v is None:
        raise TypeError("expected a float for %s, got %s" % (_kind_name(kind), type(v).__name__))
    try:
        return PyFloat_AsDouble(v)
    except TypeError:
        raise TypeError("expected a float for %s, got %s" % (_kind_name(kind), type(v).__name__)) from None


cdef int _as_v128(object v, uint8_t *out) except -1:
    v = _index(v, WB_V128)
    if not 0 <= v < (1 << 128):
        raise OverflowError("%r out of range for v128 [0, 2**128)" % (v,))
    data = (<object>v).to_bytes(16, "little")
    memcpy(out, PyBytes_AS_STRING(data), 16)
    return 0


cdef inline int _to_raw(uint8_t kind, object v, wasmtime_val_raw_t *out) except -1:
    if kind == WB_I32:
        out.i32 = _as_i32(v)
    elif kind == WB_I64:
        out.i64 = _as_i64(v)
    elif kind == WB_F64:
        out.f64 = _as_double(v, kind)
    elif kind == WB_F32:
        out.f32 = <float>_as_double(v, kind)
    elif kind == WB_V128:
        _as_v128(v, out.v128)
    else:
        raise TypeError("cannot pass %s as a raw value" % _kind_name(kind))
    return 0


cdef inline object _from_raw(uint8_t kind, wasmtime_val_raw_t *raw):
    return wb_raw_to_object(kind, raw)


cdef int _to_val(Store store, wasmtime_context_t *ctx, uint8_t kind, object v,
                 wasmtime_val_t *out) except -1:
    """Converts to an engine value; an externref made here is rooted (unroot it)."""
    cdef Func f
    out.kind = kind
    if kind == WB_EXTERNREF:
        memset(&out.of, 0, sizeof(out.of))
        if v is None:
            return 0
        Py_INCREF(v)
        if not wasmtime_externref_new(ctx, <void *>v, wb_decref_finalizer, &out.of.externref):
            # the engine did not take the reference; leaking beats a double free
            out.kind = WB_I32
            raise MemoryError("the engine could not allocate an externref")
        return 0
    if kind == WB_FUNCREF:
        memset(&out.of, 0, sizeof(out.of))
        if v is None:
            return 0
        if not isinstance(v, Func):
            raise TypeError("expected a Func or None for funcref, got %s" % type(v).__name__)
        f = <Func>v
        if f.store is not store:
            raise ValueError("the Func belongs to a different Store")
        out.of.funcref = f._func
        return 0
    return _to_raw(kind, v, <wasmtime_val_raw_t *>&out.of)


cdef object _from_val(Store store, wasmtime_context_t *ctx, wasmtime_val_t *val):
    cdef void *data
    if val.kind == WB_EXTERNREF:
        if val.of.externref.store_id == 0:
            return None
        data = wasmtime_externref_data(ctx, &val.of.externref)
        return None if data == NULL else <object>data
    if val.kind == WB_FUNCREF:
        if val.of.funcref.store_id == 0:
            return None
        return Func._wrap(store, &val.of.funcref, None)
    return _from_raw(val.kind, <wasmtime_val_raw_t *>&val.of)


cdef inline void _unroot_vals(wasmtime_val_t *vals, Py_ssize_t n) noexcept:
    cdef Py_ssize_t i
    for i in range(n):
        if vals[i].kind == WB_EXTERNREF or vals[i].kind == WB_ANYREF:
            wasmtime_val_unroot(&vals[i])


# ======================================================================
# Types: engine type objects <-> wasmbind.types.
# ======================================================================

cdef uint8_t _kind_of(const wasm_valtype_t *vt) noexcept:
    """A value type's kind as wasmbind numbers them (ValType), 254 if unsupported.

    Read through Wasmtime's own value types: the standard wasm_valtype_kind()
    of the pinned engine aborts the process on v128.
    """
    cdef wasmtime_valtype_t t
    cdef uint8_t k = 254
    wasmtime_valtype_new(vt, &t)
    if t.kind <= WB_VALTYPE_V128:
        k = t.kind
    elif t.kind == WB_VALTYPE_REF:
        if t.reftype.heaptype.kind in (WB_HEAPTYPE_EXTERN, WB_HEAPTYPE_NOEXTERN):
            k = WB_EXTERNREF
        elif t.reftype.heaptype.kind in (WB_HEAPTYPE_FUNC, WB_HEAPTYPE_NOFUNC, WB_HEAPTYPE_CONCRETE_FUNC):
            k = WB_FUNCREF
    wasmtime_valtype_delete(&t)
    return k


cdef object _valtype_py(const wasm_valtype_t *vt):
    cdef uint8_t k = _kind_of(vt)
    if k == 254:
        raise WasmError("unsupported value type (a GC or exception reference type)")
    return ValType(k)


cdef tuple _valtypes_py(const wasm_valtype_vec_t *vec):
    return tuple([_valtype_py(vec.data[i]) for i in range(vec.size)])


cdef object _functype_py(const wasm_functype_t *ft):
    return FuncType(_valtypes_py(wasm_functype_params(ft)), _valtypes_py(wasm_functype_results(ft)))


cdef object _memorytype_py(const wasm_memorytype_t *mt):
    cdef uint64_t mx
    maximum = mx if wasmtime_memorytype_maximum(mt, &mx) else None
    return MemoryType(wasmtime_memorytype_minimum(mt), maximum,
                      memory64=wasmtime_memorytype_is64(mt), shared=wasmtime_memorytype_isshared(mt))


cdef object _globaltype_py(const wasm_globaltype_t *gt):
    return GlobalType(_valtype_py(wasm_globaltype_content(gt)),
                      wasm_globaltype_mutability(gt) == WB_WASM_VAR)


cdef object _tabletype_py(const wasm_tabletype_t *tt):
    cdef const wasm_limits_t *lim = wasm_tabletype_limits(tt)
    maximum = None if lim.max == 0xFFFFFFFF else lim.max
    return TableType(_valtype_py(wasm_tabletype_element(tt)), lim.min, maximum)


cdef object _externtype_py(const wasm_externtype_t *et):
    cdef wasm_externkind_t k = wasm_externtype_kind(et)
    if k == WB_WASM_EXTERN_FUNC:
        return _functype_py(wasm_externtype_as_functype_const(et))
    if k == WB_WASM_EXTERN_MEMORY:
        return _memorytype_py(wasm_externtype_as_memorytype_const(et))
    if k == WB_WASM_EXTERN_GLOBAL:
        return _globaltype_py(wasm_externtype_as_globaltype_const(et))
    if k == WB_WASM_EXTERN_TABLE:
        return _tabletype_py(wasm_externtype_as_tabletype_const(et))
    if k == WB_WASM_EXTERN_TAG:
        return TagType(_functype_py(wasm_tagtype_functype(wasm_externtype_as_tagtype_const(et))))
    raise WasmError("unknown extern kind %d" % k)


cdef wasm_valtype_t *_valtype_new(object vt) except NULL:
    """A new engine value type for a ValType (v128 through Wasmtime's constructor)."""
    cdef int k = <int>ValType(vt)
    if k == WB_V128:
        return wasmtime_wasm_valtype_v128()
    if k == WB_FUNCREF:
        return wasm_valtype_new(WB_WASM_FUNCREF)
    if k == WB_EXTERNREF:
        return wasm_valtype_new(WB_WASM_EXTERNREF)
    return wasm_valtype_new(k)


cdef int _valtype_vec(object types, wasm_valtype_vec_t *out) except -1:
    cdef Py_ssize_t n = len(types), i
    cdef wasm_valtype_t **buf
    if n == 0:
        wasm_valtype_vec_new_empty(out)
        return 0
    buf = <wasm_valtype_t **>PyMem_Malloc(n * sizeof(wasm_valtype_t *))
    if buf == NULL:
        raise MemoryError()
    try:
        for i in range(n):
            buf[i] = _valtype_new(types[i])
        wasm_valtype_vec_new(out, n, buf)  # takes the valtypes
    finally:
        PyMem_Free(buf)
    return 0


cdef wasm_functype_t *_functype_new(object ft) except NULL:
    cdef wasm_valtype_vec_t params, results
    if not isinstance(ft, FuncType):
        raise TypeError("expected a FuncType, got %s" % type(ft).__name__)
    if len(ft.params) > MAX_PARAMS or len(ft.results) > MAX_PARAMS:
        raise ValueError("too many parameters or results (at most %d)" % MAX_PARAMS)
    _valtype_vec(ft.params, &params)
    _valtype_vec(ft.results, &results)
    return wasm_functype_new(&params, &results)


cdef wasm_memorytype_t *_memorytype_new(object mt) except NULL:
    cdef wasm_memorytype_t *out = NULL
    if not isinstance(mt, MemoryType):
        raise TypeError("expected a MemoryType, got %s" % type(mt).__name__)
    err = wasmtime_memorytype_new(mt.minimum, mt.maximum is not None,
                                  mt.maximum if mt.maximum is not None else 0,
                                  mt.memory64, mt.shared, 16, &out)
    if err != NULL:
        _raise_error(err, ValueError)
    return out


cdef wasm_globaltype_t *_globaltype_new(object gt) except NULL:
    if not isinstance(gt, GlobalType):
        raise TypeError("expected a GlobalType, got %s" % type(gt).__name__)
    return wasm_globaltype_new(_valtype_new(gt.content),
                               WB_WASM_VAR if gt.mutable else WB_WASM_CONST)


cdef wasm_tabletype_t *_tabletype_new(object tt) except NULL:
    cdef wasm_limits_t lim
    if not isinstance(tt, TableType):
        raise TypeError("expected a TableType, got %s" % type(tt).__name__)
    lim.min = tt.minimum
    lim.max = 0xFFFFFFFF if tt.maximum is None else tt.maximum
    return wasm_tabletype_new(_valtype_new(tt.element), &lim)


# ======================================================================
# Engine
# ======================================================================

cdef wasm_config_t *_build_config(object config) except NULL:
    cdef wasm_config_t *c
    config.validate()
    c = wasm_config_new()
    if c == NULL:
        raise MemoryError("the engine could not allocate a config")
    try:
        wasmtime_config_memory_may_move_set(c, False)
        wasmtime_config_cranelift_opt_level_set(
            c, ("none", "speed", "speed_and_size").index(config.cranelift_opt_level))
        wasmtime_config_consume_fuel_set(c, config.consume_fuel)
        wasmtime_config_epoch_interruption_set(c, config.epoch_interruption)
        if config.max_wasm_stack is not None:
            # the engine refuses (aborting) a Wasm stack larger than its async stack
            if config.max_wasm_stack > 2 * 1024 * 1024:
                wasmtime_config_async_stack_size_set(c, config.max_wasm_stack + 64 * 1024)
            wasmtime_config_max_wasm_stack_set(c, config.max_wasm_stack)
        if config.parallel_compilation is not None:
            wasmtime_config_parallel_compilation_set(c, config.parallel_compilation)
        if config.debug_info is not None:
            wasmtime_config_debug_info_set(c, config.debug_info)
        if config.memory_reservation is not None:
            wasmtime_config_memory_reservation_set(c, config.memory_reservation)
        if config.memory_guard_size is not None:
            wasmtime_config_memory_guard_size_set(c, config.memory_guard_size)
        _set_proposals(c, config)
        if config.cache is not False:
            path = None if config.cache is True else str(config.cache).encode()
            err = wasmtime_config_cache_config_load(c, NULL if path is None else <const char *>path)
            if err != NULL:
                _raise_error(err, ValueError)
    except BaseException:
        wasm_config_delete(c)
        raise
    return c


cdef int _set_proposals(wasm_config_t *c, object config) except -1:
    # dependencies first so that turning one on never meets a disabled prerequisite
    if config.wasm_bulk_memory is not None:
        wasmtime_config_wasm_bulk_memory_set(c, config.wasm_bulk_memory)
    if config.wasm_simd is not None:
        wasmtime_config_wasm_simd_set(c, config.wasm_simd)
    if config.wasm_relaxed_simd is not None:
        wasmtime_config_wasm_relaxed_simd_set(c, config.wasm_relaxed_simd)
    if config.wasm_threads is not None:
        wasmtime_config_wasm_threads_set(c, config.wasm_threads)
        wasmtime_config_shared_memory_set(c, config.wasm_threads)
    if config.wasm_reference_types is not None:
        wasmtime_config_wasm_reference_types_set(c, config.wasm_reference_types)
        if not config.wasm_reference_types:
            # the engine's component-model-async (on by default, unused here)
            # needs reference types: without this the engine aborts
            wasmtime_config_wasm_component_model_async_set(c, False)
    if config.wasm_function_references is not None:
        wasmtime_config_wasm_function_references_set(c, config.wasm_function_references)
    if config.wasm_gc is not None:
        wasmtime_config_wasm_gc_set(c, config.wasm_gc)
    if config.wasm_multi_value is not None:
        wasmtime_config_wasm_multi_value_set(c, config.wasm_multi_value)
    if config.wasm_multi_memory is not None:
        wasmtime_config_wasm_multi_memory_set(c, config.wasm_multi_memory)
    if config.wasm_memory64 is not None:
        wasmtime_config_wasm_memory64_set(c, config.wasm_memory64)
    if config.wasm_tail_call is not None:
        wasmtime_config_wasm_tail_call_set(c, config.wasm_tail_call)
    if config.wasm_exceptions is not None:
        wasmtime_config_wasm_exceptions_set(c, config.wasm_exceptions)
    return 0


cdef class Engine:
    """A compilation environment; share one across stores and threads.

    ``Engine(config=None)``. Engines made with ``epoch_interruption`` (the
    default) are ticked by wasmbind's own background thread every few
    milliseconds, which drives deadlines, Ctrl-C and GIL hand-offs.
    """

    def __init__(self, config=None):
        cdef wasm_config_t *c
        if self._ptr != NULL:
            raise WasmError("Engine is already initialized")
        if config is None:
            config = Config()
        elif not isinstance(config, Config):
            raise TypeError("config must be a wasmbind.Config, got %s" % type(config).__name__)
        c = _build_config(config)
        self._ptr = wasm_engine_new_with_config(c)
        if self._ptr == NULL:
            raise WasmError("the engine could not be created")
        self.config = config
        self._epoch = config.epoch_interruption
        self._fuel = config.consume_fuel
        if self._epoch and wb_ticker_add(self._ptr) != 0:
            wasm_engine_delete(self._ptr)
            self._ptr = NULL
            raise WasmError("could not start the epoch ticker thread")

    def __dealloc__(self):
        if self._ptr != NULL:
            if self._epoch:
                wb_ticker_remove(self._ptr)
            wasm_engine_delete(self._ptr)
            self._ptr = NULL

    cdef wasm_engine_t *_engine(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Engine was not initialized")
        return self._ptr

    def increment_epoch(self):
        """Advance the engine's epoch by one tick (wasmbind's ticker does this itself)."""
        wasmtime_engine_increment_epoch(self._engine())

    @property
    def tick_seconds(self):
        """Interval of wasmbind's epoch ticker, in seconds."""
        return WB_TICK_MS / 1000.0

    def __repr__(self):
        return "<wasmbind.Engine %r>" % (self.config,)


_default_engine_lock = threading.Lock()
_default_engine = None


def default_engine():
    """The shared Engine used where none is given (created on first use)."""
    global _default_engine
    if _default_engine is None:
        with _default_engine_lock:
            if _default_engine is None:
                _default_engine = Engine()
    return _default_engine


cdef Engine _engine_arg(object engine):
    if engine is None:
        return default_engine()
    if isinstance(engine, Engine):
        return <Engine>engine
    if isinstance(engine, Store):
        return (<Store>engine).engine
    raise TypeError("expected an Engine, got %s" % type(engine).__name__)


# ======================================================================
# Store
# ======================================================================

@cython.no_gc_clear
cdef class Store:
    """Holds all runtime state: instances, memories, functions, fuel, limits.

    ``Store(engine=None, *, release_gil=False)``. A store belongs to one thread
    at a time: using it from a second thread while a call runs in the first
    raises :class:`StoreBusyError`. By default a call holds the GIL (short calls
    pay nothing for it) until its first epoch tick (a few milliseconds): a
    long call then lets go of it for the rest of the call and takes it back when
    it returns, so other threads run on and stores in different threads run
    Wasm in parallel (see ``Config.epoch_interruption``). ``release_gil=True``
    releases the GIL for the whole of every call instead.
    Use as a context manager or call :meth:`close`; closing twice is harmless.
    """

    def __cinit__(self):
        self._hostfuncs = []
        self._limits = None

    def __init__(self, engine=None, *, bint release_gil=False):
        if self._store != NULL:
            raise WasmError("Store is already initialized")
        self.engine = _engine_arg(engine)
        self._state.store = <PyObject *>self
        self._state.release_gil = release_gil
        self._store = wasmtime_store_new(self.engine._engine(), <void *>&self._state, NULL)
        if self._store == NULL:
            raise WasmError("the engine could not create a store")
        self._ctx = wasmtime_store_context(self._store)
        if self.engine._epoch:
            wasmtime_context_set_epoch_deadline(self._ctx, 1)
            wasmtime_store_epoch_deadline_callback(self._store, wb_epoch_entry, <void *>&self._state, NULL)

    def __dealloc__(self):
        if self._store != NULL:
            wasmtime_store_delete(self._store)
            self._store = NULL
            self._ctx = NULL
        wb_capture_decref(self._stdout)
        wb_capture_decref(self._stderr)
        self._stdout = self._stderr = NULL

    cdef wasmtime_context_t *_context(self) except NULL:
        if self._ctx == NULL:
            if self.engine is None:
                raise WasmError("Store was not initialized")
            raise StoreClosedError("the Store is closed")
        if self._state.depth and self._state.owner != wb_thread_id():
            raise StoreBusyError("the Store is running a call in another thread; "
                                 "a Store belongs to one thread at a time")
        return self._ctx

    @property
    def release_gil(self):
        """Whether calls into this store release the GIL for their whole duration."""
        return bool(self._state.release_gil)

    @release_gil.setter
    def release_gil(self, bint value):
        if self._state.depth:
            raise WasmError("cannot change release_gil while a call into the store is running")
        self._state.release_gil = value

    def close(self):
        """Free the store and everything in it. Idempotent.

        Any later use of its objects raises StoreClosedError. Raises BufferError
        while views of its memories are alive, and WasmError during a call.
        """
        if self._store == NULL:
            return
        self._context()
        if self._state.depth:
            raise WasmError("cannot close a Store while a call into it is running")
        if self._exports:
            raise BufferError("cannot close the Store: %d view(s) of its memories are still alive"
                              % self._exports)
        wasmtime_store_delete(self._store)
        self._store = NULL
        self._ctx = NULL
        self._hostfuncs = []

    @property
    def closed(self):
        return self._store == NULL

    def __enter__(self):
        self._context()
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def gc(self):
        """Run the engine's garbage collector for reference values in this store."""
        err = wasmtime_context_gc(self._context())
        if err != NULL:
            _raise_error(err)

    # -- fuel ------------------------------------------------------------

    def set_fuel(self, fuel):
        """Set the fuel left for Wasm in this store (needs ``Config(consume_fuel=True)``)."""
        if not self.engine._fuel:
            raise WasmError("fuel needs an Engine with Config(consume_fuel=True)")
        if not isinstance(fuel, int) or isinstance(fuel, bool):
            raise TypeError("fuel must be an int, got %s" % type(fuel).__name__)
        if not 0 <= fuel < 2**64:
            raise OverflowError("fuel must be in [0, 2**64)")
        err = wasmtime_context_set_fuel(self._context(), fuel)
        if err != NULL:
            _raise_error(err)

    def get_fuel(self):
        """The fuel left for Wasm in this store."""
        cdef uint64_t fuel = 0
        if not self.engine._fuel:
            raise WasmError("fuel needs an Engine with Config(consume_fuel=True)")
        err = wasmtime_context_get_fuel(self._context(), &fuel)
        if err != NULL:
            _raise_error(err)
        return fuel

    @property
    def fuel(self):
        """Fuel left (read and assign); running out traps with TrapCode.OUT_OF_FUEL."""
        return self.get_fuel()

    @fuel.setter
    def fuel(self, value):
        self.set_fuel(value)

    # -- deadlines -------------------------------------------------------

    def set_timeout(self, seconds):
        """Interrupt Wasm running in this store ``seconds`` from now (None: no deadline).

        The deadline covers every call until it is changed; when it passes, the
        running call raises Trap with TrapCode.INTERRUPT. Needs
        ``Config(epoch_interruption=True)`` (the default).
        """
        self._context()
        if seconds is None:
            self._state.deadline = 0
            return
        if not self.engine._epoch:
            raise WasmError("deadlines need an Engine with Config(epoch_interruption=True)")
        seconds = float(seconds)
        if not seconds >= 0:
            raise ValueError("timeout must be a non-negative number of seconds")
        self._state.deadline = wb_monotonic() + seconds
        if self._state.deadline == 0:
            self._state.deadline = 1e-9
        # check at the next epoch check instead of the next tick: a deadline that
        # has already passed then stops even a call shorter than one tick
        wasmtime_context_set_epoch_deadline(self._ctx, 0)

    @property
    def timeout(self):
        """Seconds left before the deadline, or None."""
        if self._state.deadline == 0:
            return None
        return max(0.0, self._state.deadline - wb_monotonic())

    def deadline(self, seconds):
        """``with store.deadline(seconds):`` sets a deadline for the block only."""
        return _Deadline(self, seconds)

    # -- limits ----------------------------------------------------------

    def set_limits(self, memory_size=None, table_elements=None, instances=None, tables=None,
                   memories=None):
        """Cap what Wasm in this store may allocate; None leaves a limit at the default.

        ``memory_size`` is in bytes per linear memory. Growth past a limit fails
        the way the guest expects (``memory.grow`` returns -1); growing from the
        host raises WasmError. Instantiating past ``instances``, ``tables`` or
        ``memories`` raises WasmError.
        """
        values = []
        for name, v in (("memory_size", memory_size), ("table_elements", table_elements),
                        ("instances", instances), ("tables", tables), ("memories", memories)):
            if v is None:
                values.append(-1)
                continue
            if not isinstance(v, int) or isinstance(v, bool):
                raise TypeError("%s must be an int or None" % name)
            if not 0 <= v < 2**63:
                raise ValueError("%s out of range: %d" % (name, v))
            values.append(v)
        self._context()
        wasmtime_store_limiter(self._store, values[0], values[1], values[2], values[3], values[4])
        self._limits = dict(memory_size=memory_size, table_elements=table_elements,
                            instances=instances, tables=tables, memories=memories)

    @property
    def limits(self):
        """The limits given to :meth:`set_limits`, or None."""
        return None if self._limits is None else dict(self._limits)

    # -- WASI ------------------------------------------------------------

    def set_wasi(self, config):
        """Give WASI programs in this store the environment described by ``config``."""
        if not isinstance(config, WasiConfig):
            raise TypeError("expected a WasiConfig, got %s" % type(config).__name__)
        (<WasiConfig>config)._apply(self)

    @property
    def wasi_stdout(self):
        """What WASI programs wrote to stdout, when the WasiConfig captures it; else None."""
        return _capture_bytes(self._stdout)

    @property
    def wasi_stderr(self):
        """What WASI programs wrote to stderr, when the WasiConfig captures it; else None."""
        return _capture_bytes(self._stderr)

    @property
    def wasi_output_truncated(self):
        """``(stdout, stderr)``: whether a captured stream hit ``WasiConfig.max_output``.

        The first ``max_output`` bytes are kept; the write crossing the limit is
        cut short and later writes fail in the guest with EIO.
        """
        return (self._stdout != NULL and self._stdout.overflowed != 0,
                self._stderr != NULL and self._stderr.overflowed != 0)

    def __repr__(self):
        state = "closed" if self._store == NULL else "open"
        return "<wasmbind.Store %s>" % state


cdef object _capture_bytes(wb_capture_t *c):
    if c == NULL:
        return None
    return PyBytes_FromStringAndSize(<char *>c.data, c.len)


cdef class _Deadline:
    cdef Store store
    cdef object seconds
    cdef double saved

    def __cinit__(self, Store store, seconds):
        self.store = store
        self.seconds = seconds

    def __enter__(self):
        self.saved = self.store._state.deadline
        self.store.set_timeout(self.seconds)
        return self.store

    def __exit__(self, *exc):
        self.store._state.deadline = self.saved
        return False


cdef wasmtime_error_t *_epoch_body(wasmtime_context_t *ctx, void *data, uint64_t *delta,
                                   wasmtime_update_deadline_kind_t *kind) noexcept:
    """At epoch ticks, with the GIL (see wb_epoch_entry): run signal handlers."""
    cdef Store store = <Store>data
    try:
        PyErr_CheckSignals()
    except BaseException as exc:
        store._pending = exc
        return wasmtime_error_new(b"wasm execution interrupted by a Python signal handler")
    return NULL



# ======================================================================
# Modules
# ======================================================================

cdef bytes _wasm_bytes(object source):
    """Turns a Module source into a Wasm binary: str is WAT; bytes-like is a
    binary, or WAT text when it lacks the binary's magic header."""
    cdef const unsigned char[::1] view
    if isinstance(source, str):
        return wat2wasm(source)
    try:
        data = bytes(memoryview(source).cast("B"))
    except TypeError:
        raise TypeError("a module source must be bytes-like (a Wasm binary) or str (WAT), not %s"
                        % type(source).__name__) from None
    if data[:4] == b"\0asm":
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise CompileError("not a WebAssembly module: no \\0asm header and not WAT text") from None
    return wat2wasm(text)


def wat2wasm(text):
    """Translate WebAssembly text (WAT) to a Wasm binary; raises CompileError."""
    cdef wasm_byte_vec_t out
    if isinstance(text, str):
        data = (<str>text).encode("utf-8")
    elif isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        raise TypeError("wat2wasm() takes str or bytes, not %s" % type(text).__name__)
    err = wasmtime_wat2wasm(<const char *>data, len(data), &out)
    if err != NULL:
        _raise_error(err, CompileError)
    try:
        return PyBytes_FromStringAndSize(<char *>out.data, out.size)
    finally:
        wasm_byte_vec_delete(&out)


cdef class Module:
    """A compiled WebAssembly module; immutable, shareable across stores and threads.

    ``Module(engine, source)``: ``source`` is a bytes-like Wasm binary or a str of
    WAT text (``engine`` None means the default engine). Invalid input raises
    CompileError (also a ValueError).
    """

    def __init__(self, engine, source):
        cdef wasmtime_module_t *m = NULL
        if self._ptr != NULL:
            raise WasmError("Module is already initialized")
        self.engine = _engine_arg(engine)
        data = _wasm_bytes(source)
        err = wasmtime_module_new(self.engine._engine(), <const uint8_t *><char *>data, len(data), &m)
        if err != NULL:
            _raise_error(err, CompileError)
        self._ptr = m

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_module_delete(self._ptr)
            self._ptr = NULL

    @staticmethod
    cdef Module _from_ptr(Engine engine, wasmtime_module_t *m):
        cdef Module self = Module.__new__(Module)
        self.engine = engine
        self._ptr = m
        return self

    cdef wasmtime_module_t *_module(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Module was not initialized")
        return self._ptr

    @staticmethod
    def from_file(engine, path):
        """Compile a ``.wasm`` binary or ``.wat`` text file."""
        import os
        with open(os.fspath(path), "rb") as f:
            data = f.read()
        if str(path).endswith(".wat"):
            data = data.decode("utf-8")
        return Module(engine, data)

    @staticmethod
    def validate(engine, source):
        """Check that ``source`` is a valid module; raises CompileError if not."""
        cdef Engine e = _engine_arg(engine)
        data = _wasm_bytes(source)
        err = wasmtime_module_validate(e._engine(), <const uint8_t *><char *>data, len(data))
        if err != NULL:
            _raise_error(err, CompileError)

    def serialize(self):
        """The compiled machine code as bytes, for :meth:`deserialize` later."""
        cdef wasm_byte_vec_t out
        err = wasmtime_module_serialize(self._module(), &out)
        if err != NULL:
            _raise_error(err)
        try:
            return PyBytes_FromStringAndSize(<char *>out.data, out.size)
        finally:
            wasm_byte_vec_delete(&out)

    @staticmethod
    def deserialize(engine, data):
        """Load a module from :meth:`serialize` output, skipping compilation.

        The bytes must come from ``serialize`` of a compatible engine: they are
        native code, checked for engine compatibility but otherwise trusted.
        Never deserialize bytes from an untrusted source.
        """
        cdef Engine e = _engine_arg(engine)
        cdef wasmtime_module_t *m = NULL
        try:
            buf = bytes(memoryview(data).cast("B"))
        except TypeError:
            raise TypeError("deserialize() takes bytes-like data, not %s" % type(data).__name__) from None
        err = wasmtime_module_deserialize(e._engine(), <const uint8_t *><char *>buf, len(buf), &m)
        if err != NULL:
            _raise_error(err, CompileError)
        return Module._from_ptr(e, m)

    @property
    def imports(self):
        """The imports the module declares, in order: ImportType(module, name, type)."""
        cdef wasm_importtype_vec_t vec
        cdef wasm_importtype_t *it
        if self._imports is None:
            wasmtime_module_imports(self._module(), &vec)
            try:
                out = []
                for i in range(vec.size):
                    it = vec.data[i]
                    out.append(ImportType(_name_to_str(wasm_importtype_module(it)),
                                          _name_to_str(wasm_importtype_name(it)),
                                          _externtype_py(wasm_importtype_type(it))))
            finally:
                wasm_importtype_vec_delete(&vec)
            self._imports = tuple(out)
        return list(self._imports)

    @property
    def exports(self):
        """The exports the module declares, in order: ExportType(name, type)."""
        cdef wasm_exporttype_vec_t vec
        cdef wasm_exporttype_t *et
        if self._exports is None:
            wasmtime_module_exports(self._module(), &vec)
            try:
                out = []
                for i in range(vec.size):
                    et = vec.data[i]
                    out.append(ExportType(_name_to_str(wasm_exporttype_name(et)),
                                          _externtype_py(wasm_exporttype_type(et))))
            finally:
                wasm_exporttype_vec_delete(&vec)
            self._exports = tuple(out)
        return list(self._exports)

    def __repr__(self):
        return "<wasmbind.Module imports=%d exports=%d>" % (len(self.imports), len(self.exports))


# ======================================================================
# Functions
# ======================================================================

cdef uint8_t *_kinds_of(object ft, bint *has_refs) except NULL:
    """A PyMem block of value kinds: the params, then the results."""
    cdef Py_ssize_t np = len(ft.params), nr = len(ft.results), i
    cdef uint8_t *kinds = <uint8_t *>PyMem_Malloc(np + nr + 1)
    if kinds == NULL:
        raise MemoryError()
    has_refs[0] = False
    for i, t in enumerate(ft.params + ft.results):
        kinds[i] = <int>t
        if kinds[i] == WB_FUNCREF or kinds[i] == WB_EXTERNREF:
            has_refs[0] = True
    return kinds


@cython.final
cdef class _HostFunc:
    """What a host function's trampoline needs: the callable and its signature."""
    cdef object fn
    cdef object functype
    cdef bint access_caller
    cdef bint has_refs
    cdef Py_ssize_t nparams
    cdef Py_ssize_t nresults
    cdef uint8_t *kinds

    def __dealloc__(self):
        PyMem_Free(self.kinds)

    @staticmethod
    cdef _HostFunc make(object fn, object functype, bint access_caller):
        if not callable(fn):
            raise TypeError("a host function must be callable, got %s" % type(fn).__name__)
        if not isinstance(functype, FuncType):
            raise TypeError("expected a FuncType, got %s" % type(functype).__name__)
        cdef _HostFunc hf = _HostFunc.__new__(_HostFunc)
        hf.fn = fn
        hf.functype = functype
        hf.access_caller = access_caller
        hf.nparams = len(functype.params)
        hf.nresults = len(functype.results)
        hf.kinds = _kinds_of(functype, &hf.has_refs)
        return hf


@cython.final
cdef class Func:
    """A WebAssembly function: an export, or a Python callable made callable from Wasm.

    ``Func(store, functype, callable, *, access_caller=False)`` wraps a Python
    callable; with ``access_caller=True`` it receives a :class:`Caller` first.
    Calling a Func converts the arguments by its signature and returns None, the
    value, or a tuple of values. A trap raises :class:`Trap`; an exception raised
    by a host function comes out as the same object.
    """

    def __init__(self, Store store not None, functype, fn, *, bint access_caller=False):
        cdef wasmtime_context_t *ctx = store._context()
        cdef _HostFunc hf = _HostFunc.make(fn, functype, access_caller)
        cdef wasm_functype_t *ft = _functype_new(functype)
        if self.store is not None:
            wasm_functype_delete(ft)
            raise WasmError("Func is already initialized")
        # The store owns the environment: it is released when the store is.
        store._hostfuncs.append(hf)
        if hf.has_refs:
            wasmtime_func_new(ctx, ft, wb_host_entry_val, <void *>hf, NULL, &self._func)
        else:
            wasmtime_func_new_unchecked(ctx, ft, wb_host_entry_raw, <void *>hf, NULL, &self._func)
        wasm_functype_delete(ft)
        self.store = store
        self._type = functype
        self._name = getattr(fn, "__name__", None)

    def __dealloc__(self):
        PyMem_Free(self._kinds)

    @staticmethod
    cdef Func _wrap(Store store, wasmtime_func_t *func, object name):
        cdef Func self = Func.__new__(Func)
        self.store = store
        self._func = func[0]
        self._name = name
        return self

    cdef int _load_sig(self, wasmtime_context_t *ctx) except -1:
        cdef wasm_functype_t *ft
        if self._type is None:
            ft = wasmtime_func_type(ctx, &self._func)
            try:
                self._type = _functype_py(ft)
            finally:
                wasm_functype_delete(ft)
        self._kinds = _kinds_of(self._type, &self._has_refs)
        self._nparams = len(self._type.params)
        self._nresults = len(self._type.results)
        self._sig_loaded = True
        return 0

    @property
    def type(self):
        """The function's FuncType."""
        if self._type is None:
            self._load_sig(self.store._context())
        return self._type

    @property
    def name(self):
        return self._name

    cdef str _label(self):
        return "%s%s" % (self._name or "wasm function", self._type.signature())

    cdef int _arity_error(self, Py_ssize_t given) except -1:
        raise TypeError("%s takes %d argument%s (%d given)" % (
            self._label(), self._nparams, "" if self._nparams == 1 else "s", given))

    cdef int _arg_error(self, Py_ssize_t i) except -1:
        import sys
        exc = sys.exc_info()[1]
        raise type(exc)("%s argument %d: %s" % (self._label(), i + 1, exc)) from None

    def __cinit__(self):
        self._vectorcall = <vectorcallfunc><void *>_func_vectorcall

    def __call__(self, *args):
        return _invoke(self, PySequence_Fast_ITEMS(args), PyTuple_GET_SIZE(args))

    def map(self, *arrays, out=None):
        """Apply the function element-wise over arrays, looping in C.

        ``func.map(xs, ys, out=None)``: one argument per parameter, each a
        C-contiguous buffer (NumPy array, array.array, memoryview...) of the
        parameter's type (int32/uint32 for i32, int64/uint64 for i64, float32,
        float64), or a scalar broadcast to every element. Buffers of another
        dtype are converted with NumPy (a copy). ``out`` is a buffer of the
        result type (a tuple of them for several results); by default new
        NumPy arrays (array.array without NumPy). Returns ``out``. Numeric
        signatures only. A trap stops the loop and raises; elements before it
        are written.
        """
        return _map(self, arrays, out)

    cdef object _call_vals(self, wasmtime_context_t *ctx, tuple args):
        """The call path for signatures with reference types (rooting needed)."""
        cdef Store store = self.store
        cdef Py_ssize_t np = self._nparams, nr = self._nresults, i
        cdef wasmtime_val_t *vals = <wasmtime_val_t *>PyMem_Malloc((np + nr + 1) * sizeof(wasmtime_val_t))
        cdef wasmtime_error_t *err
        cdef wasm_trap_t *trap = NULL
        cdef bint ok = False
        if vals == NULL:
            raise MemoryError()
        memset(vals, 0, (np + nr + 1) * sizeof(wasmtime_val_t))
        try:
            for i in range(np):
                try:
                    _to_val(store, ctx, self._kinds[i], args[i], &vals[i])
                except (TypeError, OverflowError, ValueError):
                    self._arg_error(i)
            wb_state_enter(&store._state)
            if store._state.release_gil:
                with nogil:
                    err = wasmtime_func_call(ctx, &self._func, vals, np, vals + np, nr, &trap)
            else:
                err = wasmtime_func_call(ctx, &self._func, vals, np, vals + np, nr, &trap)
            wb_state_leave(&store._state)
            if err != NULL or trap != NULL:
                _raise_call_failure(store, err, trap)
            ok = True
            results = tuple([_from_val(store, ctx, &vals[np + i]) for i in range(nr)])
        finally:
            _unroot_vals(vals, np)
            if ok:
                _unroot_vals(vals + np, nr)
            PyMem_Free(vals)
        if nr == 0:
            return None
        if nr == 1:
            return results[0]
        return results

    def __repr__(self):
        if self._type is None and self.store._ctx != NULL and not self.store._state.depth:
            self._load_sig(self.store._ctx)
        sig = self._type.signature() if self._type is not None else "(?)"
        return "<wasmbind.Func %s%s>" % (self._name or "", sig)


# ---------------------------------------------------------------- call path
#
# Calling an export is the hot path: vectorcall straight into _invoke, no
# tuple; arguments converted by a noexcept fast path for exact ints and floats
# into a stack array of raw values; the unchecked call; results converted
# back. Anything unusual (int subclasses, numpy scalars, errors, reference
# types, long signatures) leaves the fast path.

cdef extern from "Python.h":
    ctypedef struct _TypeObj "PyTypeObject":
        Py_ssize_t tp_vectorcall_offset
        unsigned long tp_flags
    unsigned long Py_TPFLAGS_HAVE_VECTORCALL
    Py_ssize_t PyVectorcall_NARGS(size_t nargsf)


cdef int _to_raw_slow(Func f, Py_ssize_t i, object v, wasmtime_val_raw_t *out) except -1:
    try:
        _to_raw(f._kinds[i], v, out)
    except (TypeError, OverflowError, ValueError):
        f._arg_error(i)
    return 0


cdef object _func_vectorcall(object callable, PyObject **args, size_t nargsf, PyObject *kwnames):
    if kwnames != NULL and PyTuple_GET_SIZE(<object>kwnames):
        raise TypeError("WebAssembly functions take no keyword arguments")
    return _invoke(<Func>callable, args, PyVectorcall_NARGS(nargsf))


cdef inline object _invoke(Func self, PyObject **args, Py_ssize_t nargs):
    cdef Store store = self.store
    cdef wasmtime_context_t *ctx = store._ctx
    cdef wasmtime_val_raw_t small[SMALL]
    cdef wasmtime_val_raw_t *raw
    cdef Py_ssize_t n
    if ctx == NULL or store._state.depth:
        ctx = store._context()
    if not self._sig_loaded:
        self._load_sig(ctx)
    if nargs != self._nparams:
        self._arity_error(nargs)
    if self._has_refs:
        return self._call_vals(ctx, tuple([<object>args[i] for i in range(nargs)]))
    n = self._nparams if self._nparams > self._nresults else self._nresults
    if n <= SMALL:
        return _invoke_raw(self, store, ctx, args, nargs, small, n)
    raw = <wasmtime_val_raw_t *>PyMem_Malloc(n * sizeof(wasmtime_val_raw_t))
    if raw == NULL:
        raise MemoryError()
    try:
        return _invoke_raw(self, store, ctx, args, nargs, raw, n)
    finally:
        PyMem_Free(raw)


cdef inline object _invoke_raw(Func self, Store store, wasmtime_context_t *ctx, PyObject **args,
                               Py_ssize_t nargs, wasmtime_val_raw_t *raw, Py_ssize_t n):
    cdef Py_ssize_t i
    cdef wasmtime_error_t *err
    cdef wasm_trap_t *trap = NULL
    for i in range(nargs):
        if wb_to_raw_fast(self._kinds[i], args[i], &raw[i]):
            _to_raw_slow(self, i, <object>args[i], &raw[i])
    wb_state_enter(&store._state)
    if store._state.release_gil:
        with nogil:
            err = wasmtime_func_call_unchecked(ctx, &self._func, raw, n, &trap)
    else:
        err = wasmtime_func_call_unchecked(ctx, &self._func, raw, n, &trap)
    wb_state_leave(&store._state)
    if err != NULL or trap != NULL:
        _raise_call_failure(store, err, trap)
    if self._nresults == 1:
        return wb_raw_to_object(self._kinds[nargs], raw)
    if self._nresults == 0:
        return None
    return wb_raw_results_tuple(self._kinds + nargs, raw, self._nresults)


# Give Func instances a vectorcall slot (Cython gives extension types' __call__
# only tp_call, which builds an argument tuple per call).
cdef int _enable_func_vectorcall() except -1:
    cdef Func probe = Func.__new__(Func)
    (<_TypeObj *>Func).tp_vectorcall_offset = <Py_ssize_t>(<char *>&probe._vectorcall - <char *><PyObject *>probe)
    (<_TypeObj *>Func).tp_flags |= Py_TPFLAGS_HAVE_VECTORCALL
    return 0

_enable_func_vectorcall()


# ---------------------------------------------------------------- batch calls

DEF MAP_MAX = 64

cdef dict _NP_DTYPE = {WB_I32: "int32", WB_I64: "int64", WB_F32: "float32", WB_F64: "float64"}
cdef dict _ARRAY_CODE = {WB_I32: "i", WB_I64: "q", WB_F32: "f", WB_F64: "d"}


cdef bint _format_ok(const char *fmt, Py_ssize_t itemsize, uint8_t kind):
    if fmt == NULL:
        fmt = b"B"
    if fmt[0] in (b"@", b"=", b"<") and fmt[1] != 0:
        if fmt[0] == b"<" and not _LITTLE_ENDIAN:
            return False
        fmt += 1
    if fmt[1] != 0:
        return False
    if kind == WB_F32:
        return fmt[0] == b"f" and itemsize == 4
    if kind == WB_F64:
        return fmt[0] == b"d" and itemsize == 8
    if fmt[0] not in b"bBhHiIlLqQnN":
        return False
    return itemsize == (4 if kind == WB_I32 else 8)


import sys as _sys
cdef bint _LITTLE_ENDIAN = _sys.byteorder == "little"


cdef int _get_map_buffer(object obj, uint8_t kind, Py_buffer *view, bint writable) except -1:
    """1 if ``obj`` gave a buffer of the right type, 0 if it must be converted."""
    cdef int flags = PyBUF_FORMAT | PyBUF_C_CONTIGUOUS
    if writable:
        flags |= PyBUF_WRITABLE
    if not PyObject_CheckBuffer(obj):
        return 0
    try:
        PyObject_GetBuffer(obj, view, flags)
    except (BufferError, ValueError, TypeError):
        return 0  # not C-contiguous, read-only...: convert (inputs) or refuse (out)
    if _format_ok(view.format, view.itemsize, kind):
        return 1
    PyBuffer_Release(view)
    return 0


cdef object _map(Func f, tuple arrays, object out):
    cdef Store store = f.store
    cdef wasmtime_context_t *ctx = store._context()
    cdef Py_ssize_t np, nr, n = -1, i, j, count, nbuf = 0
    cdef Py_buffer views[MAP_MAX]
    cdef char *ptrs[MAP_MAX]
    cdef uint8_t kinds[MAP_MAX]
    cdef wasmtime_val_raw_t scalars[MAP_MAX]
    cdef wasmtime_val_raw_t raw[MAP_MAX]
    cdef wasmtime_error_t *err = NULL
    cdef wasm_trap_t *trap = NULL
    cdef Py_ssize_t failed_at = -1
    if not f._sig_loaded:
        f._load_sig(ctx)
    np = f._nparams
    nr = f._nresults
    if f._has_refs or any(f._kinds[i] == WB_V128 for i in range(np + nr)):
        raise TypeError("map() needs a numeric signature (i32, i64, f32, f64), not %s" % f._label())
    if np + nr > MAP_MAX:
        raise ValueError("map() supports at most %d parameters and results" % MAP_MAX)
    if len(arrays) != np:
        raise TypeError("%s.map() takes %d array argument%s (%d given)"
                        % (f._label(), np, "" if np == 1 else "s", len(arrays)))
    keep = []
    try:
        # inputs: buffers of the parameter type, or scalars to broadcast
        for j in range(np):
            kinds[j] = f._kinds[j]
            a = arrays[j]
            ptrs[j] = NULL
            if isinstance(a, (int, float)) and not isinstance(a, bool):
                try:
                    _to_raw(kinds[j], a, &scalars[j])
                except (TypeError, OverflowError, ValueError):
                    f._arg_error(j)
                continue
            if not _get_map_buffer(a, kinds[j], &views[nbuf], False):
                a = _np_convert(a, kinds[j], j, f)
                keep.append(a)
                if not _get_map_buffer(a, kinds[j], &views[nbuf], False):
                    raise TypeError("map() argument %d: cannot use %s" % (j + 1, type(arrays[j]).__name__))
            count = views[nbuf].len // views[nbuf].itemsize
            ptrs[j] = <char *>views[nbuf].buf
            nbuf += 1
            if n == -1:
                n = count
            elif count != n:
                raise ValueError("map() arrays differ in length (%d and %d)" % (n, count))
        if n == -1:
            raise TypeError("map() needs at least one array argument (all were scalars)")
        # outputs
        outs = _map_outputs(f, out, n, nr)
        for j in range(nr):
            kinds[np + j] = f._kinds[np + j]
            if not _get_map_buffer(outs[j], kinds[np + j], &views[nbuf], True):
                raise TypeError("map() out: need a writable C-contiguous %s buffer"
                                % _NP_DTYPE[kinds[np + j]])
            if views[nbuf].len // views[nbuf].itemsize != n:
                nbuf += 1
                raise ValueError("map() out has %d elements, the inputs %d"
                                 % (views[nbuf - 1].len // views[nbuf - 1].itemsize, n))
            ptrs[np + j] = <char *>views[nbuf].buf
            nbuf += 1
        # the loop
        wb_state_enter(&store._state)
        if store._state.release_gil:
            with nogil:
                failed_at = _map_loop(ctx, &f._func, np, nr, n, kinds, ptrs, scalars, raw, &err, &trap)
        else:
            failed_at = _map_loop(ctx, &f._func, np, nr, n, kinds, ptrs, scalars, raw, &err, &trap)
        wb_state_leave(&store._state)
        if failed_at >= 0:
            _raise_call_failure(store, err, trap)
    finally:
        for i in range(nbuf):
            PyBuffer_Release(&views[i])
    if nr == 0:
        return None
    return outs[0] if nr == 1 else tuple(outs)


cdef Py_ssize_t _map_loop(wasmtime_context_t *ctx, wasmtime_func_t *func, Py_ssize_t np,
                          Py_ssize_t nr, Py_ssize_t n, uint8_t *kinds, char **ptrs,
                          wasmtime_val_raw_t *scalars, wasmtime_val_raw_t *raw,
                          wasmtime_error_t **err, wasm_trap_t **trap) noexcept nogil:
    """Calls ``func`` on every element; -1 when done, else the failing index."""
    cdef Py_ssize_t i, j
    cdef Py_ssize_t nraw = np if np > nr else nr
    cdef char *p
    for i in range(n):
        for j in range(np):
            p = ptrs[j]
            if p == NULL:
                raw[j] = scalars[j]
            elif kinds[j] == WB_I32:
                raw[j].i32 = (<int32_t *>p)[i]
            elif kinds[j] == WB_F64:
                raw[j].f64 = (<double *>p)[i]
            elif kinds[j] == WB_I64:
                raw[j].i64 = (<int64_t *>p)[i]
            else:
                raw[j].f32 = (<float *>p)[i]
        err[0] = wasmtime_func_call_unchecked(ctx, func, raw, nraw, trap)
        if err[0] != NULL or trap[0] != NULL:
            return i
        for j in range(nr):
            p = ptrs[np + j]
            if kinds[np + j] == WB_I32:
                (<int32_t *>p)[i] = raw[j].i32
            elif kinds[np + j] == WB_F64:
                (<double *>p)[i] = raw[j].f64
            elif kinds[np + j] == WB_I64:
                (<int64_t *>p)[i] = raw[j].i64
            else:
                (<float *>p)[i] = raw[j].f32
    return -1


cdef object _np_convert(object a, uint8_t kind, Py_ssize_t j, Func f):
    try:
        import numpy
    except ImportError:
        raise TypeError("map() argument %d: expected a C-contiguous %s buffer, got %s "
                        "(install NumPy to convert other inputs)"
                        % (j + 1, _NP_DTYPE[kind], type(a).__name__)) from None
    try:
        return numpy.ascontiguousarray(a, dtype=_NP_DTYPE[kind])
    except (TypeError, ValueError, OverflowError) as exc:
        raise TypeError("%s.map() argument %d: %s" % (f._label(), j + 1, exc)) from None


cdef list _map_outputs(Func f, object out, Py_ssize_t n, Py_ssize_t nr):
    cdef Py_ssize_t np = f._nparams
    if out is not None:
        outs = [out] if nr == 1 else list(out) if isinstance(out, (tuple, list)) else None
        if outs is None or len(outs) != nr:
            raise TypeError("map() out must be %s" % ("one buffer" if nr == 1 else "a tuple of %d buffers" % nr))
        return outs
    try:
        import numpy
    except ImportError:
        import array
        return [array.array(_ARRAY_CODE[f._kinds[np + j]], bytes(n * (4 if f._kinds[np + j] in (WB_I32, WB_F32) else 8)))
                for j in range(nr)]
    return [numpy.empty(n, dtype=_NP_DTYPE[f._kinds[np + j]]) for j in range(nr)]


cdef int _store_host_exception(Store store, object exc) except -1:
    # keep the first exception: a later one would only be about the unwinding
    if store._pending is None:
        store._pending = exc
    return 0


cdef tuple _host_results(_HostFunc hf, object result):
    """Normalizes a host function's return value to a tuple of nresults values."""
    if hf.nresults == 0:
        return ()
    if hf.nresults == 1:
        return (result,)
    if not isinstance(result, (tuple, list)) or len(result) != hf.nresults:
        raise TypeError("host function %r must return a tuple of %d values for %s, got %r"
                        % (hf.fn, hf.nresults, hf.functype.signature(), result))
    return tuple(result)


cdef wasmtime_error_t *_host_raw_body(void *env, wasmtime_caller_t *caller, wasmtime_val_raw_t *vals,
                                      size_t n) noexcept:
    """Trampoline of host functions with numeric signatures (the fast path)."""
    cdef _HostFunc hf = <_HostFunc>env
    cdef Store store = <Store>(<wb_store_state_t *>wasmtime_context_get_data(wasmtime_caller_context(caller))).store
    cdef PyObject *small[SMALL + 1]
    cdef PyObject **argv = small
    cdef Py_ssize_t np = hf.nparams, i, off = 1 if hf.access_caller else 0, made = 0
    cdef Caller c = None
    cdef object results
    try:
        if np + off > SMALL + 1:
            argv = <PyObject **>PyMem_Malloc((np + off) * sizeof(PyObject *))
            if argv == NULL:
                raise MemoryError()
        try:
            if off:
                c = Caller._make(store, caller)
                Py_INCREF(c)
                argv[0] = <PyObject *>c
                made = 1
            for i in range(np):
                v = _from_raw(hf.kinds[i], &vals[i])
                Py_INCREF(v)
                argv[off + i] = <PyObject *>v
                made += 1
            result = PyObject_Vectorcall(hf.fn, argv, np + off, NULL)
        finally:
            for i in range(made):
                Py_DECREF(<object>argv[i])
            if argv != small:
                PyMem_Free(argv)
            if c is not None:
                c._ptr = NULL
        if hf.nresults == 1:
            _to_raw(hf.kinds[np], result, vals)
        elif hf.nresults > 1:
            results = _host_results(hf, result)
            for i in range(hf.nresults):
                _to_raw(hf.kinds[np + i], results[i], &vals[i])
    except BaseException as exc:
        _store_host_exception(store, exc)
        return wasmtime_error_new(b"a Python host function raised an exception")
    return NULL


cdef wasm_trap_t *_host_val_body(void *env, wasmtime_caller_t *caller, const wasmtime_val_t *args,
                                 size_t nargs, wasmtime_val_t *results, size_t nresults) noexcept:
    """Trampoline of host functions whose signatures have reference types."""
    cdef _HostFunc hf = <_HostFunc>env
    cdef wasmtime_context_t *ctx = wasmtime_caller_context(caller)
    cdef Store store = <Store>(<wb_store_state_t *>wasmtime_context_get_data(ctx)).store
    cdef Caller c = None
    cdef object outs
    cdef size_t i
    try:
        pyargs = [_from_val(store, ctx, <wasmtime_val_t *>&args[i]) for i in range(nargs)]
        if hf.access_caller:
            c = Caller._make(store, caller)
            pyargs.insert(0, c)
        try:
            result = hf.fn(*pyargs)
        finally:
            if c is not None:
                c._ptr = NULL
        outs = _host_results(hf, result)
        for i in range(nresults):
            _to_val(store, ctx, hf.kinds[hf.nparams + i], outs[i], &results[i])
    except BaseException as exc:
        _store_host_exception(store, exc)
        return wasmtime_trap_new(b"a Python host function raised an exception", 42)
    return NULL


wb_main_thread = threading.main_thread().ident
wb_raw_body = <wb_raw_body_t>_host_raw_body
wb_val_body = <wb_val_body_t>_host_val_body
wb_epoch_body = <wb_epoch_body_t>_epoch_body


@cython.final
cdef class Caller:
    """Passed first to host functions made with ``access_caller=True``.

    Reaches the calling instance's exports (``caller["memory"]``,
    ``caller.get("memory")``, ``caller.exports.memory``) and its store. Valid only
    while the host function runs.
    """
    cdef wasmtime_caller_t *_ptr
    cdef readonly Store store

    @staticmethod
    cdef Caller _make(Store store, wasmtime_caller_t *ptr):
        cdef Caller c = Caller.__new__(Caller)
        c._ptr = ptr
        c.store = store
        return c

    def __init__(self):
        raise TypeError("Caller objects are made by wasmbind for host functions")

    def get(self, name, default=None):
        """The calling instance's export ``name``, or ``default``."""
        cdef wasmtime_extern_t item
        if self._ptr == NULL:
            raise WasmError("a Caller is only valid while its host function runs")
        if not isinstance(name, str):
            raise TypeError("export names are str, not %s" % type(name).__name__)
        b = (<str>name).encode("utf-8")
        if not wasmtime_caller_export_get(self._ptr, <const char *>b, len(b), &item):
            return default
        return _wrap_extern(self.store, &item, name)

    def __getitem__(self, name):
        missing = object()
        v = self.get(name, missing)
        if v is missing:
            raise KeyError("the calling instance has no export named %r" % (name,))
        return v

    def __contains__(self, name):
        missing = object()
        return self.get(name, missing) is not missing

    @property
    def exports(self):
        """The calling instance's exports, by item or attribute access."""
        return _CallerExports(self)

    def __repr__(self):
        return "<wasmbind.Caller %s>" % ("active" if self._ptr != NULL else "expired")


cdef class _CallerExports:
    cdef Caller caller

    def __cinit__(self, Caller caller):
        self.caller = caller

    def __getitem__(self, name):
        return self.caller[name]

    def __getattr__(self, name):
        missing = object()
        v = self.caller.get(name, missing)
        if v is missing:
            raise AttributeError("the calling instance has no export named %r" % (name,))
        return v

    def __contains__(self, name):
        return name in self.caller

    def get(self, name, default=None):
        return self.caller.get(name, default)


# ======================================================================
# Externs: wrapping engine handles
# ======================================================================

cdef object _wrap_extern(Store store, wasmtime_extern_t *item, object name):
    cdef Memory m
    cdef Global g
    cdef Table t
    if item.kind == WB_EXTERN_FUNC:
        return Func._wrap(store, &item.of.func, name)
    if item.kind == WB_EXTERN_MEMORY:
        m = Memory.__new__(Memory)
        m.store = store
        m._mem = item.of.memory
        return m
    if item.kind == WB_EXTERN_GLOBAL:
        g = Global.__new__(Global)
        g.store = store
        g._global = item.of.global_
        return g
    if item.kind == WB_EXTERN_TABLE:
        t = Table.__new__(Table)
        t.store = store
        t._table = item.of.table
        return t
    kind = item.kind
    wasmtime_extern_delete(item)
    return _Unsupported(name, "shared memory" if kind == WB_EXTERN_SHAREDMEMORY else "tag")


class _Unsupported:
    """An export of a kind wasmbind cannot use yet (shared memories, tags)."""

    def __init__(self, name, kind):
        self.name = name
        self.kind = kind

    def __repr__(self):
        return "<wasmbind unsupported %s export %r>" % (self.kind, self.name)


cdef int _as_extern(Store store, object obj, wasmtime_extern_t *out) except -1:
    if isinstance(obj, Func):
        if (<Func>obj).store is not store:
            raise ValueError("the Func belongs to a different Store")
        out.kind = WB_EXTERN_FUNC
        out.of.func = (<Func>obj)._func
    elif isinstance(obj, Memory):
        if (<Memory>obj).store is not store:
            raise ValueError("the Memory belongs to a different Store")
        out.kind = WB_EXTERN_MEMORY
        out.of.memory = (<Memory>obj)._mem
    elif isinstance(obj, Global):
        if (<Global>obj).store is not store:
            raise ValueError("the Global belongs to a different Store")
        out.kind = WB_EXTERN_GLOBAL
        out.of.global_ = (<Global>obj)._global
    elif isinstance(obj, Table):
        if (<Table>obj).store is not store:
            raise ValueError("the Table belongs to a different Store")
        out.kind = WB_EXTERN_TABLE
        out.of.table = (<Table>obj)._table
    else:
        raise TypeError("expected a Func, Memory, Global or Table, got %s" % type(obj).__name__)
    return 0


cdef inline Py_ssize_t _offset(object v, str what) except -1:
    if not PyLong_Check(v):
        if PyIndex_Check(v):
            v = PyNumber_Index(v)
        else:
            raise TypeError("%s must be an int, got %s" % (what, type(v).__name__))
    if v < 0:
        raise IndexError("%s %d is negative" % (what, v))
    if v > 2**62:
        raise IndexError("%s %d is out of bounds" % (what, v))
    return v


@cython.final
cdef class Memory:
    """A linear memory: bytes the guest reads and writes.

    ``Memory(store, memorytype)``. Supports the writable buffer protocol, so
    ``memoryview(mem)`` and ``numpy.frombuffer(mem, dtype)`` see the memory without
    copying. The memory never moves: views stay valid while it grows (they keep
    the length they were made with). Out-of-bounds access raises IndexError.
    """

    def __init__(self, Store store not None, memorytype):
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasm_memorytype_t *mt = _memorytype_new(memorytype)
        err = wasmtime_memory_new(ctx, mt, &self._mem)
        wasm_memorytype_delete(mt)
        if err != NULL:
            _raise_error(err)
        self.store = store

    cdef wasmtime_context_t *_ctx(self) except NULL:
        if self.store is None:
            raise WasmError("Memory was not initialized")
        return self.store._context()

    @property
    def type(self):
        cdef wasm_memorytype_t *mt = wasmtime_memory_type(self._ctx(), &self._mem)
        try:
            return _memorytype_py(mt)
        finally:
            wasm_memorytype_delete(mt)

    @property
    def size(self):
        """Current size in pages (64 KiB)."""
        return wasmtime_memory_size(self._ctx(), &self._mem)

    @property
    def data_len(self):
        """Current size in bytes."""
        return wasmtime_memory_data_size(self._ctx(), &self._mem)

    @property
    def data_ptr(self):
        """Address of the first byte (for ctypes and the like; valid while the store is open)."""
        return <size_t>wasmtime_memory_data(self._ctx(), &self._mem)

    def __len__(self):
        return wasmtime_memory_data_size(self._ctx(), &self._mem)

    def grow(self, delta):
        """Grow by ``delta`` pages; returns the previous size in pages.

        Raises WasmError when the memory's maximum or the store's limits forbid it.
        """
        cdef uint64_t prev = 0
        cdef wasmtime_context_t *ctx = self._ctx()
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError("delta must be an int, got %s" % type(delta).__name__)
        if not 0 <= delta < 2**48:
            raise ValueError("delta must be in [0, 2**48), got %d" % delta)
        err = wasmtime_memory_grow(ctx, &self._mem, delta, &prev)
        if err != NULL:
            _raise_error(err)
        return prev

    cdef uint8_t *_span(self, Py_ssize_t offset, Py_ssize_t length) except NULL:
        cdef wasmtime_context_t *ctx = self._ctx()
        cdef size_t size = wasmtime_memory_data_size(ctx, &self._mem)
        if <size_t>offset > size or <size_t>length > size - <size_t>offset:
            raise IndexError("memory access [%d, %d) out of bounds (memory is %d bytes)"
                             % (offset, offset + length, size))
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

    cdef int _slice(self, object key, Py_ssize_t *start, Py_ssize_t *stop) except -1:
        cdef Py_ssize_t size = self.data_len
        if key.step is not None and key.step != 1:
            raise ValueError("memory slices must have step 1")
        a = 0 if key.start is None else key.start
        b = size if key.stop is None else key.stop
        if not isinstance(a, int) or not isinstance(b, int):
            raise TypeError("slice bounds must be ints")
        if a < 0:
            a += size
        if b < 0:
            b += size
        if not 0 <= a <= b <= size:
            raise IndexError("memory slice [%s:%s] out of bounds (memory is %d bytes)"
                             % (key.start, key.stop, size))
        start[0] = a
        stop[0] = b
        return 0

    def __getitem__(self, key):
        cdef Py_ssize_t a, b
        if isinstance(key, slice):
            self._slice(key, &a, &b)
            return self.read(a, b - a)
        i = _offset(key + self.data_len if isinstance(key, int) and key < 0 else key, "index")
        return self._span(i, 1)[0]

    def __setitem__(self, key, value):
        cdef Py_ssize_t a, b
        if isinstance(key, slice):
            self._slice(key, &a, &b)
            n = len(memoryview(value).cast("B"))
            if n != b - a:
                raise ValueError("memory slice assignment: %d bytes for a slice of %d" % (n, b - a))
            self.write(a, value)
            return
        i = _offset(key + self.data_len if isinstance(key, int) and key < 0 else key, "index")
        if not isinstance(value, int) or not 0 <= value <= 255:
            raise ValueError("a memory byte must be an int in [0, 256)")
        self._span(i, 1)[0] = value

    def __getbuffer__(self, Py_buffer *view, int flags):
        cdef wasmtime_context_t *ctx = self._ctx()
        cdef size_t size = wasmtime_memory_data_size(ctx, &self._mem)
        cdef uint8_t *p = wasmtime_memory_data(ctx, &self._mem)
        PyBuffer_FillInfo(view, self, p, size, 0, flags)
        self.store._exports += 1

    def __releasebuffer__(self, Py_buffer *view):
        self.store._exports -= 1

    def __repr__(self):
        if self.store is None or self.store._ctx == NULL:
            return "<wasmbind.Memory (closed store)>"
        return "<wasmbind.Memory %d pages>" % self.size


@cython.final
cdef class Global:
    """A global variable. ``Global(store, globaltype, value)``; read and assign ``.value``."""

    def __init__(self, Store store not None, globaltype, value):
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasm_globaltype_t *gt = _globaltype_new(globaltype)
        cdef wasmtime_val_t val
        val.kind = WB_I32
        try:
            _to_val(store, ctx, <int>globaltype.content, value, &val)
            err = wasmtime_global_new(ctx, gt, &val, &self._global)
            if err != NULL:
                _raise_error(err)
        finally:
            _unroot_vals(&val, 1)
            wasm_globaltype_delete(gt)
        self.store = store

    cdef wasmtime_context_t *_ctx(self) except NULL:
        if self.store is None:
            raise WasmError("Global was not initialized")
        return self.store._context()

    @property
    def type(self):
        cdef wasm_globaltype_t *gt = wasmtime_global_type(self._ctx(), &self._global)
        try:
            return _globaltype_py(gt)
        finally:
            wasm_globaltype_delete(gt)

    @property
    def value(self):
        cdef wasmtime_context_t *ctx = self._ctx()
        cdef wasmtime_val_t val
        wasmtime_global_get(ctx, &self._global, &val)
        try:
            return _from_val(self.store, ctx, &val)
        finally:
            _unroot_vals(&val, 1)

    @value.setter
    def value(self, v):
        cdef wasmtime_context_t *ctx = self._ctx()
        cdef wasmtime_val_t val
        ty = self.type
        if not ty.mutable:
            raise AttributeError("cannot assign an immutable global (%r)" % (ty,))
        val.kind = WB_I32
        try:
            _to_val(self.store, ctx, <int>ty.content, v, &val)
            err = wasmtime_global_set(ctx, &self._global, &val)
            if err != NULL:
                _raise_error(err)
        finally:
            _unroot_vals(&val, 1)

    def __repr__(self):
        if self.store is None or self.store._ctx == NULL:
            return "<wasmbind.Global (closed store)>"
        return "<wasmbind.Global %r = %r>" % (self.type, self.value)


@cython.final
cdef class Table:
    """A table of references. ``Table(store, tabletype, init=None)``.

    ``len(table)``, ``table[i]``, ``table[i] = value``, ``table.grow(delta, init=None)``.
    """

    def __init__(self, Store store not None, tabletype, init=None):
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasm_tabletype_t *tt = _tabletype_new(tabletype)
        cdef wasmtime_val_t val
        val.kind = WB_I32
        try:
            _to_val(store, ctx, <int>tabletype.element, init, &val)
            err = wasmtime_table_new(ctx, tt, &val, &self._table)
            if err != NULL:
                _raise_error(err)
        finally:
            _unroot_vals(&val, 1)
            wasm_tabletype_delete(tt)
        self.store = store

    cdef wasmtime_context_t *_ctx(self) except NULL:
        if self.store is None:
            raise WasmError("Table was not initialized")
        return self.store._context()

    @property
    def type(self):
        cdef wasm_tabletype_t *tt = wasmtime_table_type(self._ctx(), &self._table)
        try:
            return _tabletype_py(tt)
        finally:
            wasm_tabletype_delete(tt)

    def __len__(self):
        return wasmtime_table_size(self._ctx(), &self._table)

    cdef uint64_t _index(self, object i) except? 0xFFFFFFFFFFFFFFFF:
        cdef uint64_t n = wasmtime_table_size(self._ctx(), &self._table)
        if not isinstance(i, int) or isinstance(i, bool):
            raise TypeError("table indices must be ints, not %s" % type(i).__name__)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("table index out of range (table has %d elements)" % n)
        return i

    def __getitem__(self, i):
        cdef wasmtime_context_t *ctx = self._ctx()
        cdef uint64_t idx = self._index(i)
        cdef wasmtime_val_t val
        if not wasmtime_table_get(ctx, &self._table, idx, &val):
            raise IndexError("table index out of range")
        try:
            return _from_val(self.store, ctx, &val)
        finally:
            _unroot_vals(&val, 1)

    def __setitem__(self, i, value):
        cdef wasmtime_context_t *ctx = self._ctx()
        cdef uint64_t idx = self._index(i)
        cdef wasmtime_val_t val
        val.kind = WB_I32
        try:
            _to_val(self.store, ctx, <int>self.type.element, value, &val)
            err = wasmtime_table_set(ctx, &self._table, idx, &val)
            if err != NULL:
                _raise_error(err)
        finally:
            _unroot_vals(&val, 1)

    def grow(self, delta, init=None):
        """Add ``delta`` elements set to ``init``; returns the previous length."""
        cdef wasmtime_context_t *ctx = self._ctx()
        cdef wasmtime_val_t val
        cdef uint64_t prev = 0
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError("delta must be an int, got %s" % type(delta).__name__)
        if not 0 <= delta < 2**32:
            raise ValueError("delta must be in [0, 2**32), got %d" % delta)
        val.kind = WB_I32
        try:
            _to_val(self.store, ctx, <int>self.type.element, init, &val)
            err = wasmtime_table_grow(ctx, &self._table, delta, &val, &prev)
            if err != NULL:
                _raise_error(err)
        finally:
            _unroot_vals(&val, 1)
        return prev

    def __repr__(self):
        if self.store is None or self.store._ctx == NULL:
            return "<wasmbind.Table (closed store)>"
        return "<wasmbind.Table %r, %d elements>" % (self.type, len(self))


# ======================================================================
# Instances
# ======================================================================

cdef class Exports:
    """An instance's exports: ``exports.add``, ``exports["add"]``, ``"add" in exports``,
    iteration over names (in the module's order), ``len``. A missing name raises
    KeyError / AttributeError naming it. Items are looked up in the engine on
    first use and kept, so ``exports.add`` is the same Func every time. An export
    named like a method (``get``, ``keys``, ``values``, ``items``) is reached by
    item access: ``exports["get"]``."""
    cdef Store _store
    cdef wasmtime_instance_t _instance
    cdef tuple _names
    cdef dict _items

    def __cinit__(self):
        self._items = {}

    cdef object _lookup(self, object name, object missing):
        cdef wasmtime_extern_t item
        try:
            return self._items[name]
        except (KeyError, TypeError):
            pass
        if not isinstance(name, str) or name not in self._names:
            return missing
        ctx = self._store._context()
        b = (<str>name).encode("utf-8")
        if not wasmtime_instance_export_get(self._store._ctx, &self._instance, b, len(b), &item):
            return missing
        v = _wrap_extern(self._store, &item, name)
        self._items[name] = v
        return v

    cdef str _missing(self, name):
        return "no export named %r (exports: %s)" % (name, ", ".join(self._names) or "none")

    def __getitem__(self, name):
        v = self._lookup(name, _MISSING)
        if v is _MISSING:
            raise KeyError(self._missing(name))
        return v

    def __getattr__(self, name):
        v = self._lookup(name, _MISSING)
        if v is _MISSING:
            raise AttributeError(self._missing(name))
        return v

    def __contains__(self, name):
        return name in self._names

    def __iter__(self):
        return iter(self._names)

    def __len__(self):
        return len(self._names)

    def get(self, name, default=None):
        return self._lookup(name, default)

    def keys(self):
        return list(self._names)

    def values(self):
        return [self[n] for n in self._names]

    def items(self):
        return [(n, self[n]) for n in self._names]

    def __dir__(self):
        return list(self._names) + ["get", "keys", "values", "items"]

    def __repr__(self):
        return "<wasmbind.Exports %s>" % ", ".join(self._names)


_MISSING = object()


cdef Exports _collect_exports(Store store, Module module, wasmtime_instance_t *inst):
    cdef Exports ex = Exports.__new__(Exports)
    if module._export_names is None:
        module._export_names = tuple([e.name for e in module.exports])
    ex._store = store
    ex._instance = inst[0]
    ex._names = module._export_names
    return ex


cdef class Instance:
    """An instantiated module. ``Instance(store, module, imports=())``.

    ``imports`` is a sequence of externs in the module's import order, or a
    mapping ``{module_name: {name: extern_or_callable}}``; a plain callable takes
    its type from the module's import declaration. Missing or mismatched imports
    raise LinkError; a trap in the start function raises Trap.
    """

    def __init__(self, Store store not None, Module module not None, imports=()):
        cdef wasmtime_context_t *ctx = store._context()
        if module.engine is not store.engine:
            raise ValueError("the Module was compiled by a different Engine than the Store's")
        cdef list decls = module.imports
        cdef list items = _resolve_imports(store, decls, imports)
        cdef Py_ssize_t n = len(items), i
        cdef wasmtime_extern_t *ext = NULL
        cdef wasmtime_error_t *err
        cdef wasm_trap_t *trap = NULL
        if self.store is not None:
            raise WasmError("Instance is already initialized")
        if n:
            ext = <wasmtime_extern_t *>PyMem_Malloc(n * sizeof(wasmtime_extern_t))
            if ext == NULL:
                raise MemoryError()
        try:
            for i in range(n):
                _as_extern(store, items[i], &ext[i])
            wb_state_enter(&store._state)
            err = wasmtime_instance_new(ctx, module._module(), ext, n, &self._instance, &trap)
            wb_state_leave(&store._state)
            if err != NULL or trap != NULL:
                _link_failure(store, err, trap)
        finally:
            PyMem_Free(ext)
        self.store = store
        self.module = module
        self.exports = _collect_exports(store, module, &self._instance)

    @staticmethod
    cdef Instance _make(Store store, Module module, wasmtime_instance_t *inst):
        cdef Instance self = Instance.__new__(Instance)
        self.store = store
        self.module = module
        self._instance = inst[0]
        self.exports = _collect_exports(store, module, inst)
        return self

    def __repr__(self):
        return "<wasmbind.Instance exports: %s>" % ", ".join(self.exports)


cdef list _resolve_imports(Store store, list decls, object imports):
    """Matches the given imports to the module's declarations, in order."""
    cdef list out = []
    if imports is None:
        imports = ()
    if isinstance(imports, _Mapping):
        for decl in decls:
            group = imports.get(decl.module)
            if group is None or decl.name not in group:
                raise LinkError("missing import %s::%s (%r)" % (decl.module, decl.name, decl.type))
            out.append(_import_value(store, decl, group[decl.name]))
        return out
    if isinstance(imports, (str, bytes)):
        raise TypeError("imports must be a sequence of externs or a mapping of mappings")
    given = list(imports)
    if len(given) != len(decls):
        raise LinkError("the module declares %d import(s) but %d were given%s" % (
            len(decls), len(given),
            "" if not decls else ": " + ", ".join("%s::%s" % (d.module, d.name) for d in decls)))
    for decl, v in zip(decls, given):
        out.append(_import_value(store, decl, v))
    return out


cdef object _import_value(Store store, object decl, object v):
    if isinstance(v, (Func, Memory, Global, Table)):
        return v
    if callable(v):
        if not isinstance(decl.type, FuncType):
            raise LinkError("import %s::%s is a %s, not a function" % (decl.module, decl.name,
                                                                       type(decl.type).__name__))
        return Func(store, decl.type, v)
    raise TypeError("import %s::%s must be an extern or a callable, got %s"
                    % (decl.module, decl.name, type(v).__name__))


def instantiate(source, imports=None):
    """Compile ``source`` on the default engine and instantiate it in a fresh Store."""
    module = source if isinstance(source, Module) else Module(None, source)
    return Instance(Store((<Module>module).engine), module, imports)


# ======================================================================
# Linker
# ======================================================================

cdef class Linker:
    """Resolves imports by name: define items, then instantiate modules.

    ``Linker(engine=None, *, allow_shadowing=False)``.
    """

    def __init__(self, engine=None, *, bint allow_shadowing=False):
        if self._ptr != NULL:
            raise WasmError("Linker is already initialized")
        self.engine = _engine_arg(engine)
        self._ptr = wasmtime_linker_new(self.engine._engine())
        if self._ptr == NULL:
            raise MemoryError("the engine could not create a linker")
        self.allow_shadowing = allow_shadowing

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_linker_delete(self._ptr)
            self._ptr = NULL

    cdef wasmtime_linker_t *_linker(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Linker was not initialized")
        return self._ptr

    @property
    def allow_shadowing(self):
        """Whether a later definition may replace an earlier one of the same name."""
        return self._shadowing

    @allow_shadowing.setter
    def allow_shadowing(self, bint allow):
        wasmtime_linker_allow_shadowing(self._linker(), allow)
        self._shadowing = allow

    cdef int _check_store(self, Store store) except -1:
        if store.engine is not self.engine:
            raise ValueError("the Store uses a different Engine than the Linker")
        return 0

    def define(self, Store store not None, str module not None, str name not None, item):
        """Define ``module::name`` as an extern (Func, Memory, Global, Table) of ``store``."""
        cdef wasmtime_extern_t ext
        cdef wasmtime_context_t *ctx = store._context()
        self._check_store(store)
        _as_extern(store, item, &ext)
        m = module.encode("utf-8")
        n = name.encode("utf-8")
        err = wasmtime_linker_define(self._linker(), ctx, m, len(m), n, len(n), &ext)
        if err != NULL:
            _raise_error(err, LinkError)

    def define_func(self, str module not None, str name not None, functype, fn, *,
                    bint access_caller=False):
        """Define ``module::name`` as a Python function usable from any store."""
        cdef _HostFunc hf = _HostFunc.make(fn, functype, access_caller)
        cdef wasm_functype_t *ft = _functype_new(functype)
        m = module.encode("utf-8")
        n = name.encode("utf-8")
        # The linker's functions can outlive the linker (stores keep them), so the
        # engine owns a reference to the environment and drops it when done.
        Py_INCREF(hf)
        try:
            if hf.has_refs:
                err = wasmtime_linker_define_func(self._linker(), m, len(m), n, len(n), ft,
                                                  wb_host_entry_val, <void *>hf, wb_decref_finalizer)
            else:
                err = wasmtime_linker_define_func_unchecked(self._linker(), m, len(m), n, len(n), ft,
                                                            wb_host_entry_raw, <void *>hf,
                                                            wb_decref_finalizer)
        finally:
            wasm_functype_delete(ft)
        if err != NULL:
            _raise_error(err, LinkError)

    def define_instance(self, Store store not None, str name not None, Instance instance not None):
        """Define every export of ``instance`` under the module name ``name``."""
        cdef wasmtime_context_t *ctx = store._context()
        self._check_store(store)
        if instance.store is not store:
            raise ValueError("the Instance belongs to a different Store")
        n = name.encode("utf-8")
        err = wasmtime_linker_define_instance(self._linker(), ctx, n, len(n), &instance._instance)
        if err != NULL:
            _raise_error(err, LinkError)

    def define_module(self, Store store not None, str name not None, Module module not None):
        """Define ``module``'s exports under ``name`` (commands get a fresh instance per call)."""
        cdef wasmtime_context_t *ctx = store._context()
        self._check_store(store)
        n = name.encode("utf-8")
        err = wasmtime_linker_module(self._linker(), ctx, n, len(n), module._module())
        if err != NULL:
            _raise_error(err, LinkError)

    def define_wasi(self):
        """Define the WASI preview-1 functions; give each store a config with ``Store.set_wasi``."""
        err = wasmtime_linker_define_wasi(self._linker())
        if err != NULL:
            _raise_error(err, LinkError)

    def define_unknown_imports_as_traps(self, Module module not None):
        """Define every import of ``module`` not yet defined as a function that traps."""
        err = wasmtime_linker_define_unknown_imports_as_traps(self._linker(), module._module())
        if err != NULL:
            _raise_error(err, LinkError)

    def instantiate(self, Store store not None, Module module not None):
        """Instantiate ``module`` in ``store`` with this linker's definitions."""
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasmtime_instance_t inst
        cdef wasm_trap_t *trap = NULL
        self._check_store(store)
        wb_state_enter(&store._state)
        err = wasmtime_linker_instantiate(self._linker(), ctx, module._module(), &inst, &trap)
        wb_state_leave(&store._state)
        if err != NULL or trap != NULL:
            _link_failure(store, err, trap)
        return Instance._make(store, module, &inst)

    def get(self, Store store not None, str module not None, str name not None):
        """The extern defined as ``module::name``; KeyError if none."""
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasmtime_extern_t item
        self._check_store(store)
        m = module.encode("utf-8")
        n = name.encode("utf-8")
        if not wasmtime_linker_get(self._linker(), ctx, m, len(m), n, len(n), &item):
            raise KeyError("nothing defined as %s::%s" % (module, name))
        return _wrap_extern(store, &item, name)

    def get_default(self, Store store not None, str name not None):
        """The default export (``_start`` or the unnamed one) of module ``name``.

        As in Wasmtime, a name with no definitions gives a function that does
        nothing; use :meth:`get` to look an export up strictly.
        """
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasmtime_func_t f
        self._check_store(store)
        n = name.encode("utf-8")
        err = wasmtime_linker_get_default(self._linker(), ctx, n, len(n), &f)
        if err != NULL:
            _raise_error(err, LinkError)
        return Func._wrap(store, &f, name)


# ======================================================================
# WASI
# ======================================================================

_CAPTURE_LIMIT = 1 << 30


cdef class WasiConfig:
    """The environment of a WASI (preview 1) program; apply with ``Store.set_wasi``.

    Keywords and attributes: ``argv`` (list of str, program name first), ``env``
    (mapping), ``inherit_argv``, ``inherit_env``; stdin: ``stdin_bytes``,
    ``stdin_file`` or ``inherit_stdin``; stdout/stderr: ``capture_stdout`` (bytes
    in memory, read back from ``Store.wasi_stdout``), ``stdout_file`` or
    ``inherit_stdout`` (likewise for stderr); ``max_output`` caps captured bytes
    per stream (writes past it fail in the guest). Directories: ``preopen_dir``.
    By default the program sees no arguments, no environment, empty stdin,
    discarded output and no files.
    """
    cdef public list argv
    cdef public dict env
    cdef public bint inherit_argv, inherit_env, inherit_stdin, inherit_stdout, inherit_stderr
    cdef public bint capture_stdout, capture_stderr
    cdef public object stdin_bytes, stdin_file, stdout_file, stderr_file
    cdef public Py_ssize_t max_output
    cdef public list preopens

    def __init__(self, *, argv=None, env=None, inherit_argv=False, inherit_env=False,
                 stdin_bytes=None, stdin_file=None, inherit_stdin=False,
                 capture_stdout=False, stdout_file=None, inherit_stdout=False,
                 capture_stderr=False, stderr_file=None, inherit_stderr=False,
                 max_output=_CAPTURE_LIMIT, preopens=()):
        self.argv = [] if argv is None else list(argv)
        self.env = {} if env is None else dict(env)
        self.inherit_argv = inherit_argv
        self.inherit_env = inherit_env
        self.stdin_bytes = stdin_bytes
        self.stdin_file = stdin_file
        self.inherit_stdin = inherit_stdin
        self.capture_stdout = capture_stdout
        self.stdout_file = stdout_file
        self.inherit_stdout = inherit_stdout
        self.capture_stderr = capture_stderr
        self.stderr_file = stderr_file
        self.inherit_stderr = inherit_stderr
        self.max_output = max_output
        self.preopens = []
        for p in preopens:
            self.preopen_dir(*p)

    def preopen_dir(self, host_path, guest_path, read_only=False):
        """Let the program see host directory ``host_path`` as ``guest_path``."""
        import os
        host = os.fspath(host_path)
        if not isinstance(guest_path, str):
            raise TypeError("guest_path must be a str")
        if "\0" in str(host) or "\0" in guest_path:
            raise ValueError("preopen paths cannot contain NUL characters")
        if not os.path.isdir(host):
            raise FileNotFoundError("preopen: %r is not a directory" % (host,))
        self.preopens.append((host, guest_path, bool(read_only)))

    def _check(self):
        for name, v in (("stdin", (self.stdin_bytes is not None, self.stdin_file is not None,
                                   self.inherit_stdin)),
                        ("stdout", (self.capture_stdout, self.stdout_file is not None, self.inherit_stdout)),
                        ("stderr", (self.capture_stderr, self.stderr_file is not None, self.inherit_stderr))):
            if sum(v) > 1:
                raise ValueError("WasiConfig: choose one source/destination for %s" % name)
        for a in self.argv:
            if not isinstance(a, str):
                raise TypeError("argv items must be str, got %s" % type(a).__name__)
            if "\0" in a:
                raise ValueError("argv items cannot contain NUL characters: %r" % (a,))
        # C strings end at the first NUL: a path with one would name another file
        for name, path in (("stdin_file", self.stdin_file), ("stdout_file", self.stdout_file),
                           ("stderr_file", self.stderr_file)):
            if path is not None and "\0" in str(path):
                raise ValueError("%s cannot contain NUL characters" % name)
        for k, v in self.env.items():
            if not isinstance(k, str) or not isinstance(v, str):
                raise TypeError("env keys and values must be str")
            if "=" in k or "\0" in k or "\0" in v:
                raise ValueError("invalid environment variable %r" % (k,))
        if self.max_output < 0:
            raise ValueError("max_output must be >= 0")

    cdef int _apply(self, Store store) except -1:
        cdef wasmtime_context_t *ctx = store._context()
        cdef wasi_config_t *c
        cdef wasm_byte_vec_t vec
        cdef const char **names = NULL
        cdef const char **values = NULL
        cdef wb_capture_t *cap
        cdef Py_ssize_t i, n
        import os
        self._check()
        c = wasi_config_new()
        if c == NULL:
            raise MemoryError()
        try:
            keep = []
            if self.inherit_argv:
                wasi_config_inherit_argv(c)
            else:
                n = len(self.argv)
                names = <const char **>PyMem_Malloc((n + 1) * sizeof(char *))
                for i in range(n):
                    item = self.argv[i].encode("utf-8")
                    keep.append(item)
                    names[i] = <const char *>item
                if not wasi_config_set_argv(c, n, names):
                    raise ValueError("WASI rejected argv")
                PyMem_Free(names)
                names = NULL
            if self.inherit_env:
                wasi_config_inherit_env(c)
            else:
                n = len(self.env)
                names = <const char **>PyMem_Malloc((n + 1) * sizeof(char *))
                values = <const char **>PyMem_Malloc((n + 1) * sizeof(char *))
                for i, (k, v) in enumerate(self.env.items()):
                    kb = k.encode("utf-8")
                    vb = v.encode("utf-8")
                    keep.append(kb)
                    keep.append(vb)
                    names[i] = <const char *>kb
                    values[i] = <const char *>vb
                if not wasi_config_set_env(c, n, names, values):
                    raise ValueError("WASI rejected env")
            if self.stdin_bytes is not None:
                data = bytes(memoryview(self.stdin_bytes).cast("B"))
                wasm_byte_vec_new(&vec, len(data), <const wasm_byte_t *><char *>data)
                wasi_config_set_stdin_bytes(c, &vec)
            elif self.stdin_file is not None:
                p = os.fsencode(self.stdin_file)
                if not wasi_config_set_stdin_file(c, p):
                    raise FileNotFoundError("WASI stdin: cannot open %r" % (self.stdin_file,))
            elif self.inherit_stdin:
                wasi_config_inherit_stdin(c)
            new_out = _output(c, self.capture_stdout, self.stdout_file, self.inherit_stdout, 1,
                              self.max_output)
            new_err = _output(c, self.capture_stderr, self.stderr_file, self.inherit_stderr, 2,
                              self.max_output)
            for host, guest, ro in self.preopens:
                h = os.fsencode(host)
                g = guest.encode("utf-8")
                if not wasi_config_preopen_dir(c, h, g, not ro):
                    raise FileNotFoundError("WASI could not preopen %r" % (host,))
        except BaseException:
            PyMem_Free(names)
            PyMem_Free(values)
            wasi_config_delete(c)
            raise
        PyMem_Free(names)
        PyMem_Free(values)
        err = wasmtime_context_set_wasi(ctx, c)  # takes the config
        if err != NULL:
            _raise_error(err)
        wb_capture_decref(store._stdout)
        wb_capture_decref(store._stderr)
        store._stdout = (<_CapturePtr>new_out).take() if new_out is not None else NULL
        store._stderr = (<_CapturePtr>new_err).take() if new_err is not None else NULL
        return 0

    def __repr__(self):
        return "<wasmbind.WasiConfig argv=%r>" % (self.argv,)


cdef class _CapturePtr:
    """Holds the store's reference to a capture buffer until the store takes it."""
    cdef wb_capture_t *ptr

    def __dealloc__(self):
        wb_capture_decref(self.ptr)

    cdef wb_capture_t *take(self):
        cdef wb_capture_t *p = self.ptr
        self.ptr = NULL
        return p


cdef object _output(wasi_config_t *c, bint capture, object path, bint inherit, int fd, Py_ssize_t limit):
    """Sets one output stream; returns the capture buffer (one reference for the store)."""
    import os
    cdef wb_capture_t *cap
    cdef _CapturePtr holder
    if capture:
        cap = wb_capture_new(limit)
        if cap == NULL:
            raise MemoryError()
        cap.refs = 2  # one for the engine's WASI context, one for the store
        if fd == 1:
            wasi_config_set_stdout_custom(c, wb_capture_write, cap, wb_capture_finalize)
        else:
            wasi_config_set_stderr_custom(c, wb_capture_write, cap, wb_capture_finalize)
        holder = _CapturePtr.__new__(_CapturePtr)
        holder.ptr = cap
        return holder
    if path is not None:
        p = os.fsencode(path)
        ok = wasi_config_set_stdout_file(c, p) if fd == 1 else wasi_config_set_stderr_file(c, p)
        if not ok:
            raise FileNotFoundError("WASI: cannot open %r for output" % (path,))
    elif inherit:
        if fd == 1:
            wasi_config_inherit_stdout(c)
        else:
            wasi_config_inherit_stderr(c)
    return None
