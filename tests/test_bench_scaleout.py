"""The scale-out benchmarks (wasmbind.bench.scaleout) in their smallest mode:
every row is there, shaped as the suite's rows, with a time for each column
(the results were checked before timing; no timing is asserted)."""

import importlib.util

import pytest

from wasmbind.bench import scaleout as bench_scaleout

pytestmark = pytest.mark.timeout(300)


def test_smoke_rows():
    rows = bench_scaleout.measure("smoke")
    names = [r["name"] for r in rows]
    for r in rows:
        assert set(r) == {"group", "name", "base_seconds", "base", "seconds", "notes", "extra"}
        assert r["group"] == bench_scaleout.GROUP
    pickles = [r for r in rows if r["name"].startswith("pickle.")]
    assert len(pickles) == 4 and any("kernels.wasm" in n for n in names)
    assert any("large module" in n for n in names)
    for r in pickles:
        assert set(r["seconds"]) == {bench_scaleout.ARTIFACT, bench_scaleout.RECOMPILE}
        assert all(t > 0 for t in r["seconds"].values())
    if importlib.util.find_spec("distributed") is None:
        assert any("skipped" in str(r["notes"]) for r in rows)
        return
    cluster = [r for r in rows if r["base"] == bench_scaleout.ONE]
    assert any(r["name"].startswith("map_blocks") for r in cluster)
    assert any(r["name"].startswith("run_wasi_many") for r in cluster)
    for r in cluster:
        assert set(r["seconds"]) == {bench_scaleout.ONE, bench_scaleout.TWO}
        assert "scaling (1 ÷ 2 workers)" in r["extra"]


def test_unknown_mode():
    with pytest.raises(ValueError, match="mode"):
        bench_scaleout.measure("huge")
