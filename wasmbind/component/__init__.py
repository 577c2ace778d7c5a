"""The WebAssembly component model: components, WIT-typed values, linking
Python implementations of imports, resources, and WASI preview 2.

    from wasmbind import Engine, Store
    from wasmbind.component import Component, Linker

    engine = Engine()
    component = Component.from_file(engine, "app.wasm")
    linker = Linker(engine)
    linker.add_wasip2()
    linker.instance("demo:app/host").add_func("log", print)
    instance = linker.instantiate(Store(engine), component)
    instance.exports["add"](1, 2)

See docs/components.md for the value table and what is not supported yet, and
docs/bindgen.md for typed bindings (``bindgen(component, out_dir)``, or
``python -m wasmbind bindgen``).
"""

from wasmbind._core import Component, Err, Ok, Record, ResourceHandle, Some, Variant, WitType
from wasmbind._core import ComponentExports as Exports
from wasmbind._core import ComponentFunc as Func
from wasmbind._core import ComponentInstance as Instance
from wasmbind._core import ComponentLinker as Linker
from wasmbind._core import ComponentLinkerInstance as LinkerInstance
from wasmbind._core import WitComponentType as ComponentType
from wasmbind._core import WitFuncType as FuncType
from wasmbind._core import WitInstanceType as InstanceType
from wasmbind._core import WitModuleType as ModuleType
from wasmbind._core import WitResourceType as ResourceType
from wasmbind._core import _is_component_binary as is_component
from wasmbind.errors import ComponentError

__all__ = [
    "Component",
    "ComponentError",
    "ComponentType",
    "Err",
    "Exports",
    "Func",
    "FuncType",
    "Instance",
    "InstanceType",
    "Linker",
    "LinkerInstance",
    "ModuleType",
    "Ok",
    "Record",
    "ResourceHandle",
    "ResourceType",
    "Some",
    "Variant",
    "WitType",
    "bindgen",
    "is_component",
]


def __getattr__(name: str) -> object:
    if name == "bindgen":   # loaded when first used: `import wasmbind.component` stays light
        from wasmbind.component.codegen import bindgen
        return bindgen
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
