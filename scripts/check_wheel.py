"""Checks of the sdist and the wheel that scripts/build_wheel.sh builds, and of
the wheel once installed. build_wheel.sh runs this file with pytest, one class
at a time, with its inputs in environment variables:

    WASMBIND_REPO=<checkout> WASMBIND_SDIST=<.tar.gz> WASMBIND_WHEEL=<.whl> \\
        pytest scripts/check_wheel.py::TestSdist scripts/check_wheel.py::TestWheel
    # in the venv the wheel is installed into, from a directory outside the checkout:
    WASMBIND_REPO=<checkout> python -m pytest <checkout>/scripts/check_wheel.py::TestInstalled

TestWheel also runs check-wheel-contents (configured in pyproject.toml).
"""

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

#: Cython sources and generated C: they build the wheel and never ship in it.
SOURCE_SUFFIXES = (".pyx", ".pxd", ".pxi")
GENERATED_C = "wasmbind/_core.c"
#: What a build leaves beside the sources; none of it belongs in the sdist.
BUILD_PRODUCT_SUFFIXES = (".so", ".dylib", ".dll", ".pyd", ".lib", ".o", ".obj")
CACHE_DIRS = ("__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".hypothesis")


def _env_path(name):
    value = os.environ.get(name)
    if not value:
        pytest.fail("set %s (see this file's docstring)" % name)
    return Path(value).resolve()


@pytest.fixture(scope="module")
def repo():
    return _env_path("WASMBIND_REPO")


@pytest.fixture(scope="module")
def sdist_files():
    """The sdist's paths, without the leading ``wasmbind-X.Y.Z/``."""
    with tarfile.open(_env_path("WASMBIND_SDIST")) as tar:
        return {name.partition("/")[2] for name in tar.getnames() if "/" in name}


@pytest.fixture(scope="module")
def wheel():
    return _env_path("WASMBIND_WHEEL")


@pytest.fixture(scope="module")
def wheel_files(wheel):
    with zipfile.ZipFile(wheel) as z:
        return z.namelist()


class TestSdist:
    @pytest.mark.parametrize("path", ["setup.py", "pyproject.toml", "MANIFEST.in", "README.md", "LICENSE",
                                      "csrc/wasmbind_capi.h", "wasmbind/_core.pyx", "tests/conftest.py",
                                      "tests/pytest.ini"])
    def test_has(self, sdist_files, path):
        assert path in sdist_files

    def test_has_every_tracked_source_and_test(self, sdist_files, repo):
        try:
            tracked = subprocess.run(["git", "-C", str(repo), "ls-files"], capture_output=True, text=True,
                                     check=True).stdout.splitlines()
        except (OSError, subprocess.CalledProcessError):
            pytest.skip("%s is not a git checkout" % repo)
        wanted = [f for f in tracked if f.startswith(("csrc/", "wasmbind/", "tests/", "benchmarks/"))]
        missing = [f for f in wanted if f not in sdist_files]
        assert wanted and missing == [], "tracked but not in the sdist (MANIFEST.in): %s" % missing

    def test_no_build_products_or_caches(self, sdist_files):
        bad = [f for f in sdist_files
               if f.endswith(BUILD_PRODUCT_SUFFIXES) or f == GENERATED_C
               or any(part in CACHE_DIRS for part in f.split("/"))]
        assert bad == [], "\n".join(sorted(bad))


class TestWheel:
    def test_has_extension_engine_and_license(self, wheel_files):
        assert [n for n in wheel_files if n.startswith("wasmbind/_core.") and n.endswith((".so", ".pyd"))]
        assert [n for n in wheel_files if n.startswith(("wasmbind/libwasmtime", "wasmbind.libs/libwasmtime"))]
        assert "wasmbind/WASMTIME-LICENSE" in wheel_files

    def test_has_typing_files(self, wheel_files):
        assert "wasmbind/py.typed" in wheel_files and "wasmbind/_core.pyi" in wheel_files

    def test_no_sources(self, wheel_files):
        bad = [n for n in wheel_files if n.endswith(SOURCE_SUFFIXES) or n == GENERATED_C]
        assert bad == [], "sources in the wheel: %s" % bad

    def test_check_wheel_contents(self, wheel, repo):
        proc = subprocess.run(["check-wheel-contents", "--config", str(repo / "pyproject.toml"), str(wheel)],
                              capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    def test_sizes(self, wheel):
        """Not a check: the biggest files and the totals, for the log."""
        with zipfile.ZipFile(wheel) as z:
            infos = z.infolist()
        for i in sorted(infos, key=lambda i: -i.file_size)[:4]:
            print("  %-55s %6.1f MB (%.1f MB compressed)" % (i.filename, i.file_size / 1e6, i.compress_size / 1e6))
        print("  %d files, wheel %.1f MB, unpacked %.1f MB"
              % (len(infos), wheel.stat().st_size / 1e6, sum(i.file_size for i in infos) / 1e6))


class TestInstalled:
    def test_imported_from_site_packages(self, repo):
        import wasmbind
        import wasmbind._core as core

        for f in (wasmbind.__file__, core.__file__):
            f = os.path.realpath(f)
            assert "site-packages" in f and not f.startswith(str(repo) + os.sep), f
        print("wasmbind imported from", os.path.dirname(wasmbind.__file__))

    @pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ldd is Linux's")
    def test_engine_library_resolves_inside_the_package(self):
        import wasmbind._core as core

        ldd = subprocess.run(["ldd", core.__file__], capture_output=True, text=True, check=True).stdout
        print(ldd)
        assert "not found" not in ldd
        here = os.path.dirname(core.__file__)
        assert (os.path.join(here, "libwasmtime.so") in ldd
                or os.path.join(os.path.dirname(here), "wasmbind.libs", "libwasmtime") in ldd), ldd
