# WASI preview 1: WasiConfig (argv, env, stdio, preopened directories) and
# the buffers that capture a program's stdout and stderr (csrc/wasmbind_capture.h).

import errno
import os as _os
import sys as _sys
import stat as _stat
from collections.abc import Mapping as _Mapping


_CAPTURE_LIMIT = 1 << 30


cdef bytes _wasi_text(object v, str what):
    """An argv item, environment name or value as the bytes the program sees:
    a str (as UTF-8) or bytes (as they are). The engine carries only UTF-8
    text without NUL characters."""
    cdef bytes b
    if isinstance(v, str):
        try:
            b = (<str>v).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("%s %r is not valid UTF-8 text (WASI in this engine carries only "
                             "UTF-8); lone surrogates come from undecodable bytes" % (what, v)) from None
    elif isinstance(v, bytes):
        b = <bytes>v
        try:
            b.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("%s %r is not valid UTF-8 (WASI in this engine carries only UTF-8)"
                             % (what, v)) from None
    else:
        raise TypeError("%s must be str or bytes, not %s" % (what, type(v).__name__))
    if b"\0" in b:
        raise ValueError("%s cannot contain NUL characters: %r" % (what, v))
    return b


cdef bytes _host_path(object path, str what):
    """A host path (str, bytes or os.PathLike) as the bytes the OS sees."""
    try:
        p = _os.fspath(path)
    except TypeError:
        raise TypeError("%s must be a path (str, bytes or os.PathLike), not %s"
                        % (what, type(path).__name__)) from None
    cdef bytes b = _os.fsencode(p)
    if b"\0" in b:  # C strings end at the first NUL: the path would name another file
        raise ValueError("%s cannot contain NUL characters: %r" % (what, p))
    if not b:
        raise ValueError("%s is empty" % what)
    return b


cdef bint _flag(object v, str what) except -1:
    """A yes/no setting: True or False (or the ints 1 and 0), nothing else that
    happens to be truthy, such as the string "no"."""
    if v is True or v is False or (type(v) is int and (v == 0 or v == 1)):
        return v
    raise TypeError("%s must be True or False, not %r" % (what, v))


cdef tuple _preopen_entry(object host_path, object guest_path, object read_only):
    """A checked preopen: (host path as given, guest path, read_only)."""
    host = _os.fspath(host_path) if isinstance(host_path, _os.PathLike) else host_path
    _host_path(host, "preopen host path")
    if not isinstance(guest_path, str):
        raise TypeError("preopen guest path must be a str, not %s" % type(guest_path).__name__)
    if not guest_path:
        raise ValueError("preopen guest path is empty")
    _wasi_text(guest_path, "preopen guest path")
    read_only = bool(_flag(read_only, "preopen read_only"))
    if not _os.path.isdir(host):
        raise FileNotFoundError("preopen: %r is not a directory" % (host,))
    return (host, guest_path, read_only)


cdef list _argv_items(object argv):
    if isinstance(argv, (str, bytes, bytearray, memoryview)) or not hasattr(argv, "__iter__"):
        raise TypeError("argv must be a list of str or bytes, not %s" % type(argv).__name__)
    return list(argv)


cdef list _preopen_specs(object specs):
    """Preopens given as a list of (host, guest) or (host, guest, read_only)."""
    if isinstance(specs, (str, bytes, bytearray, memoryview, _os.PathLike)) or not hasattr(specs, "__iter__"):
        raise TypeError("preopens must be a list of (host, guest, read_only) tuples, not %s"
                        % type(specs).__name__)
    out = []
    for spec in specs:
        if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
            raise TypeError("a preopen is (host, guest) or (host, guest, read_only), not %r" % (spec,))
        out.append((spec[0], spec[1], spec[2] if len(spec) == 3 else False))
    return out


cdef list _inherited_argv():
    """The host process's arguments (what the engine's own inherit_argv would
    copy, read here: the engine aborts the process on a non-UTF-8 one)."""
    argv = getattr(_sys, "orig_argv", None) or [_sys.executable] + list(_sys.argv)
    return [_os.fsencode(a) for a in argv]


cdef object _inherited_env():
    """The host environment (read here for the reason of _inherited_argv)."""
    return _os.environb if _os.supports_bytes_environ else _os.environ


cdef class WasiConfig:
    """The environment of a WASI (preview 1) program; apply with ``Store.set_wasi``.

    Keywords and attributes: ``argv`` (list of str or bytes, program name
    first), ``env`` (mapping of str or bytes), ``inherit_argv``,
    ``inherit_env``; stdin: ``stdin_bytes``, ``stdin_file`` or
    ``inherit_stdin``; stdout/stderr: ``capture_stdout`` (bytes in memory, read
    back from ``Store.wasi_stdout``), ``stdout_file`` or ``inherit_stdout``
    (likewise for stderr); ``max_output`` caps captured bytes per stream
    (writes past it fail in a preview-1 guest; a component's are dropped).
    Directories: ``preopen_dir`` (or the ``preopens`` list of ``(host,
    guest, read_only)``). By default the program
    sees no arguments, no environment, empty stdin, discarded output and no
    files.

    Text reaches the program as UTF-8: a str is encoded, bytes are passed as
    they are (and must be UTF-8: the engine carries nothing else). Paths may
    be str, bytes or os.PathLike, in any encoding the OS takes. The
    constructor checks its arguments; attributes may be changed afterwards,
    and every one is checked again, the same way, when the config is applied.
    A WasiConfig pickles as its fields (its paths then name files of the
    machine that unpickles it).
    """
    cdef public object argv, env, preopens
    cdef public object inherit_argv, inherit_env, inherit_stdin, inherit_stdout, inherit_stderr
    cdef public object capture_stdout, capture_stderr
    cdef public object stdin_bytes, stdin_file, stdout_file, stderr_file
    cdef public object max_output

    def __init__(self, *, argv=None, env=None, inherit_argv=False, inherit_env=False,
                 stdin_bytes=None, stdin_file=None, inherit_stdin=False,
                 capture_stdout=False, stdout_file=None, inherit_stdout=False,
                 capture_stderr=False, stderr_file=None, inherit_stderr=False,
                 max_output=_CAPTURE_LIMIT, preopens=()):
        self.argv = [] if argv is None else list(_argv_items(argv))
        if env is not None and not isinstance(env, _Mapping):
            raise TypeError("env must be a mapping, not %s" % type(env).__name__)
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
        for p in _preopen_specs(preopens):
            self.preopen_dir(*p)
        self._check()

    def preopen_dir(self, host_path, guest_path, read_only=False):
        """Let the program see host directory ``host_path`` as ``guest_path``."""
        entry = _preopen_entry(host_path, guest_path, read_only)
        if not isinstance(self.preopens, list):
            self.preopens = list(_preopen_specs(self.preopens))
        self.preopens.append(entry)

    def _check(self):
        """Checks every attribute; returns what _apply gives the engine:
        (argv bytes, env name bytes, env value bytes, preopens)."""
        flags = {}
        for name in ("inherit_argv", "inherit_env", "inherit_stdin", "inherit_stdout",
                     "inherit_stderr", "capture_stdout", "capture_stderr"):
            flags[name] = _flag(getattr(self, name), "WasiConfig." + name)
        for name, v in (("stdin", (self.stdin_bytes is not None, self.stdin_file is not None,
                                   flags["inherit_stdin"])),
                        ("stdout", (flags["capture_stdout"], self.stdout_file is not None,
                                    flags["inherit_stdout"])),
                        ("stderr", (flags["capture_stderr"], self.stderr_file is not None,
                                    flags["inherit_stderr"]))):
            if sum(v) > 1:
                raise ValueError("WasiConfig: choose one source/destination for %s" % name)
        if self.stdin_bytes is not None and not PyObject_CheckBuffer(self.stdin_bytes):
            raise TypeError("WasiConfig.stdin_bytes must be bytes-like, not %s"
                            % type(self.stdin_bytes).__name__)
        for name in ("stdin_file", "stdout_file", "stderr_file"):
            path = getattr(self, name)
            if path is not None:
                _host_path(path, "WasiConfig." + name)
        mo = self.max_output
        if not isinstance(mo, int) or isinstance(mo, bool):
            raise TypeError("WasiConfig.max_output must be an int, not %s" % type(mo).__name__)
        if not 0 <= mo <= _sys.maxsize:
            raise ValueError("WasiConfig.max_output must be in [0, %d], got %d" % (_sys.maxsize, mo))
        argv = _inherited_argv() if flags["inherit_argv"] else self.argv
        args = [_wasi_text(a, "argv item") for a in _argv_items(argv)]
        env = _inherited_env() if flags["inherit_env"] else self.env
        if not isinstance(env, _Mapping):
            raise TypeError("WasiConfig.env must be a mapping, not %s" % type(env).__name__)
        names = []
        values = []
        for k, v in env.items():
            kb = _wasi_text(k, "environment variable name")
            if not kb or b"=" in kb:
                raise ValueError("invalid environment variable name %r" % (k,))
            names.append(kb)
            values.append(_wasi_text(v, "environment variable %r" % (k,)))
        preopens = [_preopen_entry(h, g, ro) for h, g, ro in _preopen_specs(self.preopens)]
        return args, names, values, preopens

    cdef tuple _apply(self, wasmtime_context_t *ctx, bint pipe):
        """Gives the store behind ``ctx`` this environment; returns the new
        capture buffers (stdout, stderr) as _CapturePtr or None. ``pipe``:
        capture through a pipe (for components, see _output)."""
        cdef wasi_config_t *c
        cdef wasm_byte_vec_t vec
        cdef const char **names = NULL
        cdef const char **values = NULL
        cdef wb_capture_t *cap
        cdef Py_ssize_t i, n
        cdef list fds = []
        cdef const char *cp
        cdef bint ok
        args, env_names, env_values, preopens = self._check()
        c = wasi_config_new()
        if c == NULL:
            raise MemoryError()
        try:
            n = len(args)
            names = <const char **>PyMem_Malloc((n + 1) * sizeof(char *))
            if names == NULL:
                raise MemoryError()
            for i in range(n):
                names[i] = <const char *>args[i]
            if not wasi_config_set_argv(c, n, names):
                raise ValueError("WASI rejected argv")
            PyMem_Free(names)
            names = NULL
            n = len(env_names)
            names = <const char **>PyMem_Malloc((n + 1) * sizeof(char *))
            values = <const char **>PyMem_Malloc((n + 1) * sizeof(char *))
            if names == NULL or values == NULL:
                raise MemoryError()
            for i in range(n):
                names[i] = <const char *>env_names[i]
                values[i] = <const char *>env_values[i]
            if not wasi_config_set_env(c, n, names, values):
                raise ValueError("WASI rejected env")
            if self.stdin_bytes is not None:
                data = bytes(memoryview(self.stdin_bytes).cast("B"))
                wasm_byte_vec_new(&vec, len(data), <const wasm_byte_t *><char *>data)
                wasi_config_set_stdin_bytes(c, &vec)
            elif self.stdin_file is not None:
                p = _stdio_path("stdin", _engine_path(self.stdin_file, fds, False), False)
                cp = p
                with nogil:  # the engine opens the file now
                    ok = wasi_config_set_stdin_file(c, cp)
                if not ok:
                    raise FileNotFoundError("WASI stdin: cannot open %r" % (self.stdin_file,))
            elif self.inherit_stdin:
                wasi_config_inherit_stdin(c)
            new_out = _output(c, self.capture_stdout, _engine_path(self.stdout_file, fds, True),
                              self.inherit_stdout, 1, self.max_output, pipe, fds)
            new_err = _output(c, self.capture_stderr, _engine_path(self.stderr_file, fds, True),
                              self.inherit_stderr, 2, self.max_output, pipe, fds)
            for host, guest, ro in preopens:
                h = _os.fsencode(_engine_path(host, fds, False))
                g = guest.encode("utf-8")
                if not wasi_config_preopen_dir(c, h, g, not ro):
                    raise FileNotFoundError("WASI could not preopen %r" % (host,))
        except BaseException:
            PyMem_Free(names)
            PyMem_Free(values)
            wasi_config_delete(c)
            raise
        finally:
            for fd in fds:  # the engine has opened its own by now
                _os.close(fd)
        PyMem_Free(names)
        PyMem_Free(values)
        err = wasmtime_context_set_wasi(ctx, c)  # takes the config
        if err != NULL:
            _raise_error(err)
        return new_out, new_err

    def __repr__(self):
        return "<wasmbind.WasiConfig argv=%r>" % (self.argv,)

    def __reduce__(self):
        # as its fields, through __init__: checked again where it arrives
        # (a preopened directory must exist on that machine)
        fields = {name: getattr(self, name) for name in _WASI_FIELDS}
        fields["preopens"] = list(self.preopens)
        return (_wasi_config_from_fields, (fields,))


_WASI_FIELDS = ("argv", "env", "inherit_argv", "inherit_env", "stdin_bytes", "stdin_file",
                "inherit_stdin", "capture_stdout", "stdout_file", "inherit_stdout",
                "capture_stderr", "stderr_file", "inherit_stderr", "max_output")


def _wasi_config_from_fields(fields):
    """Rebuilds a pickled WasiConfig (the stable name its pickles call)."""
    return WasiConfig(**fields)


cdef object _engine_path(object path, list fds, bint create):
    """A host path the way the engine can take it (it accepts only UTF-8
    paths): ``path`` itself when it is UTF-8 (or None); else the path is opened
    here (O_PATH, no I/O) and given as /proc/self/fd/N, the descriptor added
    to ``fds`` to close once the engine has opened its own. ``create``: an
    output file, made first when missing (O_PATH cannot create)."""
    if path is None:
        return None
    cdef bytes b = _host_path(path, "path")
    try:
        b.decode("utf-8")
        return path
    except UnicodeDecodeError:
        pass
    o_path = getattr(_os, "O_PATH", 0)
    if not o_path or not _os.path.isdir("/proc/self/fd"):
        raise ValueError("%r is not valid UTF-8, and the engine takes only UTF-8 paths on "
                         "this system" % (_os.fsdecode(b),))
    if create and not _os.path.lexists(b):
        _os.close(_os.open(b, _os.O_WRONLY | _os.O_CREAT | _os.O_EXCL | _os.O_CLOEXEC, 0o666))
    fd = _os.open(b, o_path | _os.O_CLOEXEC)
    fds.append(fd)
    return b"/proc/self/fd/%d" % fd


cdef class _CapturePtr:
    """Holds the store's reference to a capture buffer until the store takes it."""
    cdef wb_capture_t *ptr

    def __dealloc__(self):
        wb_capture_decref(self.ptr)

    cdef wb_capture_t *take(self):
        cdef wb_capture_t *p = self.ptr
        self.ptr = NULL
        return p


cdef object _output(wasi_config_t *c, bint capture, object path, bint inherit, int fd,
                    Py_ssize_t limit, bint pipe, list fds):
    """Sets one output stream; returns the capture buffer (one reference for the store).

    A captured stream is by default the engine's custom stream: writes past
    the limit fail in the guest (EIO). WASI preview 2 passes only the first
    8 KiB of one write to such a stream and drops the rest, so with ``pipe``
    (Linux) the engine gets, as its output file, a pipe that a thread of ours
    drains into the same bounded buffer: every byte up to the limit is kept,
    later ones are read and dropped (the guest's writes succeed; the flag says
    so), and memory stays within the limit plus the pipe's own buffer."""
    cdef wb_capture_t *cap
    cdef _CapturePtr holder
    cdef const char *cp
    cdef bint ok
    cdef int wfd = -1
    cdef int rc
    if capture and pipe and _os.path.isdir("/proc/self/fd"):
        cap = wb_capture_new(limit)
        if cap == NULL:
            raise MemoryError()
        holder = _CapturePtr.__new__(_CapturePtr)
        holder.ptr = cap
        rc = wb_capture_pipe_start(cap, &wfd)
        if rc == 0:
            fds.append(wfd)  # closed by _apply once the engine has opened its own
            p = b"/proc/self/fd/%d" % wfd
            cp = p
            with nogil:  # opening a pipe for writing: its read end is open, no wait
                if fd == 1:
                    ok = wasi_config_set_stdout_file(c, cp)
                else:
                    ok = wasi_config_set_stderr_file(c, cp)
            if not ok:
                raise OSError("WASI: cannot open the capture pipe for output")
            return holder
        if rc != -errno.ENOSYS:
            raise OSError(-rc, "WASI: cannot make the capture pipe: " + _os.strerror(-rc))
        holder = None  # no pipes here: the custom stream below
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
        p = _stdio_path("stdout" if fd == 1 else "stderr", path, True)
        cp = p
        with nogil:  # the engine opens the file now
            if fd == 1:
                ok = wasi_config_set_stdout_file(c, cp)
            else:
                ok = wasi_config_set_stderr_file(c, cp)
        if not ok:
            raise FileNotFoundError("WASI: cannot open %r for output" % (path,))
    elif inherit:
        if fd == 1:
            wasi_config_inherit_stdout(c)
        else:
            wasi_config_inherit_stderr(c)
    return None


cdef bytes _stdio_path(str stream, object path, bint output):
    """The encoded path of a file for a WASI stream, refused unless it is a
    regular file or a character device such as /dev/null (or, for output, does
    not exist yet): opening a FIFO waits for its other end, without end and
    out of reach of Ctrl-C inside the engine."""
    p = _os.fsencode(path)
    try:
        mode = _os.stat(p).st_mode
    except FileNotFoundError:
        if output:
            return p
        raise FileNotFoundError("WASI stdin: no such file: %r" % (path,)) from None
    except OSError:
        return p  # the engine's open reports it
    if _stat.S_ISREG(mode) or _stat.S_ISCHR(mode):
        return p
    kind = ("a FIFO" if _stat.S_ISFIFO(mode) else "a socket" if _stat.S_ISSOCK(mode)
            else "a directory" if _stat.S_ISDIR(mode) else "not a regular file")
    raise ValueError("WASI %s: %r is %s: only regular files and character devices can be "
                     "opened (a FIFO would block until its other end is opened); pass the "
                     "data as bytes, or capture or inherit the stream" % (stream, path, kind))


cdef object _capture_bytes(wb_capture_t *c):
    if c == NULL:
        return None
    wb_capture_lock(c)  # in pipe mode: what the pipe holds first
    try:
        return PyBytes_FromStringAndSize(<char *>c.data, c.len)
    finally:
        wb_capture_unlock(c)


cdef bint _capture_cut(wb_capture_t *c):
    """Whether a capture buffer hit its limit."""
    cdef bint cut
    if c == NULL:
        return False
    wb_capture_lock(c)
    cut = c.overflowed != 0
    wb_capture_unlock(c)
    return cut
