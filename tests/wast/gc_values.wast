;; GC reference values crossing the boundary (the other half of issue #10,
;; branch w3val): expected to fail until that work is merged.
(module
  (type $s (struct (field (mut i32))))
  (type $a (array (mut i64)))
  (func (export "i31") (param i32) (result i31ref) (ref.i31 (local.get 0)))
  (func (export "struct") (result (ref null $s)) (struct.new $s (i32.const 7)))
  (func (export "array_len") (param (ref null $a)) (result i32) (array.len (local.get 0)))
  (func (export "null_any") (result anyref) (ref.null any))
  (func (export "exn") (result exnref) (ref.null exn)))
(assert_return (invoke "i31" (i32.const 5)) (ref.i31))
(assert_return (invoke "struct") (ref.struct))
(assert_return (invoke "null_any") (ref.null any))
(assert_return (invoke "exn") (ref.null exn))
(assert_trap (invoke "array_len" (ref.null array)) "null array reference")
