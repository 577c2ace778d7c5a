# The cdef classes of wasmbind's core, declared for cimport by other modules.
from libc.stdint cimport uint8_t, uint64_t
from wasmbind.includes.wasm cimport *
from wasmbind.includes.wasmtime cimport *
from wasmbind.includes.calls cimport wb_store_state_t
from wasmbind.includes.capture cimport wb_capture_t
from wasmbind.includes.python cimport vectorcallfunc


cdef class Engine:
    cdef wasm_engine_t *_ptr
    cdef readonly object config
    cdef bint _epoch
    cdef bint _fuel
    # compiles use the engine's thread pool (see _compile_engine)
    cdef bint _parallel
    # the same engine without the thread pool, for compiles after a fork
    cdef wasm_engine_t *_serial
    # native stack a call needs (max_wasm_stack and a margin), see wb_state_enter
    cdef size_t _stack_need
    # Config(wasm_threads=True): guests may block in memory.atomic.wait
    cdef bint _shared_memory
    cdef object __weakref__

    cdef wasm_engine_t *_engine(self) except NULL
    cdef wasm_engine_t *_compile_engine(self) except NULL


cdef class Store:
    cdef wasmtime_store_t *_store
    cdef wasmtime_context_t *_ctx
    cdef readonly Engine engine
    # deadline, interrupt flag and GIL mode, read by the engine's callbacks
    # (this struct is the store's data pointer)
    cdef wb_store_state_t _state
    # a host-callback or signal-handler exception waiting to be re-raised
    cdef object _pending
    # buffer views of this store's memories that are still alive
    cdef Py_ssize_t _buffer_views
    cdef list _hostfuncs
    cdef object _limits
    cdef wb_capture_t *_stdout
    cdef wb_capture_t *_stderr
    cdef object __weakref__

    cdef wasmtime_context_t *_context(self) except NULL


cdef class Module:
    cdef wasmtime_module_t *_ptr
    cdef readonly Engine engine
    cdef object _imports
    cdef object _exports
    cdef tuple _export_names
    cdef object __weakref__

    @staticmethod
    cdef Module _wrap(Engine engine, wasmtime_module_t *m)
    cdef wasmtime_module_t *_module(self) except NULL


# Everything that lives in a store (h5py's ObjectID, uvloop's UVHandle): holds
# the store alive and reaches the engine context only through _context(),
# which raises for an object never initialised, a closed store, or a store
# running a call in another thread.
cdef class _StoreObject:
    cdef readonly Store store

    cdef wasmtime_context_t *_context(self) except NULL


cdef class Func(_StoreObject):
    # the per-instance vectorcall entry (see the call path in core/func.pxi)
    cdef vectorcallfunc _vectorcall
    cdef wasmtime_func_t _func
    cdef object _name
    cdef object _type
    # signature, loaded once: kinds of the params followed by the results
    cdef bint _sig_loaded
    cdef bint _has_refs
    cdef Py_ssize_t _nparams
    cdef Py_ssize_t _nresults
    cdef uint8_t *_kinds

    @staticmethod
    cdef Func _wrap(Store store, wasmtime_func_t *func, object name)
    cdef int _load_sig(self, wasmtime_context_t *ctx) except -1
    cdef str _label(self)
    cdef int _arity_error(self, Py_ssize_t given) except -1
    cdef int _arg_error(self, Py_ssize_t i, object exc) except -1
    cdef object _call_vals(self, wasmtime_context_t *ctx, tuple args)


cdef class Memory(_StoreObject):
    cdef wasmtime_memory_t _mem
    cdef uint8_t *_span(self, Py_ssize_t offset, Py_ssize_t length) except NULL
    cdef int _slice(self, object key, Py_ssize_t *start, Py_ssize_t *stop) except -1


cdef class Global(_StoreObject):
    cdef wasmtime_global_t _global


cdef class Table(_StoreObject):
    cdef wasmtime_table_t _table
    cdef uint64_t _checked_index(self, object i) except? 0xFFFFFFFFFFFFFFFF


cdef class Instance(_StoreObject):
    cdef readonly Module module
    cdef wasmtime_instance_t _instance
    cdef readonly object exports

    @staticmethod
    cdef Instance _wrap(Store store, Module module, wasmtime_instance_t *inst)


cdef class Linker:
    cdef wasmtime_linker_t *_ptr
    cdef readonly Engine engine
    cdef bint _shadowing
    cdef object __weakref__

    cdef wasmtime_linker_t *_linker(self) except NULL
    cdef int _check_store(self, Store store) except -1
