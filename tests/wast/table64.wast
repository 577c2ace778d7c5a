;; Tables with 64-bit indices, through the public API.
(module $T
  (table $t (export "t") i64 2 8 funcref)
  (table $x (export "x") i64 1 externref)
  (func $f (result i32) (i32.const 11))
  (elem (table $t) (i64.const 1) func $f)
  (func (export "size") (result i64) (table.size $t))
  (func (export "grow") (param i64) (result i64) (table.grow $t (ref.null func) (local.get 0)))
  (func (export "call") (param i64) (result i32) (call_indirect $t (result i32) (local.get 0)))
  (func (export "get") (param i64) (result externref) (table.get $x (local.get 0)))
  (func (export "set") (param i64 externref) (table.set $x (local.get 0) (local.get 1))))
(register "T" $T)

(assert_return (invoke "size") (i64.const 2))
(assert_return (invoke "call" (i64.const 1)) (i32.const 11))
(assert_trap (invoke "call" (i64.const 0)) "uninitialized element")
(assert_trap (invoke "call" (i64.const 2)) "undefined element")
(assert_trap (invoke "call" (i64.const 0x1_0000_0001)) "undefined element")
(assert_return (invoke "grow" (i64.const 3)) (i64.const 2))
(assert_return (invoke "size") (i64.const 5))
(assert_return (invoke "grow" (i64.const 4)) (i64.const -1))
(assert_return (invoke "get" (i64.const 0)) (ref.null extern))
(invoke "set" (i64.const 0) (ref.extern 5))
(assert_return (invoke "get" (i64.const 0)) (ref.extern 5))
(assert_trap (invoke "get" (i64.const 1)) "out of bounds table access")

;; imported as table64; a 32-bit table import does not match it
(module
  (import "T" "t" (table $t i64 2 funcref))
  (func (export "call") (param i64) (result i32) (call_indirect $t (result i32) (local.get 0))))
(assert_return (invoke "call" (i64.const 1)) (i32.const 11))
(assert_unlinkable (module (import "T" "t" (table 2 funcref))) "incompatible import type")
(module (import "spectest" "table64" (table i64 10 funcref)))
