# Errors: the one place engine failures become Python exceptions (a leaf:
# engine error or trap in, exception out; what needs a Store is in store.pxi).

import re as _re
from wasmbind import errors as _errors
from wasmbind.errors import Trap, TrapCode, WasmError


_CAUSE_NUMBER = _re.compile(r"\d+: ")


cdef str _name_to_str(const wasm_name_t *name):
    """A name from the engine (an import, export, function or module name),
    exactly: names are length-delimited, so NUL bytes are part of them. The
    engine only hands out valid UTF-8 (it refuses modules whose names are
    not); should it ever not, the bytes survive as lone surrogates
    (surrogateescape) instead of an exception here."""
    if name == NULL:
        return None
    if name.data == NULL or name.size == 0:
        return ""
    return (<char *>name.data)[:name.size].decode("utf-8", "surrogateescape")


cdef bytes _name_bytes(object name, str what):
    """A name given to the engine or looked up in it, as the bytes it stands
    for: the inverse of _name_to_str (UTF-8, surrogateescape), so every name
    the engine hands out finds the same item again. A str with other lone
    surrogates stands for no bytes at all: ValueError."""
    if not isinstance(name, str):
        raise TypeError("%s must be a str, not %s" % (what, type(name).__name__))
    try:
        return (<str>name).encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise ValueError("%s %r has no UTF-8 form (it contains a lone surrogate)"
                         % (what, name)) from None


cdef str _take_message(wasm_name_t *vec):
    """An engine message (text, sometimes NUL-terminated), freeing the vector."""
    cdef Py_ssize_t n
    try:
        if vec.data == NULL:
            return None
        n = vec.size
        while n > 0 and vec.data[n - 1] == 0:
            n -= 1
        return (<char *>vec.data)[:n].decode("utf-8", "replace")
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
