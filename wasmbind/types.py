"""WebAssembly types as plain Python values (nothing here touches C).

``_core`` converts these to and from the engine's type objects when it needs to.
"""

import enum
from typing import Any, Dict, Iterable, NamedTuple, Optional, Tuple, Union

__all__ = [
    "ValType",
    "FuncType",
    "MemoryType",
    "GlobalType",
    "TableType",
    "TagType",
    "ImportType",
    "ExportType",
    "ExternType",
]


class ValType(enum.IntEnum):
    """A WebAssembly value type (numbered as the engine numbers its values up
    to ``exnref``; the other GC reference types follow).

    A reference type names its abstract heap type, nullable: a module's
    ``(ref $t)`` or ``(ref null $t)`` of a concrete struct type reads as
    ``structref``, a concrete function type as ``funcref``, and so on. The
    engine checks every value against the exact declared type (nullability,
    concrete type) when it is passed in.
    """

    i32 = 0
    i64 = 1
    f32 = 2
    f64 = 3
    v128 = 4
    funcref = 5
    externref = 6
    anyref = 7
    exnref = 8
    eqref = 9
    i31ref = 10
    structref = 11
    arrayref = 12
    nullref = 13
    nullfuncref = 14
    nullexternref = 15
    nullexnref = 16

    def __repr__(self) -> str:
        return "ValType.%s" % self.name

    __str__ = __repr__

    @property
    def is_ref(self) -> bool:
        return self >= ValType.funcref


def _valtype(obj: object) -> ValType:
    if isinstance(obj, ValType):
        return obj
    if isinstance(obj, str):
        try:
            return ValType[obj]
        except KeyError:
            pass
    raise TypeError("expected a ValType (%s), got %r" % (", ".join(ValType.__members__), obj))


def _check_limits(minimum: object, maximum: object, bound: int) -> Tuple[int, Optional[int]]:
    if not isinstance(minimum, int) or isinstance(minimum, bool):
        raise TypeError("minimum must be an int, got %r" % (minimum,))
    if maximum is not None and (not isinstance(maximum, int) or isinstance(maximum, bool)):
        raise TypeError("maximum must be an int or None, got %r" % (maximum,))
    if not 0 <= minimum <= bound:
        raise ValueError("minimum %d out of range [0, %d]" % (minimum, bound))
    if maximum is not None:
        if not 0 <= maximum <= bound:
            raise ValueError("maximum %d out of range [0, %d]" % (maximum, bound))
        if maximum < minimum:
            raise ValueError("maximum %d is below minimum %d" % (maximum, minimum))
    return minimum, maximum


class _PicklesByFields:
    """Pickles as the constructor's keywords (the slots), checked again on arrival."""

    __slots__: Tuple[str, ...] = ()

    def __getstate__(self) -> Dict[str, Any]:
        return {name: getattr(self, name) for name in type(self).__slots__}

    def __setstate__(self, state: Dict[str, Any]) -> None:
        init: Any = type(self).__init__
        init(self, **state)


class FuncType(_PicklesByFields):
    """The type of a function: parameter and result value types."""

    __slots__ = ("params", "results")

    def __init__(self, params: Iterable[object], results: Iterable[object]) -> None:
        self.params: Tuple[ValType, ...] = tuple(_valtype(p) for p in params)
        self.results: Tuple[ValType, ...] = tuple(_valtype(r) for r in results)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FuncType):
            return NotImplemented
        return self.params == other.params and self.results == other.results

    def __hash__(self) -> int:
        return hash((FuncType, self.params, self.results))

    def __repr__(self) -> str:
        return "FuncType([%s], [%s])" % (
            ", ".join(p.name for p in self.params),
            ", ".join(r.name for r in self.results),
        )

    def signature(self) -> str:
        """The type as text, e.g. ``(i32, i32) -> i32``."""
        params = ", ".join(p.name for p in self.params)
        if not self.results:
            return "(%s)" % params
        if len(self.results) == 1:
            return "(%s) -> %s" % (params, self.results[0].name)
        return "(%s) -> (%s)" % (params, ", ".join(r.name for r in self.results))


class MemoryType(_PicklesByFields):
    """The type of a linear memory: limits in pages (64 KiB each)."""

    __slots__ = ("minimum", "maximum", "memory64", "shared")

    def __init__(
        self,
        minimum: int,
        maximum: Optional[int] = None,
        *,
        memory64: bool = False,
        shared: bool = False,
    ) -> None:
        bound = 2**48 if memory64 else 2**16
        self.minimum, self.maximum = _check_limits(minimum, maximum, bound)
        self.memory64 = bool(memory64)
        self.shared = bool(shared)
        if self.shared and self.maximum is None:
            raise ValueError("a shared memory needs a maximum")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MemoryType):
            return NotImplemented
        return (self.minimum, self.maximum, self.memory64, self.shared) == (
            other.minimum,
            other.maximum,
            other.memory64,
            other.shared,
        )

    def __hash__(self) -> int:
        return hash((MemoryType, self.minimum, self.maximum, self.memory64, self.shared))

    def __repr__(self) -> str:
        extra = ""
        if self.memory64:
            extra += ", memory64=True"
        if self.shared:
            extra += ", shared=True"
        return "MemoryType(%d, %r%s)" % (self.minimum, self.maximum, extra)


class GlobalType(_PicklesByFields):
    """The type of a global: its content type and whether it is mutable."""

    __slots__ = ("content", "mutable")

    def __init__(self, content: object, mutable: bool) -> None:
        self.content = _valtype(content)
        self.mutable = bool(mutable)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GlobalType):
            return NotImplemented
        return (self.content, self.mutable) == (other.content, other.mutable)

    def __hash__(self) -> int:
        return hash((GlobalType, self.content, self.mutable))

    def __repr__(self) -> str:
        return "GlobalType(%s, mutable=%s)" % (self.content.name, self.mutable)


class TableType(_PicklesByFields):
    """The type of a table: element type and limits in elements.

    ``table64=True`` gives it 64-bit indices (the memory64 proposal's table64;
    needs ``Config(wasm_memory64=True)``), as ``memory64`` does for memories.
    Limits are at most 2**32-1 either way: Wasmtime's C API cannot report more.
    """

    __slots__ = ("element", "minimum", "maximum", "table64")

    def __init__(
        self,
        element: object,
        minimum: int,
        maximum: Optional[int] = None,
        *,
        table64: bool = False,
    ) -> None:
        self.element = _valtype(element)
        if not self.element.is_ref:
            raise TypeError("a table holds references (funcref, externref, anyref...), not %s" % self.element.name)
        self.minimum, self.maximum = _check_limits(minimum, maximum, 2**32 - 1)
        self.table64 = bool(table64)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TableType):
            return NotImplemented
        return (self.element, self.minimum, self.maximum, self.table64) == (
            other.element,
            other.minimum,
            other.maximum,
            other.table64,
        )

    def __hash__(self) -> int:
        return hash((TableType, self.element, self.minimum, self.maximum, self.table64))

    def __repr__(self) -> str:
        extra = ", table64=True" if self.table64 else ""
        return "TableType(%s, %d, %r%s)" % (self.element.name, self.minimum, self.maximum, extra)


class TagType(_PicklesByFields):
    """The type of an exception tag: the types of its payload values.

    ``TagType([ValType.i32, ValType.f64])``, or ``TagType(FuncType(params, []))``
    (a tag's type is a function type with no results).
    """

    __slots__ = ("functype",)

    def __init__(self, functype: Union[FuncType, Iterable[object]]) -> None:
        if not isinstance(functype, FuncType):
            if isinstance(functype, (str, bytes)):
                raise TypeError("expected a FuncType or value types, got %r" % (functype,))
            functype = FuncType(functype, [])
        if functype.results:
            raise ValueError("a tag's type has no results, got %r" % (functype,))
        self.functype = functype

    @property
    def params(self) -> Tuple[ValType, ...]:
        """The payload's value types."""
        return self.functype.params

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, TagType):
            return NotImplemented
        return self.functype == other.functype

    def __hash__(self) -> int:
        return hash((TagType, self.functype))

    def __repr__(self) -> str:
        return "TagType([%s])" % ", ".join(p.name for p in self.params)


ExternType = Union[FuncType, MemoryType, GlobalType, TableType, TagType]


class ImportType(NamedTuple):
    """One import a module declares."""

    module: str
    name: str
    type: ExternType


class ExportType(NamedTuple):
    """One export a module declares."""

    name: str
    type: ExternType
