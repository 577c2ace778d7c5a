"""run_wasi under resource bombs: table and memory growth, descriptor
exhaustion (under the budget and under a small host RLIMIT_NOFILE)."""

import pytest
from adv import attack

pytestmark = pytest.mark.timeout(120)

IMPORTS = """(import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
 (import "wasi_snapshot_preview1" "path_open"
   (func $open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))"""

#: Grows with ``GROW`` (an expression using local $d) until it fails or 100000
#: times; exits with the number of successes.
BOMB = """(module %s
 (memory (export "memory") 1) (table 0 funcref) (data (i32.const 16) "f")
 (func (export "_start") (local $n i32) (local $d i32)
  (block $done (loop $l
    (br_if $done GROW)
    (local.set $n (i32.add (local.get $n) (i32.const 1)))
    (br_if $done (i32.ge_u (local.get $n) (i32.const 100000)))
    (br $l)))
  (call $exit (local.get $n))))""" % IMPORTS

TABLE_GROW = "(i32.eq (table.grow (ref.null func) (i32.const 0x100000)) (i32.const -1))"
TABLE_GROW_HUGE = "(i32.eq (table.grow (ref.null func) (i32.const -2)) (i32.const -1))"
MEMORY_GROW = "(i32.eq (memory.grow (i32.const 1)) (i32.const -1))"
OPEN = ("(call $open (i32.const 3) (i32.const 0) (i32.const 16) (i32.const 1) (i32.const 0)"
        " (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 32))")


def run_bomb(grow, args, pre=""):
    return attack("""
    import tempfile
    from wasmbind.wasi import DEFAULT_MAX_TABLE_ELEMENTS
    """, pre, """
    d = tempfile.mkdtemp(); open(os.path.join(d, "f"), "w").close()
    r = run_wasi(%r, dirs=[(d, "/d")], %s)
    print(r.returncode, DEFAULT_MAX_TABLE_ELEMENTS)
    fd = os.open(os.path.join(d, "f"), os.O_RDONLY); os.close(fd)
    print("host-ok")
    """ % (BOMB.replace("GROW", grow), args))


def test_table_grow_bomb_stops_at_the_default_limit():
    out = run_bomb(TABLE_GROW, "")
    assert out[2] == "host-ok" and int(out[0]) == int(out[1]) // 0x100000, out


def test_table_grow_bomb_with_an_explicit_limit_and_a_huge_delta():
    assert run_bomb(TABLE_GROW, "max_table_elements=3 * 0x100000")[0] == "3"
    assert run_bomb(TABLE_GROW_HUGE, "")[0] == "0"


def test_memory_grow_bomb_under_max_memory():
    assert run_bomb(MEMORY_GROW, "max_memory=2 * 1024 * 1024")[0] == "31"


@pytest.mark.parametrize("budget", [10, 100])
def test_descriptor_exhaustion_stops_at_the_budget(budget):
    out = run_bomb(OPEN, "max_open_files=%d" % budget)
    assert out == [str(budget), out[1], "host-ok"], out


def test_descriptor_exhaustion_under_a_small_host_rlimit():
    out = run_bomb(OPEN, "max_open_files=None", pre="""
    import resource
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    """)
    assert 0 < int(out[0]) < 64 and out[2] == "host-ok", out
