;; Shared memories: exported, imported, atomics.
(module $S
  (memory $m (export "m") 1 2 shared)
  (func (export "add") (param i32) (result i32) (i32.atomic.rmw.add (i32.const 0) (local.get 0)))
  (func (export "cas") (param i32 i32) (result i32)
    (i32.atomic.rmw.cmpxchg (i32.const 0) (local.get 0) (local.get 1)))
  (func (export "load") (result i32) (i32.atomic.load (i32.const 0)))
  (func (export "wait_ne") (result i32) (memory.atomic.wait32 (i32.const 0) (i32.const 12345) (i64.const -1)))
  (func (export "wait_timeout") (result i32) (memory.atomic.wait32 (i32.const 4) (i32.const 0) (i64.const 1000)))
  (func (export "notify") (result i32) (memory.atomic.notify (i32.const 0) (i32.const 1)))
  (func (export "misaligned") (result i32) (i32.atomic.load (i32.const 1)))
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
(register "S" $S)

(assert_return (invoke "add" (i32.const 5)) (i32.const 0))
(assert_return (invoke "add" (i32.const 5)) (i32.const 5))
(assert_return (invoke "cas" (i32.const 10) (i32.const 1)) (i32.const 10))
(assert_return (invoke "load") (i32.const 1))
(assert_return (invoke "wait_ne") (i32.const 1))
(assert_return (invoke "wait_timeout") (i32.const 2))
(assert_return (invoke "notify") (i32.const 0))
(assert_trap (invoke "misaligned") "unaligned atomic")
(assert_return (invoke "grow" (i32.const 1)) (i32.const 1))
(assert_return (invoke "grow" (i32.const 1)) (i32.const -1))

;; another instance sees the same memory
(module
  (import "S" "m" (memory 1 2 shared))
  (func (export "load") (result i32) (i32.atomic.load (i32.const 0)))
  (func (export "size") (result i32) (memory.size)))
(assert_return (invoke "load") (i32.const 1))
(assert_return (invoke "size") (i32.const 2))
(assert_unlinkable (module (import "S" "m" (memory 1 2))) "incompatible import type")
(module (import "spectest" "shared_memory" (memory 1 2 shared)))
