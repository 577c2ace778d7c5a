# table64: tables with 64-bit indices (memory64 proposal). Wasmtime's C API
# can neither make a 64-bit table type nor tell one apart, and its
# wasm_tabletype_limits() aborts the process on a limit above 2**32-1 (a
# panic across the C boundary). So: every module's table types are read from
# its binary here before the engine's accessors may see them; modules with
# such limits are refused; the index type of a module's tables comes from the
# binary, tables made from Python are instantiated from a generated module.

from wasmbind.errors import CompileError, LinkError
from wasmbind.types import TableType

_U32_MAX = 0xFFFFFFFF


cdef class _Reader:
    """A cursor over one Wasm binary (LEB128 and the few encodings needed)."""
    cdef bytes data
    cdef Py_ssize_t pos, end

    def __init__(self, bytes data, Py_ssize_t pos, Py_ssize_t end):
        self.data = data
        self.pos = pos
        self.end = end

    cdef int byte(self) except -1:
        if self.pos >= self.end:
            raise ValueError("truncated")
        b = self.data[self.pos]
        self.pos += 1
        return b

    cdef object uleb(self):
        cdef int b
        result = 0
        shift = 0
        while True:
            b = self.byte()
            result |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                return result
            if shift > 70:
                raise ValueError("LEB128 too long")

    cdef int skip_name(self) except -1:
        n = self.uleb()
        self.pos += n
        if self.pos > self.end:
            raise ValueError("truncated")
        return 0

    cdef int heaptype(self) except -1:
        self.uleb()  # s33: one byte for abstract types, a type index otherwise
        return 0

    cdef int valtype(self) except -1:
        cdef int b = self.byte()
        if b == 0x63 or b == 0x64:  # (ref null ht), (ref ht)
            self.heaptype()
        elif b == 0x65:  # shared heap type
            self.heaptype()
        return 0

    cdef tuple limits(self, bint memory):
        """(is64, minimum, maximum or None)."""
        cdef int flags = self.byte()
        minimum = self.uleb()
        maximum = self.uleb() if flags & 1 else None
        if memory and flags & 8:
            self.uleb()  # custom page size
        return (bool(flags & 4), minimum, maximum)

    cdef int const_expr(self) except -1:
        """Skips a constant expression, through its ``end``."""
        cdef int op
        while True:
            op = self.byte()
            if op == 0x0B:
                return 0
            if op in (0x41, 0x42, 0x23, 0xD2):  # i32/i64.const, global.get, ref.func
                self.uleb()
            elif op == 0x43:
                self.pos += 4
            elif op == 0x44:
                self.pos += 8
            elif op == 0xD0:  # ref.null ht
                self.heaptype()
            elif op == 0xFD:  # v128.const
                self.uleb()
                self.pos += 16
            elif op == 0xFB:  # GC: struct.new, array.new(_default/_fixed), ref.i31, conversions
                sub = self.uleb()
                if sub in (0, 1, 6, 7):
                    self.uleb()
                elif sub == 8:
                    self.uleb()
                    self.uleb()
            elif op in (0x6A, 0x6B, 0x6C, 0x7C, 0x7D, 0x7E):
                pass  # i32/i64 add, sub, mul (extended constant expressions)
            else:
                raise ValueError("unexpected opcode 0x%02x in a constant expression" % op)


cdef tuple _scan_tables(bytes data):
    """The tables of a module binary: (is64 of each table import in import
    order, {export name: is64}, every table's limits). None if the bytes are
    not a core module this reader knows."""
    cdef _Reader r
    cdef int sid, kind
    if len(data) < 8 or data[:4] != b"\0asm" or data[4:8] != b"\x01\0\0\0":
        return None
    imported = []          # is64 per imported table
    tables = []            # (is64, min, max) per table index
    exports = {}
    r = _Reader(data, 8, len(data))
    while r.pos < r.end:
        sid = r.byte()
        size = r.uleb()
        start = r.pos
        r.end = start + size
        if sid == 2:  # imports
            for _ in range(r.uleb()):
                r.skip_name()
                r.skip_name()
                kind = r.byte()
                if kind == 0:
                    r.uleb()
                elif kind == 1:
                    r.valtype()
                    lim = r.limits(False)
                    imported.append(lim[0])
                    tables.append(lim)
                elif kind == 2:
                    r.limits(True)
                elif kind == 3:
                    r.valtype()
                    r.byte()
                elif kind == 4:
                    r.byte()
                    r.uleb()
                else:
                    raise ValueError("unknown import kind %d" % kind)
        elif sid == 4:  # tables
            for _ in range(r.uleb()):
                if r.data[r.pos] == 0x40:  # a table with an initializer
                    r.pos += 2
                    r.valtype()
                    lim = r.limits(False)
                    r.const_expr()
                else:
                    r.valtype()
                    lim = r.limits(False)
                tables.append(lim)
        elif sid == 7:  # exports
            for _ in range(r.uleb()):
                n = r.uleb()
                name = r.data[r.pos:r.pos + n].decode("utf-8", "surrogateescape")
                r.pos += n
                kind = r.byte()
                index = r.uleb()
                if kind == 1 and index < len(tables):
                    exports[name] = tables[index][0]
        r.pos = start + size
        r.end = len(data)
    return (tuple(imported), exports, tuple(tables))


cdef object _check_tables(Engine engine, bytes data):
    """Reads a module binary's tables before the engine's type accessors can:
    refuses a table whose limits the C API cannot report (it would abort the
    process); returns what _scan_tables found (None when memory64 is off:
    then every table has 32-bit indices and limits)."""
    if not engine.config.proposal_enabled("wasm_memory64"):
        return None
    try:
        found = _scan_tables(data)
    except (ValueError, IndexError) as exc:
        raise CompileError("wasmbind could not read the module's table types (%s)" % exc) from None
    if found is None:
        return None
    for is64, minimum, maximum in found[2]:
        if minimum > _U32_MAX or (maximum is not None and maximum > _U32_MAX):
            raise CompileError("a table's limits exceed 2**32-1 elements (table64): Wasmtime's C API "
                               "cannot report such a table type, so wasmbind refuses the module")
    return found


cdef list _mark_table64(list types, object flags):
    """The module's TableTypes with their index type, as read from the binary;
    ``flags`` gives is64 per table, in the order the tables occur in ``types``."""
    cdef list out = []
    it = iter(flags)
    for t in types:
        if isinstance(t, TableType):
            if next(it, False):
                t = TableType(t.element, t.minimum, t.maximum, table64=True)
        out.append(t)
    return out


# ---- tables with 64-bit indices made from Python ------------------------------

_TABLE64_WAT = """(module
  (table (export "t") i64 %d %s %s)
  (func (export "fill") (param %s)
    (table.fill 0 (i64.const 0) (local.get 0) (i64.const %d))))"""


cdef Table _new_table64(Store store, object tt, object init):
    """A table of type ``tt`` (table64) in ``store``, every element ``init``."""
    cdef Engine engine = store.engine
    if not engine.config.proposal_enabled("wasm_memory64"):
        raise WasmError("a table with 64-bit indices (table64) needs an Engine with "
                        "Config(wasm_memory64=True)")
    elem = tt.element.name
    wat = _TABLE64_WAT % (tt.minimum, "" if tt.maximum is None else "%d" % tt.maximum,
                          elem, elem, tt.minimum)
    inst = Instance(store, Module(engine, wat))
    table = inst.exports["t"]
    if init is not None:
        inst.exports["fill"](init)
    return table


cdef bint _table_is64(Table t, object element) except -1:
    """Whether ``t`` has 64-bit indices; once per Table, and only on engines
    with memory64, by trying it as the import of a 64-bit table (the engine's
    import check compares index types; the C API reports none)."""
    if t._index_kind == 0:
        if not t.store.engine.config.proposal_enabled("wasm_memory64"):
            t._index_kind = 1
        else:
            probe = Module(t.store.engine, '(module (import "" "t" (table i64 0 %s)))' % element.name)
            try:
                Instance(t.store, probe, [t])
                t._index_kind = 2
            except LinkError:
                t._index_kind = 1
    return t._index_kind == 2
