;; Tags as externs: exported, imported (registered), and their identity.
(module $A
  (tag $t (export "t") (param i32))
  (tag $u (export "u") (param i32))
  (func (export "throw") (param i32) (throw $t (local.get 0))))
(register "A" $A)

;; the imported tag is the same tag: it catches what A throws
(module $B
  (import "A" "t" (tag $t (param i32)))
  (import "A" "throw" (func $throw (param i32)))
  (export "t2" (tag $t))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $t $h) (call $throw (local.get 0)))
      (i32.const -1))))
(assert_return (invoke $B "catch" (i32.const 42)) (i32.const 42))

;; a tag of the same type, but another tag: it does not catch
(module $C
  (import "A" "u" (tag $u (param i32)))
  (import "A" "throw" (func $throw (param i32)))
  (func (export "catch") (param i32) (result i32)
    (block $h (result i32)
      (try_table (catch $u $h) (call $throw (local.get 0)))
      (i32.const -1))))
(assert_exception (invoke $C "catch" (i32.const 1)))

(assert_unlinkable
  (module (import "A" "t" (tag (param i64))))
  "incompatible import type")
(assert_unlinkable
  (module (import "A" "t" (func)))
  "incompatible import type")
(assert_unlinkable
  (module (import "A" "nope" (tag)))
  "unknown import")
(assert_invalid
  (module (tag (param i32) (result i32)))
  "non-empty tag result type")
