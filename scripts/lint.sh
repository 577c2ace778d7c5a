#!/usr/bin/env bash
# Lints the sources: ruff for Python, cython-lint for Cython. Both are
# installed into the virtual environment of scripts/test.sh (.venv, or
# $WASMBIND_VENV); their settings are in pyproject.toml.
# Usage: bash scripts/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/venv.sh
echo "== installing ruff and cython-lint into $VENV"
"$VENV/bin/python" -m pip install -q "ruff==0.17.6" "cython-lint==0.22.1"
# cython-lint runs the pycodestyle it depends on as a command.
export PATH="$VENV/bin:$PATH"

echo "== ruff"
ruff check wasmbind tests scripts setup.py

echo "== cython-lint"
# The directory, not a list of files: every .pyx/.pxd/.pxi below it
# (wasmbind/*.pyx, *.pxd, includes/*.pxd and core/*.pxi once that exists),
# minus the [tool.cython-lint] exclude.
cython-lint wasmbind

echo "== lint: clean"
