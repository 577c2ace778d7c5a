"""Runtime support of the Python packages ``python -m wasmbind bindgen`` writes.

Generated code imports this module only; nothing here is needed otherwise.
Each generated package has a table of its classes keyed by the WIT spelling
of their type (``str(WitType)``, which spells out the structure), so the same
class is found wherever the type appears:

* for exported functions, :func:`export_func` puts a hook on every record,
  variant, enum and flags type of the function (values.pxi ``_bind_type``),
  so the converter builds the generated classes itself, with no second pass;
* for Python implementations of imports, :func:`host_func` wraps the user's
  function in a converter made once from the import's type (the converter of
  host calls reads its types per call, so there is nothing to hook there).

Going in, generated values need no conversion: records are read by attribute,
variant cases subclass :class:`Variant`, enums subclass ``str``, and flag
classes are recognised by the hook (and turned into names for imports).
"""

from __future__ import annotations

import enum
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, TypeVar

from wasmbind._core import (
    ComponentExports,
    ComponentFunc,
    ComponentLinker,
    ComponentLinkerInstance,
    Err,
    Ok,
    ResourceHandle,
    Some,
    Variant,
    WitFuncType,
    WitType,
    _bind_type,
)
from wasmbind.errors import ComponentError, LinkError

__all__ = ["GuestResource", "export_func", "export_interface", "host_func", "link_interface", "hook_of"]

Classes = Mapping[str, Any]
_R = TypeVar("_R", bound="GuestResource")
_Conv = Optional[Callable[[Any], Any]]


def hook_of(cls: Any) -> Any:
    """The value converter's hook for a generated class (see ``_bind_type``)."""
    if isinstance(cls, type) and issubclass(cls, enum.Flag):
        return cls
    if isinstance(cls, type) and issubclass(cls, enum.Enum):
        return tuple(cls)
    cases = getattr(cls, "_cases", None)
    if cases is not None:
        return cases
    return cls


def _walk(t: Optional[WitType], classes: Classes, seen: Set[int]) -> None:
    if t is None or id(t) in seen:
        return
    seen.add(id(t))
    kind = t.kind
    if kind in ("record", "variant", "enum", "flags"):
        cls = classes.get(str(t))
        if cls is not None:
            _bind_type(t, hook_of(cls))
    for sub in _children(t):
        _walk(sub, classes, seen)


def _children(t: WitType) -> List[Optional[WitType]]:
    kind = t.kind
    if kind in ("list", "option"):
        return [t.element]
    if kind == "record":
        return list((t.fields or {}).values())
    if kind == "variant":
        return list((t.cases or {}).values())
    if kind == "tuple":
        return list(t.types or ())
    if kind == "result":
        return [t.ok, t.err]
    return []


def export_func(exports: ComponentExports, name: str, classes: Classes) -> ComponentFunc:
    """The exported function ``name`` of ``exports``, its types hooked to the
    generated classes. Raises LinkError when the component has no such export."""
    f = exports.get(name)
    if not isinstance(f, ComponentFunc):
        raise LinkError("the component has no exported function %r: the bindings were generated "
                        "for another component" % name)
    ft = f.type
    seen: Set[int] = set()
    for _, pt in ft.params:
        _walk(pt, classes, seen)
    _walk(ft.result, classes, seen)
    return f


def export_interface(exports: ComponentExports, name: str) -> ComponentExports:
    """The exported interface ``name``; LinkError when there is none."""
    sub = exports.get(name)
    if not isinstance(sub, ComponentExports):
        raise LinkError("the component exports no interface %r: the bindings were generated "
                        "for another component" % name)
    return sub


class GuestResource:
    """Base of generated classes of resources the component defines: wraps the
    :class:`ResourceHandle` (``.handle``), with ``drop()`` and ``with``."""

    __slots__ = ("handle", "_owner")

    def __init__(self, handle: ResourceHandle, owner: Any) -> None:
        self.handle = handle
        self._owner = owner

    def drop(self) -> None:
        """Release the resource (runs the component's destructor)."""
        self.handle.drop()

    @property
    def dropped(self) -> bool:
        return self.handle.dropped

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(self, *exc: Any) -> None:
        if not self.handle.dropped:
            self.handle.drop()

    def __repr__(self) -> str:
        return "<%s %s>" % (type(self).__name__, "dropped" if self.handle.dropped else "live")


# ---- imports: converters from the runtime's values to the generated classes --

def _lifter(t: Optional[WitType], classes: Classes) -> _Conv:
    """A function turning a value as the runtime gives it (Record, Variant,
    str, frozenset...) into the generated classes, or None when nothing to do."""
    if t is None:
        return None
    kind = t.kind
    cls = classes.get(str(t)) if kind in ("record", "variant", "enum", "flags") else None
    if kind == "record" and cls is not None:
        names = list((t.fields or {}).keys())
        convs = [_lifter(ft, classes) for ft in (t.fields or {}).values()]

        def record(v: Any) -> Any:
            return cls(*[v[n] if c is None else c(v[n]) for n, c in zip(names, convs)])
        return record
    if kind == "variant" and cls is not None:
        cases = dict(zip((t.cases or {}).keys(), hook_of(cls)))
        pconvs = {n: _lifter(pt, classes) for n, pt in (t.cases or {}).items()}
        has = {n: pt is not None for n, pt in (t.cases or {}).items()}

        def variant(v: Any) -> Any:
            c = pconvs[v.case]
            if not has[v.case]:
                return cases[v.case]()
            return cases[v.case](v.value if c is None else c(v.value))
        return variant
    if kind == "enum" and cls is not None:
        members = dict(zip(t.names or (), tuple(cls)))
        return members.__getitem__
    if kind == "flags" and cls is not None:
        bit = {n: 1 << i for i, n in enumerate(t.names or ())}
        return lambda v: cls(sum(bit[n] for n in v))
    if kind == "list":
        lc = _lifter(t.element, classes)
        return None if lc is None else (lambda v: [lc(x) for x in v])
    if kind == "option":
        c = _lifter(t.element, classes)
        if c is None:
            return None
        nested = t.element is not None and t.element.kind == "option"
        if nested:
            return lambda v: None if v is None else Some(c(v.value))
        return lambda v: None if v is None else c(v)
    if kind in ("tuple", "result"):
        return _compound(t, _lifter, classes)
    return None


def _compound(t: WitType, conv: Callable[[Optional[WitType], Classes], _Conv], classes: Classes) -> _Conv:
    """The converter of a tuple or a nested result, from ``conv`` of its parts
    (a bare value where a result is expected is taken as its ok value)."""
    if t.kind == "tuple":
        cs = [conv(e, classes) for e in (t.types or ())]
        if all(c is None for c in cs):
            return None
        return lambda v: tuple(x if c is None else c(x) for x, c in zip(v, cs))
    ok, err = conv(t.ok, classes), conv(t.err, classes)
    if ok is None and err is None:
        return None

    def result(v: Any) -> Any:
        if isinstance(v, Ok):
            return v if ok is None else Ok(ok(v.value))
        if isinstance(v, Err):
            return v if err is None else Err(err(v.value))
        return v if ok is None else ok(v)
    return result


def _lowerer(t: Optional[WitType], classes: Classes) -> _Conv:
    """The reverse, for what a Python import returns: only flag classes need
    turning into names (everything else the runtime reads as it is)."""
    if t is None:
        return None
    kind = t.kind
    if kind == "flags" and str(t) in classes:
        names = list(t.names or ())

        def flags(v: Any) -> Any:
            if isinstance(v, enum.Flag):
                bits = v.value
                return frozenset(n for i, n in enumerate(names) if bits >> i & 1)
            return v
        return flags
    if kind in ("list", "option"):
        c = _lowerer(t.element, classes)
        if c is None:
            return None
        if kind == "list":
            return lambda v: [c(x) for x in v]
        return lambda v: None if v is None else (Some(c(v.value)) if isinstance(v, Some) else c(v))
    if kind in ("tuple", "result"):
        return _compound(t, _lowerer, classes)
    if kind == "record":
        fields = t.fields or {}
        cs = {n: _lowerer(ft, classes) for n, ft in fields.items()}
        if all(c is None for c in cs.values()):
            return None

        def record(v: Any) -> Any:
            out = {}
            for n, c in cs.items():
                x = getattr(v, n.replace("-", "_"), None) if not isinstance(v, Mapping) else v[n]
                out[n] = x if c is None else c(x)
            return out
        return record
    if kind == "variant":
        cs = {n: _lowerer(pt, classes) for n, pt in (t.cases or {}).items()}
        if all(c is None for c in cs.values()):
            return None

        def variant(v: Any) -> Any:
            c = cs.get(v.case) if isinstance(v, Variant) else None
            return v if c is None else Variant(v.case, c(v.value))
        return variant
    return None


def host_func(fn: Callable[..., Any], ft: WitFuncType, classes: Classes) -> Callable[..., Any]:
    """``fn`` (the user's implementation of an import) wrapped so that it
    receives the generated classes and may return them."""
    lifts = [_lifter(pt, classes) for _, pt in ft.params]
    res = ft.result
    lower = _lowerer(res, classes)
    if res is not None and res.kind == "result":
        ok_lower = _lowerer(res.ok, classes)
        err_lower = _lowerer(res.err, classes)

        def lower_result(v: Any) -> Any:
            return v if ok_lower is None else ok_lower(v)
        lower = lower_result if ok_lower is not None else None
    else:
        err_lower = None
    if all(c is None for c in lifts) and lower is None and err_lower is None:
        return fn

    def call(*args: Any) -> Any:
        conv = [a if c is None else c(a) for a, c in zip(args, lifts)]
        if err_lower is None:
            r = fn(*conv)
        else:
            try:
                r = fn(*conv)
            except ComponentError as exc:
                raise ComponentError(err_lower(exc.value)) from None
        return r if lower is None else lower(r)
    call.__name__ = getattr(fn, "__name__", "host_func")
    return call


def link_interface(linker: ComponentLinker, name: str, itype: Any, impl: Any,
                   funcs: Dict[str, str], resources: Dict[str, str], classes: Classes) -> None:
    """Registers ``impl`` (an object implementing the generated Protocol of the
    imported interface ``name``, of type ``itype``; the root's imports for
    ``name`` "") with ``linker``: each WIT
    function name in ``funcs`` maps to the Python attribute implementing it,
    each resource name in ``resources`` to the attribute holding its class."""
    scope: ComponentLinkerInstance = linker.root if name == "" else linker.instance(name)
    for wit_name, attr in resources.items():
        cls = getattr(impl, attr, None)
        if not isinstance(cls, type):
            raise TypeError("%s: attribute %r must be the class implementing resource %r, got %s"
                            % (type(impl).__name__, attr, wit_name, type(cls).__name__))
        scope.add_resource(wit_name, cls)
    for wit_name, attr in funcs.items():
        fn = getattr(impl, attr, None)
        if not callable(fn):
            raise TypeError("%s has no method %r (import %s%s)"
                            % (type(impl).__name__, attr, name + "#" if name else "", wit_name))
        scope.add_func(wit_name, host_func(fn, itype[wit_name], classes))
