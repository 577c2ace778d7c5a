"""The bounds run_wasi and the CLI put on what a guest can take from the host:
table elements, tables, memories, instances and open file descriptors (see
docs/sandbox.md), and Store.set_limits' checks of its arguments.

The guests are WAT, so nothing here needs a C toolchain. Guests that try to
take a lot run in a child process (a failure is then a failing test, not a
dead test run), and every one has a deadline.
"""

import gc
import os
import subprocess
import sys
import textwrap

import pytest

from wasmbind import Store, Trap, WasmError, run_wasi
from wasmbind.wasi import DEFAULT_LIMITS, DEFAULT_MAX_OPEN_FILES, DEFAULT_MAX_TABLE_ELEMENTS

from support import assert_clean, python_env, run_py

pytestmark = pytest.mark.timeout(120)

PAGE = 65536
EMFILE = 33  # WASI's "too many open files"
ENOENT = 44


def _grow_table(element="funcref", step=1000, unit=100_000):
    """A program growing a table by ``step`` until table.grow returns -1; it
    exits with the final size // ``unit`` (a trap would mean growth trapped)."""
    null = "func" if element == "funcref" else "extern"
    return """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory (export "memory") 1) (table $t 0 %s)
      (func (export "_start")
        (loop $l (br_if $l (i32.ne (table.grow $t (ref.null %s) (i32.const %d)) (i32.const -1))))
        (call $exit (i32.div_u (table.size $t) (i32.const %d)))))""" % (element, null, step, unit)


# ---------------------------------------------------------------- tables

@pytest.mark.parametrize("element", ["funcref", "externref"])
def test_table_grow_loop_is_bounded_by_default(element):
    # the issue: under max_memory=16M a guest took gigabytes through a table
    p = run_py("""
        import resource
        from wasmbind import run_wasi
        before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        r = run_wasi(%r, max_memory=16 << 20, timeout=60)
        grew = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024
        print(r.returncode, r.trap, grew)
    """ % _grow_table(element), timeout=120)
    assert_clean(p)
    code, trap, grew_mb = p.stdout.split()
    assert (code, trap) == (str(DEFAULT_MAX_TABLE_ELEMENTS // 100_000), "None")
    assert int(grew_mb) < 200, p.stdout


@pytest.mark.parametrize("kw, size", [
    (dict(max_table_elements=200_000), 200_000),
    (dict(limits={"table_elements": 300_000}), 300_000),
    (dict(max_table_elements=400_000, limits={"table_elements": 400_000}), 400_000),
    (dict(max_table_elements=0), 0),
])
def test_table_bound_can_be_changed(kw, size):
    r = run_wasi(_grow_table(), timeout=60, **kw)
    assert r.trap is None and r.returncode == size // 100_000


def test_table_bound_can_be_lifted():
    # a few million elements, no more: lifting the bound must not take the host down
    wat = _grow_table(step=500_000, unit=1_000_000).replace("(table $t 0 funcref)",
                                                           "(table $t 0 3000000 funcref)")
    assert run_wasi(wat, timeout=60).returncode == 1
    assert run_wasi(wat, timeout=60, max_table_elements=None).returncode == 3
    assert run_wasi(wat, timeout=60, limits={"table_elements": None}).returncode == 3


def test_table_minimum_above_the_bound_fails_before_running():
    wat = '(module (memory (export "memory") 1) (table %d funcref) (func (export "_start")))'
    with pytest.raises(WasmError, match="table minimum size"):
        run_wasi(wat % (DEFAULT_MAX_TABLE_ELEMENTS + 1))
    assert run_wasi(wat % DEFAULT_MAX_TABLE_ELEMENTS).returncode == 0


def _many(kind, n):
    decl = {"table": "(table 10 funcref)", "memory": "(memory 1)"}[kind]
    export = '' if kind == "memory" else '(memory (export "memory") 1)'
    return "(module %s %s (func (export \"_start\")))" % (export, " ".join([decl] * n))


@pytest.mark.parametrize("kind, key", [("table", "tables"), ("memory", "memories")])
def test_many_tables_or_memories_are_refused(kind, key):
    n = DEFAULT_LIMITS[key]
    assert run_wasi(_many(kind, n)).returncode == 0
    with pytest.raises(WasmError, match="%s count too high" % kind):
        run_wasi(_many(kind, n + 1))
    assert run_wasi(_many(kind, n + 1), limits={key: n + 1}).returncode == 0
    assert run_wasi(_many(kind, 8), limits={key: None}).returncode == 0
    with pytest.raises(WasmError, match="%s count too high" % kind):
        run_wasi(_many(kind, 3), limits={key: 2})


def test_total_memory_is_memories_times_max_memory():
    # one memory by default, so max_memory bounds the program's linear memory
    grow = """(module
      (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
      (memory $m (export "memory") 0)
      (func (export "_start")
        (loop $l (br_if $l (i32.ne (memory.grow (i32.const 16)) (i32.const -1))))
        (call $exit (i32.div_u (memory.size) (i32.const 16)))))"""
    assert run_wasi(grow, max_memory=16 << 20, timeout=60).returncode == 16
    assert run_wasi(grow, max_memory=1 << 20, timeout=60).returncode == 1


def test_instances_count_the_program_only():
    # the open-files budget instantiates a forwarder; it is not the program's
    r = run_wasi(_open_loop(), dirs=[(_dir_with_f(), "/d")], limits={"instances": 1},
                 max_open_files=5, timeout=60)
    assert r.returncode == 5
    with pytest.raises(WasmError, match="instance count too high"):
        run_wasi(_open_loop(), dirs=[(_dir_with_f(), "/d")], limits={"instances": 0})


# ---------------------------------------------------------------- run_wasi's and set_limits' checks

@pytest.mark.parametrize("kw, exc, match", [
    (dict(limits={"tabels": 1}), TypeError, "unknown limit 'tabels'"),
    (dict(limits=[("tables", 1)]), TypeError, "limits must be a mapping"),
    (dict(limits={"tables": "4"}), TypeError, r"limits\['tables'\] must be an int"),
    (dict(limits={"tables": True}), TypeError, "must be an int"),
    (dict(limits={"memories": 1.0}), TypeError, "must be an int"),
    (dict(limits={"instances": -1}), ValueError, r"must be in \[0, 2\*\*63\)"),
    (dict(limits={"memory_size": 2**63}), ValueError, r"must be in \[0, 2\*\*63\)"),
    (dict(max_table_elements="1M"), TypeError, "max_table_elements must be an int"),
    (dict(max_table_elements=-1), ValueError, "max_table_elements must be in"),
    (dict(max_memory="16M"), TypeError, "max_memory must be an int"),
    (dict(max_memory=float("nan")), TypeError, "max_memory must be an int"),
    (dict(max_memory=1 << 20, limits={"memory_size": 2 << 20}), ValueError, "disagree"),
    (dict(max_table_elements=5, limits={"table_elements": 6}), ValueError, "disagree"),
    (dict(max_open_files=True), TypeError, "max_open_files must be an int"),
    (dict(max_open_files=-1), ValueError, "max_open_files must be in"),
    (dict(max_open_files=2.5), TypeError, "max_open_files must be an int"),
])
def test_run_wasi_limit_arguments(kw, exc, match):
    with pytest.raises(exc, match=match):
        run_wasi('(module (memory (export "memory") 1) (func (export "_start")))', **kw)


def test_run_wasi_agreeing_limits_are_fine():
    wat = '(module (memory (export "memory") 1) (func (export "_start")))'
    assert run_wasi(wat, max_memory=1 << 20, limits={"memory_size": 1 << 20}).ok
    assert run_wasi(wat, limits={"memory_size": None, "tables": None, "memories": None,
                                 "instances": None, "table_elements": None},
                    max_open_files=None).ok


@pytest.mark.parametrize("name", ["memory_size", "table_elements", "instances", "tables",
                                  "memories"])
@pytest.mark.parametrize("value, exc", [("1M", TypeError), (1.0, TypeError), (True, TypeError),
                                        (float("nan"), TypeError), (b"1", TypeError),
                                        (-1, ValueError), (2**63, ValueError),
                                        (2**100, ValueError)])
def test_set_limits_refuses_bad_values(name, value, exc):
    store = Store()
    store.set_limits(tables=3)
    with pytest.raises(exc, match=name):
        store.set_limits(**{name: value})
    assert store.limits["tables"] == 3  # the refused call changed nothing


def test_set_limits_unknown_keyword():
    with pytest.raises(TypeError, match="bogus"):
        Store().set_limits(bogus=1)


# ---------------------------------------------------------------- open files

_WASI_IMPORTS = """
  (import "wasi_snapshot_preview1" "path_open"
    (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_close" (func $close (param i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_renumber" (func $renumber (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "f")
  (data (i32.const 32) "nope")
  ;; open "f" in the first preopen (fd 3) for reading: the errno; the fd at [100]
  (func $open_f (result i32)
    (call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 0)
                (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))
  ;; opens "f" until an error: exits with the count / div if it was EMFILE, else 125
  (func $open_until_refused (param $div i32) (local $n i32) (local $e i32)
    (block $done (loop $l
      (local.set $e (call $open_f))
      (br_if $done (local.get $e))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $l)))
    (if (i32.ne (local.get $e) (i32.const 33)) (then (call $exit (i32.const 125))))
    (call $exit (i32.div_u (local.get $n) (local.get $div))))
"""


def _open_loop(div=1):
    """Opens files without closing them until refused (see $open_until_refused)."""
    return "(module %s (func (export \"_start\") (call $open_until_refused (i32.const %d))))" % (
        _WASI_IMPORTS, div)


def _dir_with_f():
    import tempfile
    d = tempfile.mkdtemp(prefix="wasmbind-fds-")
    with open(os.path.join(d, "f"), "w") as f:
        f.write("x")
    return d


@pytest.fixture
def fdir():
    return _dir_with_f()


def _fds():
    # garbage stores first: a component store that captures holds its pipes
    # until it is freed
    gc.collect()
    return len(os.listdir("/proc/self/fd"))


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="needs /proc/self/fd")


@needs_proc
@pytest.mark.parametrize("limit", [0, 1, 10, 100])
def test_open_files_are_bounded(fdir, limit):
    before = _fds()
    r = run_wasi(_open_loop(), dirs=[(fdir, "/d")], max_open_files=limit, timeout=60)
    assert r.trap is None and r.returncode == limit  # refused with EMFILE after exactly limit
    assert _fds() == before  # and the store gave them all back


def test_default_open_files_bound(fdir):
    r = run_wasi(_open_loop(div=4), dirs=[(fdir, "/d")], timeout=60)
    assert r.returncode == DEFAULT_MAX_OPEN_FILES // 4


def test_closing_gives_room_back(fdir):
    # open and close 2000 times under a budget of 2, then fill the budget
    wat = """(module %s (func (export "_start") (local $i i32)
      (loop $l
        (if (call $open_f) (then (call $exit (i32.const 101))))
        (if (call $close (i32.load (i32.const 100))) (then (call $exit (i32.const 102))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br_if $l (i32.lt_u (local.get $i) (i32.const 2000))))
      (call $open_until_refused (i32.const 1))))""" % _WASI_IMPORTS
    assert run_wasi(wat, dirs=[(fdir, "/d")], max_open_files=2, timeout=60).returncode == 2


def test_renumber_is_counted(fdir):
    # open A and B, renumber A onto B (closing B's file): one open, so three more fit in 4
    wat = """(module %s (func (export "_start") (local $a i32)
      (if (call $open_f) (then (call $exit (i32.const 101))))
      (local.set $a (i32.load (i32.const 100)))
      (if (call $open_f) (then (call $exit (i32.const 102))))
      (if (call $renumber (local.get $a) (i32.load (i32.const 100))) (then (call $exit (i32.const 103))))
      ;; renumbering onto itself and a failed renumber change nothing
      (drop (call $renumber (i32.load (i32.const 100)) (i32.load (i32.const 100))))
      (if (i32.eqz (call $renumber (i32.const 77) (i32.const 78))) (then (call $exit (i32.const 104))))
      (if (i32.eqz (call $close (local.get $a))) (then (call $exit (i32.const 105))))
      (call $open_until_refused (i32.const 1))))""" % _WASI_IMPORTS
    assert run_wasi(wat, dirs=[(fdir, "/d")], max_open_files=4, timeout=60).returncode == 3


def test_preopens_and_stdio_are_not_counted(fdir, tmp_path):
    dirs = [(fdir, "/d"), (str(tmp_path), "/t"), (str(tmp_path), "/u", True)]
    r = run_wasi(_open_loop(), dirs=dirs, max_open_files=1, stdin=b"x", timeout=60)
    assert r.returncode == 1


@pytest.mark.parametrize("max_open_files", [None, 5])
def test_the_budget_forwards_errors_unchanged(fdir, max_open_files):
    # a missing file is ENOENT with or without the budget; EMFILE only when full
    wat = """(module %s (func (export "_start")
      (call $exit (call $open (i32.const 3) (i32.const 0) (i32.const 32) (i32.const 4) (i32.const 0)
                              (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 100)))))""" % _WASI_IMPORTS
    r = run_wasi(wat, dirs=[(fdir, "/d")], max_open_files=max_open_files, timeout=60)
    assert r.returncode == ENOENT
    r = run_wasi(wat, max_open_files=max_open_files, timeout=60)  # no preopen at fd 3
    assert r.returncode == 8  # EBADF


@pytest.mark.parametrize("max_open_files", [None, 5])
def test_without_a_memory_export_it_is_the_same_trap(fdir, max_open_files):
    wat = _open_loop().replace('(memory (export "memory") 1)', "(memory 1)")
    r = run_wasi(wat, dirs=[(fdir, "/d")], max_open_files=max_open_files, timeout=60)
    assert r.returncode is None and isinstance(r.trap, Trap)
    assert "missing required memory export" in str(r.trap)


def test_deadline_and_fuel_still_stop_an_open_close_loop(fdir):
    wat = """(module %s (func (export "_start")
      (loop $l (drop (call $open_f)) (drop (call $close (i32.load (i32.const 100)))) (br $l))))""" % _WASI_IMPORTS
    r = run_wasi(wat, dirs=[(fdir, "/d")], max_open_files=3, timeout=0.5)
    assert r.timed_out
    r = run_wasi(wat, dirs=[(fdir, "/d")], max_open_files=3, fuel=200_000, timeout=60)
    assert r.out_of_fuel


OPEN_UNDER_RLIMIT = """
    import os, resource, sys, tempfile
    from wasmbind import run_wasi
    resource.setrlimit(resource.RLIMIT_NOFILE, (200, 200))
    d = tempfile.mkdtemp()
    open(os.path.join(d, "f"), "w").close()
    budget = None if sys.argv[1] == "none" else int(sys.argv[1])
    r = run_wasi(%r, dirs=[(d, "/d")], max_open_files=budget, timeout=60)
    fds = [os.open(os.path.join(d, "f"), os.O_RDONLY) for _ in range(50)]  # the host can open
    print(r.returncode, r.trap is None, r.trap)
"""


@needs_proc
def test_budget_keeps_host_descriptors_free():
    code = textwrap.dedent(OPEN_UNDER_RLIMIT % _open_loop())
    p = subprocess.run([sys.executable, "-c", code, "50"], capture_output=True, text=True,
                       timeout=120, env=python_env())
    assert_clean(p, "50 True None")


@needs_proc
def test_a_plain_store_is_bounded_only_by_the_process_rlimit():
    # documented: without the budget (a plain Store + Linker.define_wasi does the
    # same) the guest takes descriptors until the process has none; under an
    # RLIMIT_NOFILE the host survives and gets them back after the run
    wat = _open_loop(div=2).replace("(i32.ne (local.get $e) (i32.const 33))", "(i32.const 0)")
    code = textwrap.dedent(OPEN_UNDER_RLIMIT % wat)
    p = subprocess.run([sys.executable, "-c", code, "none"], capture_output=True, text=True,
                       timeout=120, env=python_env())
    assert p.returncode == 0, p.stderr
    opened, ok, _ = p.stdout.split(None, 2)
    assert ok == "True" and 50 < int(opened) < 100, p.stdout  # opened = count // 2


# ---------------------------------------------------------------- the CLI's options

def wb(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "wasmbind", *map(str, args)], input=b"",
                          capture_output=True, timeout=timeout, env=python_env())


def test_cli_limit_options(tmp_path, fdir):
    grow = tmp_path / "grow.wat"
    grow.write_text(_grow_table())
    assert wb("run", grow, "--timeout", 60).returncode == DEFAULT_MAX_TABLE_ELEMENTS // 100_000
    assert wb("run", "--max-table-elements", "200000", grow, "--timeout", 60).returncode == 2
    tables = tmp_path / "tables.wat"
    tables.write_text(_many("table", 6))
    p = wb("run", tables)
    assert p.returncode == 1
    assert p.stderr.decode() == ("wasmbind: error: resource limit exceeded: table count too high "
                                 "at 6 (see --max-memory, --max-memories, --max-tables, "
                                 "--max-table-elements)\n")
    assert wb("run", "--max-tables", "6", tables).returncode == 0
    assert wb("run", "--max-tables", "none", tables).returncode == 0
    mems = tmp_path / "mems.wat"
    mems.write_text(_many("memory", 2))
    assert wb("run", mems).returncode == 1
    assert wb("run", "--max-memories", "2", mems).returncode == 0
    opens = tmp_path / "open.wat"
    opens.write_text(_open_loop())
    assert wb("run", "--dir", "%s::/d" % fdir, "--max-open-files", "7", opens,
              "--timeout", 60).returncode == 7
    assert wb("run", "--dir", "%s::/d" % fdir, "--max-instances", "1", "--max-open-files", "3",
              opens).returncode == 3
    assert wb("run", "--max-instances", "0", opens).returncode == 1


@pytest.mark.parametrize("option", ["--max-table-elements", "--max-tables", "--max-memories",
                                    "--max-instances", "--max-open-files"])
@pytest.mark.parametrize("value", ["-1", "x", "1.5", "1M", "", str(2**63)])
def test_cli_bad_counts_are_usage_errors(tmp_path, option, value):
    prog = tmp_path / "p.wat"
    prog.write_text('(module (memory (export "memory") 1) (func (export "_start")))')
    p = wb("run", option, value, prog)
    err = p.stderr.decode()
    assert p.returncode == 2 and err.startswith("wasmbind: error: ") and err.count("\n") == 1, err
    assert option in err
