# WASI preview 1: WasiConfig (argv, env, stdio, preopened directories) and
# the buffers that capture a program's stdout and stderr (csrc/wasmbind_capture.h).

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
        host = _os.fspath(host_path)
        if not isinstance(guest_path, str):
            raise TypeError("guest_path must be a str")
        if "\0" in str(host) or "\0" in guest_path:
            raise ValueError("preopen paths cannot contain NUL characters")
        if not _os.path.isdir(host):
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

    cdef tuple _apply(self, wasmtime_context_t *ctx):
        """Gives the store behind ``ctx`` this environment; returns the new
        capture buffers (stdout, stderr) as _CapturePtr or None."""
        cdef wasi_config_t *c
        cdef wasm_byte_vec_t vec
        cdef const char **names = NULL
        cdef const char **values = NULL
        cdef wb_capture_t *cap
        cdef Py_ssize_t i, n
        cdef const char *cp
        cdef bint ok
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
                if names == NULL:
                    raise MemoryError()
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
                if names == NULL or values == NULL:
                    raise MemoryError()
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
                p = _stdio_path("stdin", self.stdin_file, False)
                cp = p
                with nogil:  # the engine opens the file now
                    ok = wasi_config_set_stdin_file(c, cp)
                if not ok:
                    raise FileNotFoundError("WASI stdin: cannot open %r" % (self.stdin_file,))
            elif self.inherit_stdin:
                wasi_config_inherit_stdin(c)
            new_out = _output(c, self.capture_stdout, self.stdout_file, self.inherit_stdout, 1,
                              self.max_output)
            new_err = _output(c, self.capture_stderr, self.stderr_file, self.inherit_stderr, 2,
                              self.max_output)
            for host, guest, ro in self.preopens:
                h = _os.fsencode(host)
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
        return new_out, new_err

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
    cdef wb_capture_t *cap
    cdef _CapturePtr holder
    cdef const char *cp
    cdef bint ok
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
    return PyBytes_FromStringAndSize(<char *>c.data, c.len)
