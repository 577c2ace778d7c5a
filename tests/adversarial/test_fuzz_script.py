"""scripts/fuzz.py runs (briefly here; for longer by hand) without findings
or a crash."""

import os
import subprocess
import sys

import pytest

from support import python_env

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "fuzz.py")


@pytest.mark.timeout(120)
@pytest.mark.skipif(not os.path.exists(SCRIPT), reason="tests run outside the checkout")
def test_fuzz_script_runs_clean_for_two_seconds():
    proc = subprocess.run([sys.executable, SCRIPT, "--seconds", "2"], capture_output=True, text=True,
                          timeout=90, env=python_env(), cwd=os.path.dirname(SCRIPT))
    assert proc.returncode == 0, (proc.returncode, proc.stdout, proc.stderr[-3000:])
    assert "0 findings" in proc.stdout and "FINDING" not in proc.stdout, proc.stdout
