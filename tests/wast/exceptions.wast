;; Exceptions crossing calls and instances; assert_exception as the spec describes.
(module $M
  (tag $e (export "e") (param i32 f64))
  (tag $empty (export "empty"))
  (func $throw (export "throw") (param i32 f64) (throw $e (local.get 0) (local.get 1)))
  (func (export "throw_empty") (throw $empty))
  (func (export "rethrow") (param i32)
    (block $h (result exnref)
      (try_table (catch_all_ref $h) (call $throw (local.get 0) (f64.const 1.5)))
      (return))
    (throw_ref))
  (func (export "catch_payload") (param i32) (result i32 f64)
    (block $h (result i32 f64)
      (try_table (catch $e $h) (call $throw (local.get 0) (f64.const 2.5)))
      (unreachable)))
  (func (export "nested") (param i32) (result i32)
    (block $outer (result i32 f64)
      (try_table (catch $e $outer)
        (block $inner
          (try_table (catch $empty $inner) (call $throw (local.get 0) (f64.const 0)))))
      (return (i32.const -1)))
    (drop)))
(register "M" $M)

(assert_exception (invoke "throw" (i32.const 1) (f64.const 2)))
(assert_exception (invoke "throw_empty"))
(assert_exception (invoke "rethrow" (i32.const 3)))
(assert_return (invoke "catch_payload" (i32.const 7)) (i32.const 7) (f64.const 2.5))
(assert_return (invoke "nested" (i32.const 9)) (i32.const 9))
;; the store stays usable after an uncaught exception
(assert_return (invoke "catch_payload" (i32.const -1)) (i32.const -1) (f64.const 2.5))

;; an exception thrown in one instance, caught in another
(module
  (import "M" "e" (tag $e (param i32 f64)))
  (import "M" "throw" (func $throw (param i32 f64)))
  (func (export "catch") (result f64) (local $x f64)
    (block $h (result i32 f64)
      (try_table (catch $e $h) (call $throw (i32.const 1) (f64.const 6.25)))
      (unreachable))
    (local.set $x) (drop) (local.get $x))
  (func (export "catch_all") (result i32)
    (block $h
      (try_table (catch_all $h) (call $throw (i32.const 1) (f64.const 0)))
      (return (i32.const 0)))
    (i32.const 1)))
(assert_return (invoke "catch_all") (i32.const 1))
(assert_return (invoke "catch") (f64.const 6.25))
