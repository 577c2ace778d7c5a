"""wasmbind: fast, safe WebAssembly for Python, on Wasmtime's C API.

>>> from wasmbind import instantiate
>>> inst = instantiate('(module (func (export "add") (param i32 i32) (result i32)'
...                    ' local.get 0 local.get 1 i32.add))')
>>> inst.exports.add(2, 3)
5
"""

from wasmbind._core import (
    WASMTIME_VERSION,
    AnyRef,
    ArrayRef,
    Caller,
    Engine,
    ExnRef,
    Exports,
    ExternRef,
    Func,
    Global,
    Instance,
    Linker,
    Memory,
    Module,
    SharedMemory,
    Store,
    StructRef,
    Table,
    Tag,
    WasiConfig,
    default_engine,
    instantiate,
    shared_engine,
    wat2wasm,
)
from wasmbind._version import __version__
from wasmbind.config import Config
from wasmbind.errors import (
    CompileError,
    Frame,
    LinkError,
    StoreBusyError,
    StoreClosedError,
    Trap,
    TrapCode,
    WasiExit,
    WasmError,
    WasmException,
)
from wasmbind.types import (
    ExportType,
    ExternType,
    FuncType,
    GlobalType,
    ImportType,
    MemoryType,
    TableType,
    TagType,
    ValType,
)
from wasmbind.wasi import WasiResult, run_wasi, run_wasi_async

__all__ = [
    "__version__",
    "WASMTIME_VERSION",
    "Config",
    "Engine",
    "Store",
    "Module",
    "Instance",
    "Exports",
    "Func",
    "Caller",
    "Memory",
    "SharedMemory",
    "Global",
    "Table",
    "AnyRef",
    "StructRef",
    "ArrayRef",
    "ExnRef",
    "ExternRef",
    "Tag",
    "Linker",
    "WasiConfig",
    "default_engine",
    "shared_engine",
    "instantiate",
    "wat2wasm",
    "run_wasi",
    "run_wasi_async",
    "WasiResult",
    # spelled out (not errors.__all__ + types.__all__): type checkers only
    # follow a literal __all__
    "ValType",
    "FuncType",
    "MemoryType",
    "GlobalType",
    "TableType",
    "TagType",
    "ImportType",
    "ExportType",
    "ExternType",
    "WasmError",
    "CompileError",
    "LinkError",
    "Trap",
    "WasmException",
    "TrapCode",
    "Frame",
    "WasiExit",
    "StoreClosedError",
    "StoreBusyError",
]
