# Components: telling a component from a core module, Component (compile,
# validate, serialize, deserialize, from_file) and its imports and exports.

import os as _os
from wasmbind.errors import CompileError, WasmError


cdef int _binary_layer(bytes data):
    """1 for a component binary, 0 for a core module binary, -1 for neither
    (the preamble's layer field: 0 for modules, 1 for components)."""
    if len(data) < 8 or data[:4] != b"\0asm":
        return -1
    return 1 if data[6:8] == b"\x01\x00" else 0


def _is_component_binary(data):
    """Whether ``data`` (bytes-like) starts as a component binary does."""
    return _binary_layer(bytes(memoryview(data)[:8])) == 1


cdef bytes _component_bytes(object source):
    """A component source to a component binary: bytes-like binaries as they
    are, str (or UTF-8 bytes) as component text. A core module, binary or
    text, raises CompileError saying so."""
    if isinstance(source, str):
        text = <str>source
    else:
        try:
            data = bytes(memoryview(source).cast("B"))
        except TypeError:
            raise TypeError("a component source must be bytes-like (a binary) or str (component text), not %s"
                            % type(source).__name__) from None
        layer = _binary_layer(data)
        if layer == 1:
            return data
        if layer == 0:
            raise CompileError("expected a component, got a core WebAssembly module "
                               "(use wasmbind.Module for core modules)")
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise CompileError("not a WebAssembly component: no \\0asm header and not component text") from None
        if text.strip() and not _looks_like_wat(text):
            raise CompileError("not a WebAssembly component: no \\0asm header and not component text")
    binary = wat2wasm(text)
    if _binary_layer(binary) == 0:
        raise CompileError("expected a component, got a core WebAssembly module in text form "
                           "(use wasmbind.Module for core modules)")
    return binary


@cython.no_gc_clear
cdef class Component:
    """A compiled WebAssembly component; immutable, shareable across stores.

    ``Component(engine, source)``: ``source`` is a component binary (bytes-like)
    or component text (``"(component ...)"``); ``engine`` None is the default
    engine. Invalid input raises CompileError (a ValueError), as does a core
    module, with a message that says it is one. ``imports`` and ``exports``
    map names to their types; ``type`` prints as a WIT world.
    """

    def __init__(self, engine, source):
        cdef wasmtime_component_t *c = NULL
        cdef wasmtime_error_t *err
        if self._ptr != NULL:
            raise WasmError("Component is already initialized")
        self.engine = _engine_arg(engine)
        data = _component_bytes(source)
        cdef wasm_engine_t *e = self.engine._engine()
        cdef const uint8_t *p = <const uint8_t *><char *>data
        cdef size_t n = len(data)
        with nogil:
            err = wasmtime_component_new(e, p, n, &c)
        if err != NULL:
            _raise_error(err, CompileError)
        self._ptr = c

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_component_delete(self._ptr)
            self._ptr = NULL

    cdef wasmtime_component_t *_component(self) except NULL:
        if self._ptr == NULL:
            raise WasmError("Component was not initialized")
        return self._ptr

    @staticmethod
    def from_file(engine, path):
        """Compile a file holding a component binary or component text."""
        with open(_os.fspath(path), "rb") as f:
            data = f.read()
        try:
            return Component(engine, data)
        except CompileError as exc:
            raise CompileError("%s: %s" % (_os.fsdecode(path), exc)) from None

    @staticmethod
    def validate(engine, source):
        """Check that ``source`` is a valid component; raises CompileError if not.

        (The engine has no separate validation entry for components: this
        compiles the component and discards it.)"""
        Component(engine, source)

    def serialize(self):
        """The compiled machine code as bytes, for :meth:`deserialize` later."""
        cdef wasm_byte_vec_t out
        err = wasmtime_component_serialize(self._component(), &out)
        if err != NULL:
            _raise_error(err)
        try:
            return PyBytes_FromStringAndSize(<char *>out.data, out.size)
        finally:
            wasm_byte_vec_delete(&out)

    @staticmethod
    def deserialize(engine, data):
        """A Component from :meth:`serialize` output made by the same wasmbind
        and engine configuration. Only deserialize data you trust: it is machine
        code. Anything else (a component binary, a module's data, garbage)
        raises CompileError."""
        cdef Engine e = _engine_arg(engine)
        cdef wasmtime_component_t *c = NULL
        try:
            b = bytes(memoryview(data).cast("B"))
        except TypeError:
            raise TypeError("expected bytes-like serialized data, got %s" % type(data).__name__) from None
        if b[:4] == b"\0asm":
            raise CompileError("this is a WebAssembly binary, not serialized data: use Component(engine, data)")
        if b[:4] != b"\x7fELF":   # the engine's compiled artifacts are ELF objects on every platform
            raise CompileError("not serialized component data")
        err = wasmtime_component_deserialize(e._engine(), <const uint8_t *><char *>b, len(b), &c)
        if err != NULL:
            _raise_error(err, CompileError)
        cdef Component self = Component.__new__(Component)
        self.engine = e
        self._ptr = c
        return self

    cdef object _read_type(self):
        cdef wasmtime_component_type_t *ty
        if self._type is None:
            ty = wasmtime_component_type(self._component())
            try:
                self._type = _read_component_type(ty, self.engine, _TypeScope())
            finally:
                wasmtime_component_type_delete(ty)
        return self._type

    @property
    def type(self):
        """The component's type (:class:`ComponentType`): prints as a WIT world."""
        return self._read_type()

    @property
    def imports(self):
        """Import names mapped to their types (functions, interfaces, resources...)."""
        return dict(self._read_type().imports)

    @property
    def exports(self):
        """Export names mapped to their types (functions, interfaces, resources...)."""
        return dict(self._read_type().exports)

    def __repr__(self):
        if self._ptr == NULL:
            return "<wasmbind.component.Component uninitialized>"
        t = self._read_type()
        return "<wasmbind.component.Component imports=[%s] exports=[%s]>" % (
            ", ".join(t.imports), ", ".join(t.exports))
