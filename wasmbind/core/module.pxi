# Modules: WAT to binary, the one sniffer of module sources, Module and its
# pickles (the payload is built here; loading it is wasmbind/pickling.py's).

import os as _os
import pickle as _pickle_module
from wasmbind.config import Config
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
    if type(source) is bytes and (<bytes>source)[:4] == b"\0asm":
        return source  # immutable already: no copy
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
        return _load_serialized(engine, <const uint8_t *>out.data, out.size, True)
    finally:
        wasm_byte_vec_delete(&out)


cdef wasmtime_module_t *_load_serialized(Engine engine, const uint8_t *p, size_t n, bint twin) except NULL:
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

    A Module pickles (see :mod:`wasmbind.pickling`): by default as the engine's
    compiled artifact plus the Wasm binary, loaded on the other side when its
    engine matches and recompiled from the binary otherwise. A Module keeps its
    Wasm binary for that (a module made by :meth:`deserialize` has none).
    ``copy.copy`` and ``copy.deepcopy`` return the module itself: it is immutable.
    """

    def __init__(self, engine, source):
        cdef wasmtime_module_t *m = NULL
        cdef Engine e
        if self._ptr != NULL:
            raise WasmError("Module is already initialized")
        e = _engine_arg(engine)
        data = _wasm_bytes(source)
        m = _compile(e, data)
        try:
            tables = _check_tables(e, data)  # before any type accessor sees the tables
        except BaseException:
            wasmtime_module_delete(m)
            raise
        if self._ptr != NULL:  # initialized meanwhile, by code run to read the source
            wasmtime_module_delete(m)
            raise WasmError("Module is already initialized")
        self._tables = tables
        self.engine = e
        self._ptr = m
        self._wasm = data

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
        """The compiled machine code as bytes, for :meth:`deserialize` later.

        The bytes are native code for this engine version, target and engine
        options; see :meth:`deserialize` before loading them anywhere.
        """
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

        Trust: the bytes are native machine code. The engine checks that they
        were made by a compatible engine (version, target, options), but not
        what the code does: loading them runs that code outside the sandbox
        that Wasm gets. Never deserialize bytes from an untrusted party;
        compile the Wasm binary instead (compiling validates it, and compiled
        Wasm stays in its sandbox). The same holds for module pickles that
        carry artifacts (see :mod:`wasmbind.pickling`).

        Bytes from an incompatible engine raise CompileError. The module has
        no Wasm binary, so it pickles as its artifact only.
        """
        cdef Engine e = _engine_arg(engine)
        cdef bytes buf
        try:
            buf = bytes(memoryview(data).cast("B"))
        except TypeError:
            raise TypeError("deserialize() takes bytes-like data, not %s" % type(data).__name__) from None
        return Module._wrap(e, _load_serialized(e, <const uint8_t *><char *>buf, len(buf), False))

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
            if self._tables is not None:
                marked = _mark_table64([x.type for x in out], self._tables[0])
                out = [ImportType(x.module, x.name, t) for x, t in zip(out, marked)]
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
            if self._tables is not None:
                out = [ExportType(x.name, _mark_table64([x.type], (self._tables[1].get(x.name),))[0])
                       for x in out]
            self._exports = tuple(out)
        return list(self._exports)

    def __repr__(self):
        if self._ptr == NULL:
            return "<wasmbind.Module (uninitialized)>"
        return "<wasmbind.Module imports=%d exports=%d>" % (len(self.imports), len(self.exports))

    # ---- pickling (the contract is in wasmbind/pickling.py)

    cdef bytes _artifact_bytes(self):
        if self._artifact is None:
            self._artifact = self.serialize()  # kept: a module sent with many tasks serializes once
        return self._artifact

    cdef str _content_digest(self):
        if self._digest is None:
            self._digest = _pickling().content_digest(
                self._wasm if self._wasm is not None else self._artifact_bytes())
        return self._digest

    def __reduce__(self):
        pickling = _pickling()
        ship_artifact = pickling.artifacts
        if self._wasm is None and not ship_artifact:
            raise TypeError("cannot pickle this Module with wasmbind.pickling.artifacts off: it was "
                            "made by Module.deserialize and has no Wasm binary to send instead")
        config = self.engine.config
        state = {
            "format": 1,
            "options": config.options(),
            "fingerprint": pickling.fingerprint(config),
            "wasm": self._wasm,
            "artifact": self._artifact_bytes() if ship_artifact else None,
        }
        return (_unpickle_module, (state,))

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self

    def __dask_tokenize__(self):
        # Dask's name for the module: its engine options and content (without
        # this, Dask would tokenize by pickling and unpickling it)
        return ("wasmbind.Module", _pickling().options_key(self.engine.config),
                self._content_digest())


cdef object _pickling_module = None


cdef object _pickling():
    global _pickling_module
    if _pickling_module is None:
        from wasmbind import pickling  # imported late: it imports this module
        _pickling_module = pickling
    return _pickling_module


def _unpickle_module(state):
    """Rebuilds a pickled Module: the stable name every Module pickle calls.

    Through the process's module cache (wasmbind.pickling): the same module
    (engine options, content) arriving again is the Module loaded before.
    """
    pickling = _pickling()
    if not isinstance(state, dict) or state.get("format") != 1:
        raise _pickle_module.UnpicklingError(
            "not a wasmbind Module pickle this version understands (made by a newer wasmbind?)")
    config = Config(**state["options"])
    wasm = state["wasm"]
    artifact = state["artifact"]
    if wasm is None and artifact is None:
        raise _pickle_module.UnpicklingError("a wasmbind Module pickle without a Wasm binary or artifact")
    engine = shared_engine(config)
    digest = pickling.content_digest(wasm if wasm is not None else artifact)
    key = (pickling.options_key(engine.config), digest)
    return pickling._cache.get_or_load(
        key, engine, lambda: _load_pickled(engine, wasm, artifact, state["fingerprint"], digest))


cdef Module _load_pickled(Engine engine, object wasm, object artifact, object fingerprint, str digest):
    """The artifact when it may be used (fingerprint equal to this process's
    engine, artifacts allowed) and the engine accepts it; else the binary."""
    cdef Module m = None
    pickling = _pickling()
    usable = (artifact is not None and pickling.artifacts
              and fingerprint == pickling.fingerprint(engine.config))
    if usable:
        try:
            m = Module.deserialize(engine, artifact)
        except WasmError as exc:
            if wasm is None:
                raise CompileError("the pickled Module's artifact does not load here (%s) and the "
                                   "pickle has no Wasm binary to compile instead" % exc) from None
            pickling._count("fallbacks")
        else:
            pickling._count("deserialized")
    if m is None:
        if wasm is None:
            why = ("loading artifacts is off (wasmbind.pickling.artifacts)" if artifact is not None
                   and not pickling.artifacts else
                   "its artifact was made for another engine (%s; here: %s)"
                   % (fingerprint, pickling.fingerprint(engine.config)))
            raise CompileError("cannot load the pickled Module: %s, and the pickle has no Wasm "
                               "binary to compile instead (it was made by Module.deserialize)" % why)
        m = Module(engine, wasm)
        pickling._count("compiled")
    m._wasm = wasm
    m._digest = digest
    return m
