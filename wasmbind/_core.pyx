# cython: boundscheck=False, wraparound=False, initializedcheck=False, auto_pickle=False
"""wasmbind's core: the cdef classes over Wasmtime's C API.

One extension module, one translation unit: its source is one file per
concept, included below leaf first (the lxml/uvloop way). Every cdef class is
declared in _core.pxd, so classes can be named in any file; C declarations
come from includes/*.pxd, the C we own from csrc/*.h.
"""

cimport cython
from cpython.buffer cimport (PyBUF_C_CONTIGUOUS, PyBUF_FORMAT, PyBUF_SIMPLE, PyBUF_WRITABLE,
                             PyBuffer_FillInfo, PyBuffer_Release, PyObject_CheckBuffer,
                             PyObject_GetBuffer)
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.exc cimport PyErr_CheckSignals
from cpython.float cimport PyFloat_AS_DOUBLE, PyFloat_AsDouble, PyFloat_CheckExact
from cpython.long cimport (PyLong_AsDouble, PyLong_AsLongLongAndOverflow, PyLong_AsUnsignedLongLong,
                           PyLong_Check, PyLong_CheckExact)
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.object cimport PyObject
from cpython.ref cimport Py_DECREF, Py_INCREF
from cpython.sequence cimport PySequence_Fast, PySequence_Fast_GET_SIZE, PySequence_Fast_ITEMS
from cpython.tuple cimport PyTuple_GET_ITEM, PyTuple_GET_SIZE
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from wasmbind.includes.abi cimport WASMBIND_WASMTIME_VERSION, wb_abi_layout
from wasmbind.includes.aio cimport *
from wasmbind.includes.calls cimport *
from wasmbind.includes.capture cimport *
from wasmbind.includes.component cimport *
from wasmbind.includes.component_values cimport *
from wasmbind.includes.fork cimport *
from wasmbind.includes.python cimport *
from wasmbind.includes.ticker cimport *
from wasmbind.includes.values cimport *
from wasmbind.includes.wasi cimport *
from wasmbind.includes.wake cimport *

WASMTIME_VERSION = WASMBIND_WASMTIME_VERSION.decode()


def _abi_layout():
    """Size, alignment and field offsets of each struct declared by value in
    csrc/wasmbind_capi.h, as compiled here (checked against the engine's ABI
    by tests/test_abi_layout.py)."""
    return wb_abi_layout()


cdef enum:
    SMALL = 16        # raw values on the C stack per call; more go to the heap
    MAX_PARAMS = 1000  # parameters or results of one function type, at most
    MAP_MAX = 64      # parameters plus results of a function Func.map can loop over

_MISSING = object()   # "no such item", for lookups where None is a valid default
_MIXED = object()     # a Linker name whose item may belong to any of several stores


# ---- core WebAssembly -------------------------------------------------------
include "core/errors.pxi"     # engine errors and traps -> Python exceptions
include "core/values.pxi"     # Python objects <-> Wasm values (raw numbers, references)
include "core/types.pxi"      # engine type objects <-> wasmbind.types
include "core/engine.pxi"     # Config -> engine config, Engine, the shared engines
include "core/store.pxi"      # Store: fuel, deadlines, limits; the per-call failure choke point
include "core/module.pxi"     # wat2wasm, the one source sniffer, Module
include "core/func.pxi"       # Func and the call path (vectorcall, raw values, unchecked call)
include "core/map.pxi"        # Func.map: buffers in, one C loop of calls, buffers out
include "core/map_guest.pxi"  # Func.map inside the guest: a generated Wasm loop module
include "core/host.pxi"       # host functions: trampolines, the exception slot, Caller
include "core/externs.pxi"    # the store-bound base, wrapping engine externs, passing values in
include "core/gc.pxi"         # GC reference handles: AnyRef, StructRef, ArrayRef, ExnRef, ExternRef
include "core/memory.pxi"     # Memory and its buffer protocol
include "core/shared_memory.pxi"  # SharedMemory: one memory for stores on several threads
include "core/global.pxi"     # Global
include "core/table.pxi"      # Table
include "core/table64.pxi"    # tables with 64-bit indices: read from binaries, made from Python
include "core/tag.pxi"        # Tag; Wasm exceptions to Python and back (WasmException)
include "core/instance.pxi"   # Exports, Instance, import resolution, instantiate()
include "core/linker.pxi"     # Linker
# ---- WASI preview 1 ---------------------------------------------------------
include "wasip1/config.pxi"   # WasiConfig and the captured stdout/stderr
# ---- the component model ----------------------------------------------------
include "component/types.pxi"      # component, instance, function and WIT value types
include "component/values.pxi"     # Record, Variant, Ok, Err, Some; the per-kind value converters
include "component/resources.pxi"  # resource handles, host-defined resources, own/borrow values
include "component/component.pxi"  # telling components from modules, Component
include "component/instance.pxi"   # component instances, their exports, the component call path
include "component/linker.pxi"     # the component Linker, its scopes, Python host functions
include "component/wasip2.pxi"     # WASI preview 2 for components
# ---- asyncio: awaited calls on async stores --------------------------------
include "aio/store.pxi"       # async stores: set-up, the sync API refused, fuel slices
include "aio/scheduler.pxi"   # the poll bridge's fairness: guests of one loop take turns
include "aio/future.pxi"      # the call future: awaitable, poll loop, cancellation
include "aio/hostfuncs.pxi"   # async def host functions: stepped inside the polls
include "aio/instantiate.pxi" # Linker.instantiate_async, Instance.create_async
include "aio/component.pxi"   # components: call_async, async host functions, instantiate_async


# ---- module initialisation: the C side's hooks into this module -------------
wb_main_thread = threading.main_thread().ident
wb_raw_body = <wb_raw_body_t>_host_raw_body
wb_val_body = <wb_val_body_t>_host_val_body
wb_epoch_body = <wb_epoch_body_t>_epoch_body
wb_cfunc_body = <wb_cfunc_body_t>_host_cfunc_body
wb_cdtor_body = <wb_cdtor_body_t>_host_dtor_body
_init_converters()
wb_extref_release = <wb_extref_release_t>_extref_release
_enable_func_vectorcall()
_aio_enable_am_send()
