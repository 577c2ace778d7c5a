#!/usr/bin/env bash
# Installs wasmbind with the benchmark extras into a virtual environment and
# runs the main job, `python -m wasmbind bench`, writing wasmbind-bench.md (the
# markdown table), wasmbind-bench.json and wasmbind-bench.png (the chart) to
# bench-results/.
# Usage: bash scripts/bench.sh [bench arguments, e.g. --quick]
set -euo pipefail
cd "$(dirname "$0")/.."

. scripts/venv.sh
echo "== installing wasmbind[bench] into $VENV"
"$VENV/bin/python" -m pip install -q ".[bench]"
# pywasm3 is an optional peer: it builds from source and not on every Python.
"$VENV/bin/python" -m pip install -q pywasm3 || echo "== pywasm3 did not install; its column is skipped"

mkdir -p bench-results
# Run from bench-results/ so that `-m` imports the installed package, not the
# source tree (which has no compiled extension).
cd bench-results
exec "$VENV/bin/python" -m wasmbind bench --out . "$@"
