# Sourced by scripts/test.sh and scripts/bench.sh: makes sure the virtual
# environment $VENV (default .venv; $WASMBIND_VENV overrides) exists, with an
# up-to-date pip. Interpreter: $PYTHON (default python3).
VENV="${WASMBIND_VENV:-.venv}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
    echo "== creating $VENV"
    "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install -q --upgrade pip
VENV="$(cd "$VENV" && pwd)"  # absolute, so callers may change directory
