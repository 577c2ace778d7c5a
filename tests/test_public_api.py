"""The public namespace: __all__, versions, docstring examples."""

import doctest
import importlib
import importlib.metadata
import re

import pytest

import wasmbind


def test_all_names_exist():
    assert len(wasmbind.__all__) == len(set(wasmbind.__all__))
    for name in wasmbind.__all__:
        assert hasattr(wasmbind, name), name


def test_core_classes_exported():
    from wasmbind import _core
    for name in ("Engine", "Store", "Module", "Instance", "Func", "Memory", "Global", "Table",
                 "Linker", "Caller", "Exports", "WasiConfig"):
        assert getattr(wasmbind, name) is getattr(_core, name)
        assert name in wasmbind.__all__


def test_version():
    assert isinstance(wasmbind.__version__, str)
    assert re.match(r"^\d+\.\d+", wasmbind.__version__)


def test_wasmtime_version_matches_engine_package():
    assert re.match(r"^\d+\.\d+\.\d+", wasmbind.WASMTIME_VERSION)
    try:
        installed = importlib.metadata.version("wasmtime")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("the wasmtime package is not installed")
    assert wasmbind.WASMTIME_VERSION == installed


def test_error_hierarchy():
    assert issubclass(wasmbind.CompileError, ValueError)
    assert issubclass(wasmbind.StoreClosedError, ValueError)
    assert issubclass(wasmbind.StoreBusyError, RuntimeError)
    for name in ("CompileError", "LinkError", "Trap", "WasiExit", "StoreClosedError", "StoreBusyError"):
        assert issubclass(getattr(wasmbind, name), wasmbind.WasmError)


def test_package_docstring_examples_run():
    result = doctest.testmod(wasmbind, verbose=False)
    assert result.attempted > 0
    assert result.failed == 0


@pytest.mark.parametrize("module", ["wasmbind.errors", "wasmbind.types", "wasmbind.config"])
def test_submodule_docstring_examples(module):
    result = doctest.testmod(importlib.import_module(module), verbose=False)
    assert result.failed == 0


def test_user_classes_not_constructible_directly():
    with pytest.raises(TypeError):
        wasmbind.Caller()


def test_typed_package_files_present():
    import os
    here = os.path.dirname(wasmbind.__file__)
    assert os.path.exists(os.path.join(here, "py.typed"))
    assert os.path.exists(os.path.join(here, "_core.pyi"))


def test_stub_covers_core():
    import ast
    import os

    from wasmbind import _core
    with open(os.path.join(os.path.dirname(wasmbind.__file__), "_core.pyi")) as f:
        tree = ast.parse(f.read())
    stubbed = {n.name: n for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    stubbed.update({t.id: n for n in tree.body if isinstance(n, ast.AnnAssign) for t in [n.target]})
    import types
    public = [n for n in dir(_core) if not n.startswith("_")
              and not isinstance(getattr(_core, n), types.ModuleType)
              and getattr(getattr(_core, n), "__module__", "wasmbind._core") == "wasmbind._core"]
    missing = [n for n in public if n not in stubbed]
    assert missing == []
    for name, node in stubbed.items():
        if not isinstance(node, ast.ClassDef) or name.startswith("_"):
            continue
        cls = getattr(_core, name)
        members = {m.name for m in node.body if isinstance(m, ast.FunctionDef)}
        members |= {m.target.id for m in node.body if isinstance(m, ast.AnnAssign)}
        runtime = {m for m in vars(cls) if not m.startswith("_") or m in ("__call__", "__getitem__", "__len__")}
        assert runtime - members == set(), name
