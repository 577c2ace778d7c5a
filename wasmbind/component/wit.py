"""A component's type printed as WIT text, with its types named.

``str(component.type)`` spells every type out structurally (the engine's
types are structural); this module names them again from the ``type name =
...`` members of the component's interfaces, puts resource methods back
inside their ``resource`` blocks and prints one ``interface`` per imported or
exported instance and a ``world`` listing them. Used by ``python -m wasmbind
inspect --wit`` and by the bindings generator (:mod:`.codegen`).

What the engine does not keep cannot be printed: WIT doc comments, the
world's own name and which interface a ``use`` came from (a type that has
the same name and structure as one of an earlier interface is printed as a
``use`` of it).
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Optional, Tuple

from wasmbind._core import WitFuncType, WitInstanceType, WitResourceType, WitType

__all__ = ["world_wit", "TypeNames", "split_interface", "NAMED_KINDS"]

NAMED_KINDS = ("record", "variant", "enum", "flags")

_WIT_KEYWORDS = frozenset("""as async bool borrow char constructor enum export f32 f64 flags from func
future import include interface list option own package record resource result s16 s32 s64 s8
static stream string tuple type u16 u32 u64 u8 use variant with world""".split())


def ident(name: str) -> str:
    """A name as WIT spells it (keywords get a leading ``%``)."""
    return "%" + name if name in _WIT_KEYWORDS else name


class TypeNames:
    """The WIT names of a component's named types, by structure (``str(t)``),
    first name wins; and of its resource types."""

    def __init__(self, ctype: Any) -> None:
        self.names: Dict[str, str] = {}
        self.owner: Dict[str, str] = {}
        for section in (ctype.imports, ctype.exports):
            for iname, item in section.items():
                if isinstance(item, WitInstanceType):
                    for n, t in item.items():
                        if isinstance(t, WitType) and t.kind in NAMED_KINDS:
                            self.names.setdefault(str(t), n)
                            self.owner.setdefault(str(t), iname)
                elif isinstance(item, WitType) and item.kind in NAMED_KINDS:
                    self.names.setdefault(str(item), iname)
                    self.owner.setdefault(str(item), "")

    def get(self, t: WitType) -> Optional[str]:
        return self.names.get(str(t))

    def wit(self, t: Optional[WitType], top: bool = True) -> str:
        """``t`` in WIT, named types by name (``top`` False: inside another type)."""
        if t is None:
            return "_"
        k = t.kind
        if k in NAMED_KINDS:
            n = self.names.get(str(t))
            if n is not None:
                return ident(n)
        if k == "list":
            return "list<%s>" % self.wit(t.element, False)
        if k == "option":
            return "option<%s>" % self.wit(t.element, False)
        if k == "tuple":
            return "tuple<%s>" % ", ".join(self.wit(e, False) for e in (t.types or ()))
        if k == "result":
            if t.ok is None and t.err is None:
                return "result"
            if t.err is None:
                return "result<%s>" % self.wit(t.ok, False)
            return "result<%s, %s>" % (self.wit(t.ok, False), self.wit(t.err, False))
        if k in ("own", "borrow"):
            r = t.resource
            name = ident(r.name) if r is not None and r.name else "resource"
            return name if k == "own" else "borrow<%s>" % name
        if k == "record":
            return "record { %s }" % ", ".join("%s: %s" % (ident(n), self.wit(ft, False))
                                               for n, ft in (t.fields or {}).items())
        if k == "variant":
            return "variant { %s }" % ", ".join(ident(n) if pt is None else "%s(%s)" % (ident(n), self.wit(pt, False))
                                                for n, pt in (t.cases or {}).items())
        return str(t)

    def definition(self, name: str, t: WitType) -> str:
        """The WIT definition of the named type ``name``."""
        k = t.kind
        if k == "record":
            body = ", ".join("%s: %s" % (ident(n), self.wit(ft)) for n, ft in (t.fields or {}).items())
        elif k == "variant":
            body = ", ".join(ident(n) if pt is None else "%s(%s)" % (ident(n), self.wit(pt))
                             for n, pt in (t.cases or {}).items())
        elif k in ("enum", "flags"):
            body = ", ".join(ident(n) for n in (t.names or ()))
        else:
            return "type %s = %s;" % (ident(name), self.wit(t))
        return "%s %s { %s }" % (k, ident(name), body)

    def func(self, ft: WitFuncType, skip_self: bool = False) -> str:
        params = list(ft.params)[1:] if skip_self else list(ft.params)
        s = "func(%s)" % ", ".join("%s: %s" % (ident(n), self.wit(t)) for n, t in params)
        if ft.result is not None:
            s += " -> %s" % self.wit(ft.result)
        return s


def split_interface(members: Any) -> Tuple[List[Tuple[str, Any]], Dict[str, Dict[str, Any]],
                                           List[Tuple[str, WitFuncType]]]:
    """An instance type's members as (types, resources, free functions):
    ``resources`` maps each resource name to ``{"constructor": ft or None,
    "methods": {m: ft}, "statics": {s: ft}}``."""
    types: List[Tuple[str, Any]] = []
    resources: Dict[str, Dict[str, Any]] = {}
    funcs: List[Tuple[str, WitFuncType]] = []

    def res(n: str) -> Dict[str, Any]:
        return resources.setdefault(n, {"constructor": None, "methods": {}, "statics": {}})
    for n, t in members.items():
        if isinstance(t, WitResourceType):
            res(n)
        elif isinstance(t, WitFuncType):
            if n.startswith("[constructor]"):
                res(n[len("[constructor]"):])["constructor"] = t
            elif n.startswith("[method]") and "." in n:
                r, m = n[len("[method]"):].split(".", 1)
                res(r)["methods"][m] = t
            elif n.startswith("[static]") and "." in n:
                r, m = n[len("[static]"):].split(".", 1)
                res(r)["statics"][m] = t
            else:
                funcs.append((n, t))
        elif isinstance(t, WitType):
            types.append((n, t))
    return types, resources, funcs


def _interface_lines(names: TypeNames, members: Any, defined: Dict[str, Tuple[str, str]],
                     here: str) -> Iterator[str]:
    types, resources, funcs = split_interface(members)
    uses: Dict[str, List[str]] = {}
    for n, t in types:
        key = str(t)
        prev = defined.get(key)
        if prev is not None and prev[1] == n and prev[0] != here:
            uses.setdefault(prev[0], []).append(ident(n))
    for src, ns in uses.items():
        yield "use %s.{%s};" % (src, ", ".join(ns))
    used = {n for ns in uses.values() for n in ns}
    for n, t in types:
        if ident(n) in used:
            continue
        defined.setdefault(str(t), (here, n))
        yield names.definition(n, t)
    for r, parts in resources.items():
        inner = []
        if parts["constructor"] is not None:
            inner.append("constructor%s;" % names.func(parts["constructor"])[4:].split(" -> ")[0])
        for m, ft in parts["methods"].items():
            inner.append("%s: %s;" % (ident(m), names.func(ft, skip_self=True)))
        for m, ft in parts["statics"].items():
            inner.append("%s: static %s;" % (ident(m), names.func(ft)))
        if inner:
            yield "resource %s {" % ident(r)
            for line in inner:
                yield "  " + line
            yield "}"
        else:
            yield "resource %s;" % ident(r)
    for n, ft in funcs:
        yield "%s: %s;" % (ident(n), names.func(ft))


def _short(name: str) -> str:
    """``ns:pkg/iface@1.0`` -> ``iface``."""
    return name.split("/", 1)[-1].split("@", 1)[0]


def world_wit(ctype: Any, world: str = "root", hide: Optional[str] = None) -> str:
    """The component type ``ctype`` (``component.type``) as WIT text: each
    imported or exported interface, then the world. Interfaces whose names
    start with ``hide`` (such as ``"wasi:"``) are only named in the world."""
    names = TypeNames(ctype)
    out: List[str] = []
    defined: Dict[str, Tuple[str, str]] = {}
    world_lines: List[str] = []
    for what, section in (("import", ctype.imports), ("export", ctype.exports)):
        root_items = []
        for n, item in section.items():
            if isinstance(item, WitInstanceType) and hide and n.startswith(hide):
                world_lines.append("  %s %s;" % (what, n))
            elif isinstance(item, WitInstanceType):
                here = _short(n)
                out.append("interface %s {" % ident(here) + ("  // %s" % n if here != n else ""))
                out.extend("  " + line for line in _interface_lines(names, item, defined, here))
                out.append("}")
                out.append("")
                world_lines.append("  %s %s;" % (what, n if ":" in n else ident(n)))
            else:
                root_items.append((n, item))
        if root_items:
            lines = list(_interface_lines(names, dict(root_items), defined, ""))
            world_lines.extend("  %s%s" % ("" if line.startswith(("record", "variant", "enum", "flags",
                                                                 "type", "use", "resource", "}", " "))
                                           else what + " ", line) for line in lines)
    out.append("world %s {" % ident(world))
    out.extend(world_lines)
    out.append("}")
    return "\n".join(out) + "\n"
