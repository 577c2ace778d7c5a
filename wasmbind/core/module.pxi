# Modules: WAT to binary, the one sniffer of module sources, Module.

import os as _os
from wasmbind.errors import CompileError, WasmError
from wasmbind.types import ExportType, ImportType


cdef bytes _wasm_bytes(object source):
    """Turns a Module source into a Wasm binary: the one place that tells them
    apart. A str is WAT; bytes-like data is a binary when it has the binary's
    magic header, else it must be UTF-8 WAT text. A component (binary or
    text) is refused with a CompileError that says so."""
    return _not_a_component(_wasm_bytes_any(source))


cdef bytes _not_a_component(bytes data):
    if data[:4] == b"\0asm" and data[6:8] == b"\x01\x00":
        raise CompileError("expected a core WebAssembly module, got a component "
                           "(use wasmbind.component.Component for components)")
    return data


cdef bytes _wasm_bytes_any(object source):
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
    except UnicodeDecodeError as exc:
        head = data.lstrip()
        if head.startswith(b"(") or head.startswith(b";;"):
            raise CompileError("WAT text is not valid UTF-8 (byte 0x%02x at offset %d)"
                               % (data[exc.start], exc.start)) from None
        text = None
    if text is None or (text.strip() and not _looks_like_wat(text)):
        raise CompileError("not a WebAssembly module: no \\0asm header and not WAT text")
    return wat2wasm(text)


def _looks_like_wat(str text):
    """Whether text starts as WAT does (``(`` or a comment): tells WAT from a
    binary's bytes here, and WAT from a file name in wasi.load_module."""
    s = text.lstrip()
    return s.startswith("(") or s.startswith(";;")


def wat2wasm(text):
    """Translate WebAssembly text (WAT) to a Wasm binary; raises CompileError."""
    cdef wasm_byte_vec_t out
    if isinstance(text, str):
        try:
            data = (<str>text).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise CompileError("WAT text is not valid Unicode: %s" % exc) from None
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
        cdef Engine e
        if self._ptr != NULL:
            raise WasmError("Module is already initialized")
        e = _engine_arg(engine)
        data = _wasm_bytes(source)
        err = wasmtime_module_new(e._engine(), <const uint8_t *><char *>data, len(data), &m)
        if err != NULL:
            _raise_error(err, CompileError)
        if self._ptr != NULL:  # initialized meanwhile, by code run to read the source
            wasmtime_module_delete(m)
            raise WasmError("Module is already initialized")
        self.engine = e
        self._ptr = m

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_module_delete(self._ptr)
            self._ptr = NULL

    @staticmethod
    cdef Module _wrap(Engine engine, wasmtime_module_t *m):
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
        """Compile a file: a Wasm binary or WAT text, told apart by content."""
        with open(_os.fspath(path), "rb") as f:
            data = f.read()
        try:
            return Module(engine, data)
        except CompileError as exc:
            raise CompileError("%s: %s" % (_os.fsdecode(path), exc)) from None

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
        return Module._wrap(e, m)

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
        if self._ptr == NULL:
            return "<wasmbind.Module (uninitialized)>"
        return "<wasmbind.Module imports=%d exports=%d>" % (len(self.imports), len(self.exports))
