# Component types: the engine's component, instance, function and value types
# read once into Python objects (WitType and the item types below) that users
# can read and print as WIT, and that the value converters (values.pxi) walk.

from collections.abc import Mapping as _Mapping
from wasmbind.errors import WasmError


# WIT names of the type kinds, indexed by WB_CT_*
_CT_NAMES = ("bool", "s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64", "f32", "f64", "char",
             "string", "list", "record", "tuple", "variant", "enum", "option", "result", "flags",
             "own", "borrow", "future", "stream", "error-context")

cdef enum:
    _CT_COUNT = 26         # type kinds known here
    _CT_UNSUPPORTED = 255  # a kind wasmbind cannot convert (future, stream, error-context, map)
    _MAX_TYPE_DEPTH = 100  # nesting of value types read from the engine, at most


cdef str _cstr(const char *p, size_t n):
    return p[:n].decode("utf-8", "replace") if n else ""


cdef str _snake(str name):
    return name.replace("-", "_")


@cython.final
cdef class WitResourceType:
    """A resource type: ``name`` (when the component names it) and whether the
    host defines it. Two objects compare equal when the engine says they are
    the same resource type."""

    def __dealloc__(self):
        if self._ptr != NULL:
            wasmtime_component_resource_type_delete(self._ptr)
            self._ptr = NULL

    @staticmethod
    cdef WitResourceType _wrap(wasmtime_component_resource_type_t *ptr, str name):
        cdef WitResourceType r = WitResourceType.__new__(WitResourceType)
        r._ptr = ptr
        r.name = name
        return r

    def __init__(self):
        raise TypeError("resource types are read from components, not made")

    def __eq__(self, other):
        if not isinstance(other, WitResourceType):
            return NotImplemented
        return bool(wasmtime_component_resource_type_equal(self._ptr, (<WitResourceType>other)._ptr))

    def __hash__(self):
        return 0   # equality is the engine's; all resource types share one bucket

    def __str__(self):
        return "resource %s" % (self.name or "<anonymous>")

    def __repr__(self):
        return "<wasmbind.component.ResourceType %s>" % (self.name or "<anonymous>")


@cython.final
cdef class WitType:
    """A WIT value type: ``kind`` (``"u32"``, ``"list"``, ``"record"``...), and
    for compound kinds ``element`` (list, option), ``fields`` (record: name ->
    type), ``types`` (tuple), ``cases`` (variant: name -> payload type or None),
    ``names`` (enum, flags), ``ok`` / ``err`` (result), ``resource`` (own,
    borrow). ``str()`` gives the WIT spelling."""

    def __init__(self):
        raise TypeError("WIT types are read from components, not made")

    @property
    def kind(self):
        return _CT_NAMES[self._k] if self._k < _CT_COUNT else self._kind_name

    @property
    def element(self):
        if self._k == WB_CT_LIST or self._k == WB_CT_OPTION:
            return self._elems[0]
        return None

    @property
    def fields(self):
        if self._k != WB_CT_RECORD:
            return None
        return dict(zip(self._names, self._elems))

    @property
    def types(self):
        return self._elems if self._k == WB_CT_TUPLE else None

    @property
    def cases(self):
        if self._k != WB_CT_VARIANT:
            return None
        return dict(zip(self._names, self._elems))

    @property
    def names(self):
        if self._k in (WB_CT_ENUM, WB_CT_FLAGS, WB_CT_RECORD, WB_CT_VARIANT):
            return self._names
        return None

    @property
    def ok(self):
        return self._elems[0] if self._k == WB_CT_RESULT else None

    @property
    def err(self):
        return self._elems[1] if self._k == WB_CT_RESULT else None

    @property
    def resource(self):
        return self._resource if self._k in (WB_CT_OWN, WB_CT_BORROW) else None

    def __str__(self):
        if self._str is None:
            self._str = _wit_str(self, 0)
        return self._str

    def __repr__(self):
        return "<wasmbind.component.WitType %s>" % self

    def __eq__(self, other):
        if not isinstance(other, WitType):
            return NotImplemented
        cdef WitType o = <WitType>other
        return (self._k == o._k and self._names == o._names and self._elems == o._elems
                and self._resource == o._resource)

    def __hash__(self):
        return hash((self._k, self._names))


cdef str _wit_str(WitType t, int indent):
    cdef Py_ssize_t i
    k = t._k
    if k == WB_CT_LIST:
        return "list<%s>" % t._elems[0]
    if k == WB_CT_OPTION:
        return "option<%s>" % t._elems[0]
    if k == WB_CT_TUPLE:
        return "tuple<%s>" % ", ".join([str(e) for e in t._elems])
    if k == WB_CT_RESULT:
        ok, err = t._elems
        if ok is None and err is None:
            return "result"
        if err is None:
            return "result<%s>" % ok
        return "result<%s, %s>" % ("_" if ok is None else ok, err)
    if k == WB_CT_RECORD:
        return "record { %s }" % ", ".join(["%s: %s" % (_wit_ident(n), e)
                                            for n, e in zip(t._names, t._elems)])
    if k == WB_CT_VARIANT:
        return "variant { %s }" % ", ".join([_wit_ident(n) if e is None else "%s(%s)" % (_wit_ident(n), e)
                                             for n, e in zip(t._names, t._elems)])
    if k == WB_CT_ENUM:
        return "enum { %s }" % ", ".join([_wit_ident(n) for n in t._names])
    if k == WB_CT_FLAGS:
        return "flags { %s }" % ", ".join([_wit_ident(n) for n in t._names])
    if k == WB_CT_OWN or k == WB_CT_BORROW:
        name = t._resource.name if t._resource is not None else None
        return "%s<%s>" % ("own" if k == WB_CT_OWN else "borrow", _wit_ident(name) if name else "resource")
    return t.kind


_WIT_KEYWORDS = frozenset("""as async bool borrow char constructor enum export f32 f64 flags from func
future import include interface list option own package record resource result s16 s32 s64 s8
static stream string tuple type u16 u32 u64 u8 use variant with world""".split())


def _wit_ident(name):
    """A name as WIT spells it: keywords get a leading ``%``."""
    return "%" + name if name in _WIT_KEYWORDS else name


cdef class _TypeScope:
    """While one component type is read: the resource types met so far (so
    ``own<R>`` can name R) and the nesting depth."""
    cdef list resources
    cdef int depth

    def __cinit__(self):
        self.resources = []

    cdef WitResourceType resource(self, const wasmtime_component_resource_type_t *ptr):
        cdef WitResourceType r
        for r in self.resources:
            if wasmtime_component_resource_type_equal(r._ptr, ptr):
                return r
        r = WitResourceType._wrap(wasmtime_component_resource_type_clone(ptr), None)
        self.resources.append(r)
        return r


cdef WitType _new_type(uint8_t k):
    cdef WitType t = WitType.__new__(WitType)
    t._k = k
    t._elems = ()
    t._names = ()
    t._bnames = ()
    t._snames = ()
    return t


cdef WitType _take_type(wasmtime_component_valtype_t *ty, _TypeScope scope):
    """Reads ``ty`` into a WitType and deletes it."""
    try:
        return _read_type(ty, scope)
    finally:
        wasmtime_component_valtype_delete(ty)


cdef WitType _read_type(const wasmtime_component_valtype_t *ty, _TypeScope scope):
    cdef wasmtime_component_valtype_t sub
    cdef const char *name
    cdef size_t n, i, nlen
    cdef bint has
    cdef uint8_t k = ty.kind
    cdef WitType t
    if scope.depth >= _MAX_TYPE_DEPTH:
        raise WasmError("component value type nested deeper than %d levels" % _MAX_TYPE_DEPTH)
    scope.depth += 1
    try:
        if k >= WB_CT_FUTURE:
            t = _new_type(_CT_UNSUPPORTED)
            t._kind_name = _CT_NAMES[k] if k < _CT_COUNT else "map" if k == 26 else "kind %d" % k
            return t
        t = _new_type(k)
        if k <= WB_CT_STRING:
            return t
        elems = []
        names = []
        if k == WB_CT_LIST:
            wasmtime_component_list_type_element(ty.of.list, &sub)
            elems.append(_take_type(&sub, scope))
        elif k == WB_CT_OPTION:
            wasmtime_component_option_type_ty(ty.of.option, &sub)
            elems.append(_take_type(&sub, scope))
        elif k == WB_CT_RECORD:
            n = wasmtime_component_record_type_field_count(ty.of.record)
            for i in range(n):
                if not wasmtime_component_record_type_field_nth(ty.of.record, i, &name, &nlen, &sub):
                    raise WasmError("the engine reported no record field %d" % i)
                names.append(_cstr(name, nlen))
                elems.append(_take_type(&sub, scope))
        elif k == WB_CT_TUPLE:
            n = wasmtime_component_tuple_type_types_count(ty.of.tuple)
            for i in range(n):
                if not wasmtime_component_tuple_type_types_nth(ty.of.tuple, i, &sub):
                    raise WasmError("the engine reported no tuple element %d" % i)
                elems.append(_take_type(&sub, scope))
        elif k == WB_CT_VARIANT:
            n = wasmtime_component_variant_type_case_count(ty.of.variant)
            for i in range(n):
                has = False
                if not wasmtime_component_variant_type_case_nth(ty.of.variant, i, &name, &nlen, &has, &sub):
                    raise WasmError("the engine reported no variant case %d" % i)
                names.append(_cstr(name, nlen))
                elems.append(_take_type(&sub, scope) if has else None)
        elif k == WB_CT_ENUM:
            n = wasmtime_component_enum_type_names_count(ty.of.enum_)
            for i in range(n):
                if not wasmtime_component_enum_type_names_nth(ty.of.enum_, i, &name, &nlen):
                    raise WasmError("the engine reported no enum case %d" % i)
                names.append(_cstr(name, nlen))
        elif k == WB_CT_FLAGS:
            n = wasmtime_component_flags_type_names_count(ty.of.flags)
            for i in range(n):
                if not wasmtime_component_flags_type_names_nth(ty.of.flags, i, &name, &nlen):
                    raise WasmError("the engine reported no flag %d" % i)
                names.append(_cstr(name, nlen))
        elif k == WB_CT_RESULT:
            elems.append(_take_type(&sub, scope) if wasmtime_component_result_type_ok(ty.of.result, &sub)
                         else None)
            elems.append(_take_type(&sub, scope) if wasmtime_component_result_type_err(ty.of.result, &sub)
                         else None)
        elif k == WB_CT_OWN or k == WB_CT_BORROW:
            t._resource = scope.resource(ty.of.own)
        t._elems = tuple(elems)
        t._names = tuple(names)
        t._bnames = tuple([(<str>s).encode("utf-8") for s in names])
        t._snames = tuple([_snake(s) for s in names])
        if names:
            t._index = {}
            for i in range(len(names)):
                t._index[names[i]] = i
                t._index.setdefault(_snake(names[i]), i)
        t._unsupported = any([e is not None and (<WitType>e)._unsupported for e in elems])
        return t
    finally:
        scope.depth -= 1


cdef bint _unsupported_type(WitType t):
    return t._k == _CT_UNSUPPORTED or t._unsupported


# ---- item types: functions, interfaces, components, modules ------------------

@cython.final
cdef class WitFuncType:
    """A component function's type: ``params`` (a tuple of ``(name, WitType)``)
    and ``result`` (a WitType or None). ``str()`` reads like WIT:
    ``func(a: u32, b: u32) -> u32``."""
    cdef readonly tuple params
    cdef readonly object result
    cdef readonly bint is_async

    def __init__(self):
        raise TypeError("function types are read from components, not made")

    def __str__(self):
        s = "%sfunc(%s)" % ("async " if self.is_async else "",
                            ", ".join(["%s: %s" % (_wit_ident(n), t) for n, t in self.params]))
        if self.result is not None:
            s += " -> %s" % self.result
        return s

    def __repr__(self):
        return "<wasmbind.component.FuncType %s>" % self

    def __eq__(self, other):
        if not isinstance(other, WitFuncType):
            return NotImplemented
        return self.params == other.params and self.result == other.result

    def __hash__(self):
        return hash(str(self))


cdef WitFuncType _read_functype(const wasmtime_component_func_type_t *ft, _TypeScope scope):
    cdef wasmtime_component_valtype_t sub
    cdef const char *name
    cdef size_t n, i, nlen
    cdef WitFuncType f = WitFuncType.__new__(WitFuncType)
    params = []
    n = wasmtime_component_func_type_param_count(ft)
    for i in range(n):
        if not wasmtime_component_func_type_param_nth(ft, i, &name, &nlen, &sub):
            raise WasmError("the engine reported no parameter %d" % i)
        pname = _cstr(name, nlen)
        params.append((pname, _take_type(&sub, scope)))
    f.params = tuple(params)
    f.result = _take_type(&sub, scope) if wasmtime_component_func_type_result(ft, &sub) else None
    f.is_async = wasmtime_component_func_type_async(ft)
    return f


class WitInstanceType(_Mapping):
    """An interface (a component instance's type): a read-only mapping of member
    names to their types (functions, resources, types). ``str()`` reads like WIT."""

    def __init__(self, members):
        self._members = dict(members)

    def __getitem__(self, name):
        return self._members[name]

    def __iter__(self):
        return iter(self._members)

    def __len__(self):
        return len(self._members)

    @property
    def functions(self):
        return {n: t for n, t in self._members.items() if isinstance(t, WitFuncType)}

    @property
    def resources(self):
        return {n: t for n, t in self._members.items() if isinstance(t, WitResourceType)}

    def _wit_body(self, indent):
        pad = " " * indent
        lines = []
        for n, t in self._members.items():
            lines.append("%s%s" % (pad, _item_wit(n, t, indent)))
        return "\n".join(lines)

    def __str__(self):
        return "interface {\n%s\n}" % self._wit_body(2) if self._members else "interface {}"

    def __repr__(self):
        return "<wasmbind.component.InstanceType %s>" % ", ".join(self._members)

    def __eq__(self, other):
        if not isinstance(other, WitInstanceType):
            return NotImplemented
        return self._members == other._members

    __hash__ = None


class WitModuleType:
    """A core module imported or exported by a component (not inspected further)."""

    def __str__(self):
        return "core module"

    def __repr__(self):
        return "<wasmbind.component.ModuleType>"


class WitComponentType:
    """A component's type: ``imports`` and ``exports``, mappings of names to
    item types (:class:`FuncType`, :class:`InstanceType`, :class:`ResourceType`,
    :class:`WitType` for exported types, :class:`ModuleType`,
    :class:`ComponentType`). ``str()`` reads like a WIT world."""

    def __init__(self, imports, exports):
        self.imports = dict(imports)
        self.exports = dict(exports)

    def __str__(self):
        lines = ["world {"]
        for what, items in (("import", self.imports), ("export", self.exports)):
            for n, t in items.items():
                lines.append("  %s %s" % (what, _item_wit(n, t, 2)))
        lines.append("}")
        return "\n".join(lines)

    def __repr__(self):
        return "<wasmbind.component.ComponentType %d imports, %d exports>" % (len(self.imports),
                                                                              len(self.exports))


def _item_wit(name, t, indent):
    ident = name if ":" in name else _wit_ident(name)
    if isinstance(t, WitFuncType):
        return "%s: %s;" % (ident, t)
    if isinstance(t, WitInstanceType):
        if not len(t):
            return "%s: interface {}" % ident
        return "%s: interface {\n%s\n%s}" % (ident, t._wit_body(indent + 2), " " * indent)
    if isinstance(t, WitResourceType):
        return "resource %s;" % ident
    if isinstance(t, WitType):
        return "type %s = %s;" % (ident, t)
    if isinstance(t, WitComponentType):
        return "%s: component;" % ident
    return "%s: %s;" % (ident, t)


cdef object _read_item(wasmtime_component_extern_t *ext, str name, Engine engine, _TypeScope scope):
    """The Python type of one import or export (and deletes ``ext``)."""
    cdef wasmtime_component_item_t item
    try:
        wasmtime_component_extern_type(ext, &item)
    finally:
        wasmtime_component_extern_delete(ext)
    cdef WitResourceType r
    try:
        k = item.kind
        if k == WB_CI_COMPONENT_FUNC:
            return _read_functype(item.of.component_func, scope)
        if k == WB_CI_COMPONENT_INSTANCE:
            return _read_instance_type(item.of.component_instance, engine, scope)
        if k == WB_CI_RESOURCE:
            r = scope.resource(item.of.resource)
            if r.name is None:
                r.name = name
            return r
        if k == WB_CI_TYPE:
            return _read_type(&item.of.type, scope)
        if k == WB_CI_COMPONENT:
            return _read_component_type(item.of.component, engine, scope)
        if k == WB_CI_MODULE:
            return WitModuleType()
        return "core func"
    finally:
        wasmtime_component_item_delete(&item)


cdef list _read_members(const void *ty, int which, Engine engine, _TypeScope scope):
    """(name, type) of the exports of an instance type (which=0), or of the
    imports (1) / exports (2) of a component type. Resources first, so that
    functions using them can name them."""
    cdef const char *name
    cdef size_t nlen, i, n
    cdef wasmtime_component_extern_t *ext
    cdef wasm_engine_t *e = engine._engine()
    if which == 0:
        n = wasmtime_component_instance_type_export_count(<const wasmtime_component_instance_type_t *>ty, e)
    elif which == 1:
        n = wasmtime_component_type_import_count(<const wasmtime_component_type_t *>ty, e)
    else:
        n = wasmtime_component_type_export_count(<const wasmtime_component_type_t *>ty, e)
    out = []
    later = []
    for i in range(n):
        ext = NULL
        if which == 0:
            ok = wasmtime_component_instance_type_export_nth(<const wasmtime_component_instance_type_t *>ty,
                                                             e, i, &name, &nlen, &ext)
        elif which == 1:
            ok = wasmtime_component_type_import_nth(<const wasmtime_component_type_t *>ty, e, i,
                                                    &name, &nlen, &ext)
        else:
            ok = wasmtime_component_type_export_nth(<const wasmtime_component_type_t *>ty, e, i,
                                                    &name, &nlen, &ext)
        if not ok or ext == NULL:
            continue
        pname = _cstr(name, nlen)
        out.append([pname, _read_item(ext, pname, engine, scope)])
    return out


cdef object _read_instance_type(const wasmtime_component_instance_type_t *ty, Engine engine,
                                _TypeScope scope):
    return WitInstanceType(_read_members(<const void *>ty, 0, engine, scope))


cdef object _read_component_type(const wasmtime_component_type_t *ty, Engine engine, _TypeScope scope):
    return WitComponentType(_read_members(<const void *>ty, 1, engine, scope),
                            _read_members(<const void *>ty, 2, engine, scope))
