"""The benchmark package (wasmbind.bench, `python -m wasmbind bench`).

Runs it in its smallest mode (--smoke: tiny sizes, one round) and checks that
it writes its files, has a row for every benchmark and that every result it
timed equals the pure-Python reference. No timing is asserted.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from wasmbind import bench
from wasmbind.bench import kernels
from wasmbind.bench.kernels import reference


@pytest.fixture(scope="module")
def smoke(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    rc = bench.main(["--smoke", "--out", str(out)])
    return rc, out


def test_runs_and_all_checks_pass(smoke):
    rc, out = smoke
    data = json.loads((out / "wasmbind-bench.json").read_text())
    failed = [c for c in data["checks"] if not c["ok"]]
    assert not failed, failed
    assert rc == 0
    # every group verified something
    groups = {c["what"].split()[0] for c in data["checks"]}
    expected = {"calls", "host", "memory", "startup", "kernels", "gil", "aio"}
    if importlib.util.find_spec("numpy"):
        expected.add("batch")
    assert expected <= groups


def test_markdown_has_every_row(smoke):
    _, out = smoke
    md = (out / "wasmbind-bench.md").read_text(encoding="utf-8")
    data = json.loads((out / "wasmbind-bench.json").read_text())
    for row in data["rows"]:
        assert "| %s |" % row["name"] in md
    names = " ".join(r["name"] for r in data["rows"])
    for export in kernels.exports("calls"):
        assert export + "(" in names, export
    for kernel in ("fib", "mandelbrot", "dot_f64", "sum_u32", "count_u8", "saxpy_f32"):
        assert any(r["name"].startswith(kernel) for r in data["rows"]
                   if r["group"] == "kernels"), kernel
    assert any("[SIMD]" in r["name"] for r in data["rows"])
    for what in ("memoryview(mem)", "mem.read", "mem.write", "new Store + Instance",
                 "deserialize", "compile", "call_add", "call_nop"):
        assert what in names, what
    assert "Result checks: all %d passed" % len(data["checks"]) in md
    assert "### targets" in md and "### gil" in md
    # every timed row has wasmbind's figure (scaleout rows are all wasmbind's, two ways)
    for row in data["rows"]:
        if row["group"] == "scaleout":
            assert len(row["seconds"]) == 2, row
        else:
            assert any(k.startswith("wasmbind") for k in row["seconds"]), row


def test_gil_section(smoke):
    _, out = smoke
    gil = json.loads((out / "wasmbind-bench.json").read_text())["gil"]
    cases = [p["case"] for p in gil["progress"]]
    assert any("release_gil=True" in c for c in cases)
    assert any("Config.fast()" in c for c in cases) and any("Config.sandbox()" in c for c in cases)
    assert {p["release_gil"] for p in gil["parallel"]} == {True, False}


def test_chart(smoke):
    _, out = smoke
    png = out / "wasmbind-bench.png"
    if importlib.util.find_spec("matplotlib") is None:
        assert not png.exists()
    else:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_only_and_json(tmp_path, capsys):
    assert bench.main(["--smoke", "--only", "calls,startup", "--json", "--out",
                       str(tmp_path)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["group"] for r in data["rows"]} == {"calls", "startup"}
    with pytest.raises(SystemExit):
        bench.main(["--only", "nonsense"])


def test_reference_kernels_in_package():
    # the pure-Python references ship with the package (the bench needs them installed)
    assert reference.fib(10) == 55
    assert reference.add(2**31 - 1, 1) == -2**31
    assert bench.GROUPS == ("calls", "host", "memory", "batch", "startup", "kernels", "gil", "components", "bindgen",
                            "scaleout", "aio")
