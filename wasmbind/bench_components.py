"""Benchmark group: component-model calls, wasmbind against wasmtime-py's
``wasmtime.component`` in the same run (both with their default engines).

Rows: ``add(u32, u32) -> u32``, a 1 KiB ``string`` echo, a 1 MiB ``list<u8>``
echo (against a plain 1 MiB ``bytes`` copy), and a four-field record round
trip. The component is component text (below), compiled by each runtime.

A separate module until the ``wasmbind.bench`` package lands; hook it in as
one more group: ``rows = bench_components.run(settings)`` where ``settings``
has ``quick`` (bool). ``python -m wasmbind.bench_components`` prints the rows.
"""

import time

ECHO_COMPONENT = r"""(component
  (core module $m
    (memory (export "memory") 1)
    (global $bump (mut i32) (i32.const 1024))
    (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
      (local $p i32)
      ;; a bump allocator that grows memory as needed; frees nothing
      (local.set $p (i32.and (i32.add (global.get $bump) (i32.sub (local.get 2) (i32.const 1)))
                             (i32.sub (i32.const 0) (local.get 2))))
      (global.set $bump (i32.add (local.get $p) (local.get 3)))
      (block $ok
        (br_if $ok (i32.le_u (global.get $bump) (i32.mul (memory.size) (i32.const 65536))))
        (drop (memory.grow (i32.add (i32.div_u (i32.sub (global.get $bump) (i32.mul (memory.size) (i32.const 65536))) (i32.const 65536)) (i32.const 1)))))
      (local.get $p))
    (func (export "reset") (global.set $bump (i32.const 1024)))
    (func (export "add") (param i32 i32) (result i32) (i32.add (local.get 0) (local.get 1)))
    (func (export "echo-ptr") (param i32 i32) (result i32)
      (i32.store (i32.const 0) (local.get 0))
      (i32.store (i32.const 4) (local.get 1))
      (i32.const 0))
    (func (export "echo4") (param i32 i32 i32 i32) (result i32)
      (i32.store (i32.const 16) (local.get 0))
      (i32.store (i32.const 20) (local.get 1))
      (i32.store (i32.const 24) (local.get 2))
      (i32.store (i32.const 28) (local.get 3))
      (i32.const 16))
    (func (export "post") (param i32) (global.set $bump (i32.const 1024)))
    (func (export "trap") unreachable)
    (func (export "spin") (loop $l (br $l)))
  )
  (core instance $i (instantiate $m))
  (alias core export $i "memory" (core memory $mem))
  (alias core export $i "cabi_realloc" (core func $realloc))
  (type $point0 (record (field "a" u32) (field "b" u32) (field "c" u32) (field "d" u32)))
  (export $point "point" (type $point0))
  (func $add (param "a" u32) (param "b" u32) (result u32) (canon lift (core func $i "add")))
  (func $echo-string (param "s" string) (result string)
    (canon lift (core func $i "echo-ptr") (memory (core memory $mem)) (realloc (core func $realloc)) string-encoding=utf8
                (post-return (core func $i "post"))))
  (func $echo-bytes (param "b" (list u8)) (result (list u8))
    (canon lift (core func $i "echo-ptr") (memory (core memory $mem)) (realloc (core func $realloc)) (post-return (core func $i "post"))))
  (func $echo-u32s (param "b" (list u32)) (result (list u32))
    (canon lift (core func $i "echo-ptr") (memory (core memory $mem)) (realloc (core func $realloc)) (post-return (core func $i "post"))))
  (func $echo-point (param "p" $point) (result $point)
    (canon lift (core func $i "echo4") (memory (core memory $mem)) (realloc (core func $realloc))))
  (func $trap (canon lift (core func $i "trap")))
  (func $spin (canon lift (core func $i "spin")))
  (export "add" (func $add))
  (export "echo-string" (func $echo-string))
  (export "echo-bytes" (func $echo-bytes))
  (export "echo-u32s" (func $echo-u32s))
  (export "echo-point" (func $echo-point))
  (export "trap" (func $trap))
  (export "spin" (func $spin))
)
"""


def _per_call(fn, seconds):
    """Best of three timings of ``fn()``, in seconds per call."""
    n, best = 1, float("inf")
    while True:
        t = time.perf_counter()
        for _ in range(n):
            fn()
        dt = time.perf_counter() - t
        if dt > seconds / 10 or n > 1 << 22:
            break
        n *= 2
    for _ in range(3):
        t = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - t) / n)
    return best


def _wasmbind_calls():
    from wasmbind import Engine, Store
    from wasmbind.component import Component, Linker, Record
    engine = Engine()
    ex = Linker(engine).instantiate(Store(engine), Component(engine, ECHO_COMPONENT)).exports
    add, echo_s, echo_b, echo_p = ex.add, ex.echo_string, ex.echo_bytes, ex.echo_point
    s, b, r = "x" * 1024, bytes(1 << 20), Record(a=1, b=2, c=3, d=4)
    return {"add": lambda: add(1, 2), "string-1k": lambda: echo_s(s),
            "bytes-1m": lambda: echo_b(b), "record4": lambda: echo_p(r)}


def _wasmtime_calls():
    import wasmtime
    from wasmtime import component as wc
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    inst = wc.Linker(engine).instantiate(store, wc.Component(engine, ECHO_COMPONENT))
    f = {n: inst.get_func(store, n) for n in ("add", "echo-string", "echo-bytes", "echo-point")}

    def call(name, *args):
        def go():
            out = f[name](store, *args)
            f[name].post_return(store)
            return out
        return go
    point = wc.Record()
    for k, v in dict(a=1, b=2, c=3, d=4).items():
        setattr(point, k, v)
    return {"add": call("add", 1, 2), "string-1k": call("echo-string", "x" * 1024),
            "bytes-1m": call("echo-bytes", bytes(1 << 20)), "record4": call("echo-point", point)}


def run(settings=None):
    """Rows ``(case, runtime, microseconds per call)``; wasmtime-py rows are
    left out when it is not installed or cannot run a case."""
    quick = bool(getattr(settings, "quick", False) or (isinstance(settings, dict) and settings.get("quick")))
    seconds = 0.05 if quick else 0.5
    rows = []
    for runtime, make in (("wasmbind", _wasmbind_calls), ("wasmtime-py", _wasmtime_calls)):
        try:
            calls = make()
        except Exception:   # peer missing or unable: its rows are left out
            continue
        for case, fn in calls.items():
            try:
                rows.append((case, runtime, _per_call(fn, seconds if case != "bytes-1m" else seconds * 4) * 1e6))
            except Exception:
                pass
    data = bytes(1 << 20)
    rows.append(("bytes-1m", "bytes copy", _per_call(lambda: bytes(bytearray(data)), seconds) * 1e6))
    return rows


if __name__ == "__main__":
    import sys
    for case, runtime, us in run({"quick": "--quick" in sys.argv}):
        print("%-10s %-12s %12.2f us" % (case, runtime, us))
