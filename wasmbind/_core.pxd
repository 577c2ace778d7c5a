# The cdef classes of wasmbind's core, declared for cimport by other modules.
from libc.stdint cimport uint8_t, uint64_t
from wasmbind.includes.wasm cimport *
from wasmbind.includes.wasmtime cimport *
from wasmbind.includes.calls cimport wb_store_state_t
from wasmbind.includes.component cimport *
from wasmbind.includes.capture cimport wb_capture_t
from wasmbind.includes.python cimport vectorcallfunc
from cpython.object cimport PyObject


cdef class Engine:
    cdef wasm_engine_t *_ptr
    cdef readonly object config
    cdef bint _epoch
    cdef bint _fuel
    cdef bint _async
    # compiles use the engine's thread pool (see _compile_engine)
    cdef bint _parallel
    # the same engine without the thread pool, for compiles after a fork
    cdef wasm_engine_t *_serial
    # native stack a call needs (max_wasm_stack and a margin), see wb_state_enter
    cdef size_t _stack_need
    # Config(wasm_threads=True): guests may block in memory.atomic.wait
    cdef bint _shared_memory
    # Config(wasm_exceptions=True): host functions take the path that can throw
    cdef bint _exceptions
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
    # externref payloads the engine holds, by entry address (see
    # csrc/wasmbind_calls.h), and those it dropped, released at the next
    # point where Python code may run
    cdef dict _refs
    cdef list _dead
    cdef wb_capture_t *_stdout
    cdef wb_capture_t *_stderr
    # the async call (aio/future.pxi) that holds the store while it runs or is
    # suspended, or NULL; borrowed: the call holds the store and clears this
    cdef PyObject *_aio_call
    cdef uint64_t _fuel_yield_interval
    # the component model's per-store state (host resources lent to guests), or None
    cdef object _component
    # the argument arena (wb_arena_t) of the component call whose arguments are
    # being converted, or NULL: values are then built in it, not by the engine
    cdef void *_carena
    # whether set_wasi() gave this store a WASI environment
    cdef bint _wasi_set
    # a capturing WasiConfig (a copy) set for core modules, which components
    # apply again with pipe capture (see Store._apply_wasi); else None
    cdef object _wasi_redo
    # whether a WASI p2 component was instantiated here: set_wasi then
    # captures through a pipe at once
    cdef bint _wasi_pipe
    cdef object __weakref__

    cdef wasmtime_context_t *_context(self) except NULL
    cdef int _check_thread(self) except -1
    cdef int _apply_wasi(self, object config, bint pipe) except -1


cdef class Module:
    cdef wasmtime_module_t *_ptr
    cdef readonly Engine engine
    cdef object _imports
    cdef object _exports
    cdef tuple _export_names
    # the index types of the tables, read from the binary (see core/table64.pxi), or None
    cdef object _tables
    # for pickling: the Wasm binary (None after deserialize), the serialized
    # artifact and the content digest (both made on first use)
    cdef bytes _wasm
    cdef bytes _artifact
    cdef str _digest
    cdef object __weakref__

    @staticmethod
    cdef Module _wrap(Engine engine, wasmtime_module_t *m)
    cdef wasmtime_module_t *_module(self) except NULL
    cdef bytes _artifact_bytes(self)
    cdef str _content_digest(self)


# Everything that lives in a store (h5py's ObjectID, uvloop's UVHandle): holds
# the store alive and reaches the engine context only through _context(),
# which raises for an object never initialised, a closed store, or a store
# running a call in another thread. Bound once: _claim() at the start of
# __init__ refuses a second construction; the store is set only on success.
cdef class _StoreObject:
    cdef readonly Store store
    cdef bint _claimed

    cdef wasmtime_context_t *_context(self) except NULL
    cdef int _claim(self) except -1


cdef class Func(_StoreObject):
    # the per-instance vectorcall entry (see the call path in core/func.pxi)
    cdef vectorcallfunc _vectorcall
    cdef wasmtime_func_t _func
    cdef object _name
    cdef object _type
    # signature, loaded once: kinds of the params followed by the results
    cdef bint _sig_loaded
    cdef bint _has_refs
    cdef bint _fast  # loaded, no reference types, at most SMALL values: wb_call_fast
    cdef Py_ssize_t _nparams
    cdef Py_ssize_t _nresults
    cdef uint8_t *_kinds

    @staticmethod
    cdef Func _wrap(Store store, wasmtime_func_t *func, object name)
    cdef int _load_sig(self, wasmtime_context_t *ctx) except -1
    cdef str _label(self)
    cdef int _arity_error(self, Py_ssize_t given) except -1
    cdef int _arg_error(self, Py_ssize_t i, object exc) except -1
    cdef object _call_vals(self, tuple args)


cdef class Memory(_StoreObject):
    cdef wasmtime_memory_t _mem
    cdef uint8_t *_span(self, Py_ssize_t offset, Py_ssize_t length) except NULL
    cdef int _slice(self, object key, Py_ssize_t *start, Py_ssize_t *stop) except -1
    cdef Py_ssize_t _index(self, object key) except -1


cdef class Global(_StoreObject):
    cdef wasmtime_global_t _global


cdef class Table(_StoreObject):
    cdef wasmtime_table_t _table
    cdef uint8_t _index_kind   # 0 until known, then 1 (32-bit) or 2 (64-bit indices)
    cdef uint64_t _checked_index(self, object i) except? 0xFFFFFFFFFFFFFFFF
    cdef object _element(self)


cdef class SharedMemory:
    cdef wasmtime_sharedmemory_t *_ptr
    cdef readonly Engine engine
    cdef object _notifier       # the module whose functions notify this memory, compiled once
    cdef object __weakref__

    @staticmethod
    cdef SharedMemory _wrap(Engine engine, wasmtime_sharedmemory_t *ptr)
    cdef wasmtime_sharedmemory_t *_mem(self) except NULL
    cdef object _range(self, Py_ssize_t offset, Py_ssize_t length)


cdef class Tag(_StoreObject):
    cdef wasmtime_tag_t _tag
    cdef object _functype       # FuncType of the payload, read once

    @staticmethod
    cdef Tag _wrap(Store store, wasmtime_tag_t *tag)


# GC references held by Python (core/gc.pxi): each holds its own root of the
# value (a clone), unrooted when the handle dies.
cdef class _Ref(_StoreObject):
    cdef wasmtime_val_t _val


cdef class AnyRef(_Ref):
    pass


cdef class StructRef(AnyRef):
    cdef wasmtime_structref_t _sref


cdef class ArrayRef(AnyRef):
    cdef wasmtime_arrayref_t _aref


cdef class ExnRef(_Ref):
    pass


cdef class ExternRef(_Ref):
    pass


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
    # async instantiations in progress that read this linker (aio/instantiate.pxi)
    cdef int _aio_users
    # (module, name) -> weak reference to the Store whose item is defined
    # there, or _MIXED when it may be one of several
    cdef dict _owners
    cdef object __weakref__

    cdef wasmtime_linker_t *_linker(self) except NULL
    cdef int _check_store(self, Store store) except -1
    cdef int _check_module(self, Module module) except -1
    cdef int _check_owners(self, Store store, object keys) except -1
    cdef int _set_owners(self, Store store, object keys, bint replace) except -1


# ---- the component model (wasmbind/component/*.pxi) --------------------------

cdef class Component:
    cdef wasmtime_component_t *_ptr
    cdef readonly Engine engine
    cdef object _type
    cdef object __weakref__

    cdef wasmtime_component_t *_component(self) except NULL
    cdef object _read_type(self)


cdef class WitResourceType:
    cdef wasmtime_component_resource_type_t *_ptr
    cdef public str name
    cdef bint _host_checked
    cdef object _host

    @staticmethod
    cdef WitResourceType _wrap(wasmtime_component_resource_type_t *ptr, str name)


cdef class WitType:
    cdef uint8_t _k             # WB_CT_* kind (or _CT_UNSUPPORTED)
    cdef str _kind_name         # for unsupported kinds
    cdef tuple _elems           # element / field / case payload / ok, err types
    cdef tuple _names           # field, case, flag names
    cdef tuple _bnames          # the same, UTF-8
    cdef tuple _snames          # the same, snake_case
    cdef dict _index            # name (and snake_case alias) -> position
    cdef object _resource       # WitResourceType of own / borrow
    cdef bint _unsupported      # some nested type cannot be converted
    cdef str _str
    cdef object _py             # bindgen hook (values.pxi _bind_type), or None


cdef class ComponentFunc(_StoreObject):
    cdef wasmtime_component_func_t _func
    cdef str _name
    cdef object _owner          # the instance, kept alive
    cdef object _type           # WitFuncType
    cdef bint _loaded
    cdef tuple _params          # WitType per parameter
    cdef tuple _pnames
    cdef Py_ssize_t _nparams
    cdef object _result         # WitType or None
    cdef object _unsupported    # why it cannot be called, or None

    @staticmethod
    cdef ComponentFunc _wrap(Store store, wasmtime_component_func_t *f, str name, object owner)
    cdef int _load(self, wasmtime_context_t *ctx) except -1
    cdef tuple _bind(self, tuple args, dict kwargs)
    cdef int _arity_error(self, Py_ssize_t given) except -1


cdef class ComponentInstance(_StoreObject):
    cdef wasmtime_component_instance_t _inst
    cdef readonly Component component
    cdef readonly object exports

    @staticmethod
    cdef ComponentInstance _wrap(Store store, Component component, wasmtime_component_instance_t *inst)


cdef class ComponentExports:
    cdef ComponentInstance _inst
    cdef object _members
    cdef str _prefix
    cdef dict _aliases
    cdef dict _items
    cdef wasmtime_component_export_index_t *_parent

    @staticmethod
    cdef ComponentExports _make(ComponentInstance inst, object members, str prefix,
                                wasmtime_component_export_index_t *parent)
    cdef object _lookup(self, object name, object missing)
    cdef str _missing(self, name)


cdef class ResourceHandle(_StoreObject):
    cdef wasmtime_component_resource_any_t *_ptr
    cdef bint _owned
    cdef readonly object type
    cdef str _gone

    @staticmethod
    cdef ResourceHandle _wrap(Store store, wasmtime_component_resource_any_t *ptr, WitResourceType rtype)
    cdef int _check(self) except -1
    cdef int _expire(self, str why)


cdef class ComponentLinker:
    cdef wasmtime_component_linker_t *_ptr
    cdef readonly Engine engine
    cdef bint _shadowing
    cdef bint _wasip2
    cdef set _defined           # paths of the Python functions defined
    # async instantiations in progress that read this linker (aio/component.pxi)
    cdef int _aio_users
    cdef object __weakref__

    cdef wasmtime_component_linker_t *_linker(self) except NULL
    cdef Component _prepare(self, Store store, object component)


cdef class ComponentLinkerInstance:
    cdef readonly ComponentLinker linker
    cdef readonly tuple path

    @staticmethod
    cdef ComponentLinkerInstance _make(ComponentLinker linker, tuple path)
