# Modules: WAT to binary, the one sniffer of module sources, Module.

cdef bytes _wasm_bytes(object source):
    """Turns a Module source into a Wasm binary: the one place that tells them
    apart. A str is WAT; bytes-like data is a binary when it has the binary's
    magic header, else it must be UTF-8 WAT text."""
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
        text = None
    if text is None or (text.strip() and not _looks_like_wat(text)):
        raise CompileError("not a WebAssembly module: no \\0asm header and not WAT text")
    return wat2wasm(text)


def _looks_like_wat(str text):
    """Whether text starts as WAT does (``(`` or a comment): tells WAT from a
    binary's bytes here, and WAT from a file name in wasi.load_module."""
    s = text.lstrip()
    return s.startswith("(") or s.startswith(";;")


# Inputs at least this large are translated, validated, compiled or loaded
# without the GIL, so other threads run meanwhile (the bytes object stays
# referenced and is immutable). Smaller ones take too little time for the
# hand-off to pay, and would then wait for the GIL to come back.
cdef size_t _NOGIL_BYTES = 16 * 1024


cdef wasmtime_module_t *_compile(Engine engine, bytes data) except NULL:
    """Compiles a Wasm binary for ``engine``; raises CompileError."""
    cdef wasm_engine_t *e = engine._compile_engine()
    cdef const uint8_t *p = <const uint8_t *><char *>data
    cdef size_t n = len(data)
    cdef wasmtime_module_t *m = NULL
    cdef wasmtime_error_t *err
    if n >= _NOGIL_BYTES:
        wb_unlocked_begin()
        with nogil:
            err = wasmtime_module_new(e, p, n, &m)
            wb_unlocked_end()
    else:
        err = wasmtime_module_new(e, p, n, &m)
    if err != NULL:
        _raise_error(err, CompileError)
    if e != engine._ptr:
        m = _rehome(engine, m)
    return m


cdef wasmtime_module_t *_rehome(Engine engine, wasmtime_module_t *m) except NULL:
    """Moves a module compiled by the engine's serial twin (after a fork) to
    the engine itself; takes ``m``."""
    cdef wasm_byte_vec_t out
    err = wasmtime_module_serialize(m, &out)
    wasmtime_module_delete(m)
    if err != NULL:
        _raise_error(err)
    try:
        return _load(engine, <const uint8_t *>out.data, out.size, True)
    finally:
        wasm_byte_vec_delete(&out)


cdef wasmtime_module_t *_load(Engine engine, const uint8_t *p, size_t n, bint twin) except NULL:
    """Loads serialized code into ``engine``; raises CompileError."""
    cdef wasm_engine_t *e = engine._engine()
    cdef wasmtime_module_t *m = NULL
    cdef wasmtime_error_t *err
    if n >= _NOGIL_BYTES:
        wb_unlocked_begin()
        with nogil:
            err = wasmtime_module_deserialize(e, p, n, &m)
            wb_unlocked_end()
    else:
        err = wasmtime_module_deserialize(e, p, n, &m)
    if err != NULL:
        if twin:
            try:
                message = _error_message(err)
            finally:
                wasmtime_error_delete(err)
            raise WasmError("this Engine was made before os.fork() and cannot compile in the "
                            "child (%s): make a new Engine in the child" % message)
        _raise_error(err, CompileError)
    return m


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
    cdef const char *p = <const char *>data
    cdef size_t n = len(data)
    if n >= _NOGIL_BYTES:
        wb_unlocked_begin()
        with nogil:
            err = wasmtime_wat2wasm(p, n, &out)
            wb_unlocked_end()
    else:
        err = wasmtime_wat2wasm(p, n, &out)
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
        if self._ptr != NULL:
            raise WasmError("Module is already initialized")
        self.engine = _engine_arg(engine)
        self._ptr = _compile(self.engine, _wasm_bytes(source))

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
        cdef bytes data = _wasm_bytes(source)
        cdef wasm_engine_t *ce = e._compile_engine()
        cdef const uint8_t *p = <const uint8_t *><char *>data
        cdef size_t n = len(data)
        if n >= _NOGIL_BYTES:
            wb_unlocked_begin()
            with nogil:
                err = wasmtime_module_validate(ce, p, n)
                wb_unlocked_end()
        else:
            err = wasmtime_module_validate(ce, p, n)
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
        cdef bytes buf
        try:
            buf = bytes(memoryview(data).cast("B"))
        except TypeError:
            raise TypeError("deserialize() takes bytes-like data, not %s" % type(data).__name__) from None
        return Module._wrap(e, _load(e, <const uint8_t *><char *>buf, len(buf), False))

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
