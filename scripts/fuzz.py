"""A fuzz target for wasmbind: random values through identity functions of
every value type, and mutated / random module bytes compiled, instantiated
(unknown imports as traps) and called with random arguments under fuel and
store limits. Every outcome must be a result or a clean Python exception;
anything else (another exception class, a wrong round trip) is reported, and
the run exits 1. A crash ends the process (run it in a child to catch that).

Usage: python scripts/fuzz.py [--seconds 600] [--seed N]
"""

import argparse
import math
import random
import struct
import sys
import time

from wasmbind import Config, Engine, Linker, Module, Store, WasmError, wat2wasm

#: Exceptions bad input may raise; anything else is a finding.
CLEAN = (WasmError, ValueError, TypeError, OverflowError, IndexError, KeyError, BufferError, MemoryError)

SEED_WAT = """(module
  (import "env" "f" (func $f (param i32) (result i32)))
  (memory (export "mem") 1 4)
  (table (export "tab") 2 10 funcref)
  (global $g (export "g") (mut i64) (i64.const 7))
  (func (export "i32") (param i32) (result i32) local.get 0)
  (func (export "i64") (param i64) (result i64) local.get 0)
  (func (export "f32") (param f32) (result f32) local.get 0)
  (func (export "f64") (param f64) (result f64) local.get 0)
  (func (export "v128") (param v128) (result v128) local.get 0)
  (func (export "ref") (param externref) (result externref) local.get 0)
  (func (export "mix") (param i32 i64 f64) (result i32)
    (i32.store (i32.and (local.get 0) (i32.const 0xfff0)) (i32.wrap_i64 (local.get 1)))
    (drop (memory.grow (i32.const 1)))
    (drop (table.grow (ref.null func) (i32.const 1)))
    (global.set $g (i64.add (global.get $g) (local.get 1)))
    (i32.add (call $f (local.get 0)) (i32.trunc_sat_f64_s (local.get 2))))
  (func (export "loop") (loop (br 0))))"""

BITS = {"i32": 32, "i64": 64, "v128": 128}


def random_value(rng):
    """Any Python value, biased to edges of the Wasm value types."""
    pick = rng.randrange(9)
    if pick == 0:
        return rng.choice([0, -1, 1, 2**31 - 1, -2**31, 2**32 - 1, 2**63 - 1, -2**63, 2**64 - 1, 2**128 - 1])
    if pick == 1:
        return rng.randrange(-2**130, 2**130)
    if pick == 2:
        return rng.choice([0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, 5e-324, 3.4e38])
    if pick == 3:
        return struct.unpack("<d", rng.randbytes(8))[0]
    if pick == 4:
        return rng.choice([None, True, False, "1", b"\0", [], object(), 1j])
    return rng.randrange(-2**33, 2**33)


def expected(kind, v):
    """What the identity function of ``kind`` must return for ``v`` (or a
    marker for "any result or clean exception")."""
    if kind in BITS and isinstance(v, int) and not isinstance(v, bool):
        bits = BITS[kind]
        if -2**(bits - 1) <= v < 2**bits:
            v &= (1 << bits) - 1
            return v - (1 << bits) if kind != "v128" and v >> (bits - 1) else v
    return Ellipsis


def check_values(ex, rng, failures):
    kind = rng.choice(["i32", "i64", "f32", "f64", "v128", "ref"])
    v = random_value(rng)
    try:
        got = ex[kind](v)
    except CLEAN:
        return
    except Exception as exc:  # noqa: BLE001 - a finding
        failures.append("%s(%r) raised %r" % (kind, v, exc))
        return
    want = expected(kind, v)
    if kind == "ref" and got is not v:
        failures.append("ref(%r) returned %r" % (v, got))
    elif want is not Ellipsis and got != want:
        failures.append("%s(%r) returned %r, expected %r" % (kind, v, got, want))
    elif kind == "f64" and isinstance(v, float) and not (got == v or (math.isnan(v) and math.isnan(got))):
        failures.append("f64(%r) returned %r" % (v, got))


def mutate(data, rng):
    data = bytearray(data)
    for _ in range(rng.randrange(1, 8)):
        op = rng.randrange(4)
        i = rng.randrange(len(data)) if data else 0
        if op == 0 and data:
            data[i] ^= 1 << rng.randrange(8)
        elif op == 1 and data:
            data[i] = rng.choice([0, 0x7F, 0x80, 0xFF, rng.randrange(256)])
        elif op == 2:
            data[i:i] = rng.randbytes(rng.randrange(1, 6))
        elif data:
            del data[i:i + rng.randrange(1, 6)]
    return bytes(data)


def check_module(engine, seed_bytes, rng, failures):
    data = mutate(seed_bytes, rng) if rng.random() < 0.9 else rng.randbytes(rng.randrange(1, 200))
    try:
        module = Module(engine, data)
    except CLEAN:
        return
    except Exception as exc:  # noqa: BLE001
        failures.append("Module(%s) raised %r" % (data.hex(), exc))
        return
    store = Store(engine)
    try:
        store.set_limits(memory_size=1 << 20, table_elements=1000, instances=4, tables=4, memories=4)
        store.set_fuel(20_000)
        linker = Linker(engine)
        linker.define_unknown_imports_as_traps(module)
        inst = linker.instantiate(store, module)
        for name in list(inst.exports)[:8]:
            item = inst.exports[name]
            if callable(item):
                n = len(item.type.params)
                item(*[random_value(rng) for _ in range(n)])
    except CLEAN:
        pass
    except Exception as exc:  # noqa: BLE001
        failures.append("module %s raised %r" % (data.hex(), exc))
    finally:
        store.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(2**32)
    rng = random.Random(seed)
    engine = Engine(Config(consume_fuel=True))
    seed_bytes = wat2wasm(SEED_WAT)
    store = Store(engine)
    store.set_fuel(10**12)
    linker = Linker(engine)
    linker.define_unknown_imports_as_traps(Module(engine, seed_bytes))
    ex = linker.instantiate(store, Module(engine, seed_bytes)).exports
    failures = []
    end = time.monotonic() + args.seconds
    runs = 0
    while time.monotonic() < end and len(failures) < 20:
        for _ in range(50):
            check_values(ex, rng, failures)
        check_module(engine, seed_bytes, rng, failures)
        runs += 1
    print("fuzz: seed %d, %d rounds (%d value checks, %d modules), %d findings"
          % (seed, runs, runs * 50, runs, len(failures)))
    for f in failures:
        print("FINDING:", f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
