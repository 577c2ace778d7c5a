# Tables (table64 ones: core/table64.pxi).

from wasmbind.types import TableType


@cython.final
cdef class Table(_StoreObject):
    """A table of references. ``Table(store, tabletype, init=None)``.

    ``len(table)``, ``table[i]``, ``table[i] = value``, ``table.grow(delta, init=None)``.
    """

    def __init__(self, Store store not None, tabletype, init=None):
        cdef wasm_tabletype_t *tt
        cdef Table made
        self._claim()
        store._context()
        if isinstance(tabletype, TableType) and tabletype.table64:
            made = _new_table64(store, tabletype, init)
            self._table = made._table
            self._index_kind = 2
            self.store = store
            return
        tt = _tabletype_new(tabletype)
        try:
            _give_value(store, tabletype.element, init, _TABLE_NEW, &self._table, tt, 0)
        finally:
            wasm_tabletype_delete(tt)
        self._index_kind = 1
        self.store = store

    @property
    def type(self):
        cdef wasm_tabletype_t *tt = wasmtime_table_type(self._context(), &self._table)
        try:
            t = _tabletype_py(tt)
        finally:
            wasm_tabletype_delete(tt)
        if _table_is64(self, t.element):
            t = TableType(t.element, t.minimum, t.maximum, table64=True)
        return t

    cdef object _element(self):
        cdef wasm_tabletype_t *tt = wasmtime_table_type(self._context(), &self._table)
        try:
            return _valtype_py(wasm_tabletype_element(tt))
        finally:
            wasm_tabletype_delete(tt)

    def __len__(self):
        return wasmtime_table_size(self._context(), &self._table)

    cdef uint64_t _checked_index(self, object i) except? 0xFFFFFFFFFFFFFFFF:
        cdef uint64_t n = wasmtime_table_size(self._context(), &self._table)
        index = _as_index(i, "table index")
        if not -<object>n <= index < n:
            raise IndexError("table index %d out of range (table has %d elements)" % (index, n))
        return index + n if index < 0 else index

    def __getitem__(self, i):
        cdef uint64_t idx = self._checked_index(i)
        cdef wasmtime_context_t *ctx = self._context()  # the check may run Python code
        cdef wasmtime_val_t val
        if not wasmtime_table_get(ctx, &self._table, idx, &val):
            raise IndexError("table index out of range")
        try:
            return _from_val(self.store, ctx, &val)
        finally:
            _unroot_vals(&val, 1)

    def __setitem__(self, i, value):
        cdef uint64_t idx = self._checked_index(i)
        _give_value(self.store, self._element(), value, _TABLE_SET, &self._table, NULL, idx)

    def grow(self, delta, init=None):
        """Add ``delta`` elements set to ``init``; returns the previous length."""
        self._context()
        if not isinstance(delta, int) or isinstance(delta, bool):
            raise TypeError("delta must be an int, got %s" % type(delta).__name__)
        if not 0 <= delta < 2**32:
            raise ValueError("delta must be in [0, 2**32), got %d" % delta)
        return _give_value(self.store, self._element(), init, _TABLE_GROW, &self._table, NULL, delta)

    def __repr__(self):
        why = _unusable(self)
        if why is not None:
            return "<wasmbind.Table (%s)>" % why
        return "<wasmbind.Table %r, %d elements>" % (self.type, len(self))
