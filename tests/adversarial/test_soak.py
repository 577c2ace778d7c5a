"""Leak soak: 10**5 cycles of store / instance / call / close with host
exceptions, traps and externrefs in cycles (a payload holding its store), in
a child process; the resident set may not grow more than BOUND_MIB after a
warm-up."""

import pytest
from adv import attack

CYCLES = 10**5
WARMUP = 5_000
BOUND_MIB = 32

SOAK = """
PAGE = os.sysconf("SC_PAGE_SIZE")
def rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE
e = Engine()
m = Module(e, WAT)
class Boom(Exception):
    pass
def f(x):
    if x == 1:
        raise Boom("host")
    return x
class Payload:
    pass
def cycle(i):
    s = Store(e)
    inst = Instance(s, m, [Func(s, I32, f)])
    ex = inst.exports
    assert ex.add(i, 1) == i + 1 and ex.call_f(2) == 2
    k = i %% 4
    if k == 0:
        try:
            ex.call_f(1)
        except Boom:
            pass
    elif k == 1:
        try:
            ex.depth(-1)  # runs until the stack overflows: a Trap
        except Trap:
            pass
    elif k == 2:
        p = Payload(); p.store = s; p.ex = ex; p.me = p
        ex.ge.value = p
        ex.ref(p)
    if i %% 3:
        s.close()
for i in range(%(warmup)d):
    cycle(i)
gc.collect()
before = rss()
for i in range(%(cycles)d):
    cycle(i)
gc.collect()
after = rss()
print(before // 1024, after // 1024, (after - before) // 1024)
"""


@pytest.mark.timeout(300)
def test_soak_rss_growth_is_bounded():
    out = attack(SOAK % {"warmup": WARMUP, "cycles": CYCLES}, timeout=240)
    before_kib, after_kib, growth_kib = map(int, out)
    print("soak: %d cycles, RSS %.1f MiB after warm-up, %.1f MiB at the end, growth %.1f MiB (bound %d MiB)"
          % (CYCLES, before_kib / 1024, after_kib / 1024, growth_kib / 1024, BOUND_MIB))
    assert growth_kib < BOUND_MIB * 1024, out
