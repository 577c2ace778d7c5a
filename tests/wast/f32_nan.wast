;; f32 NaN payloads, bit-exact across the boundary (the other half of issue
;; #10, branch w3val): expected to fail until that work is merged.
(module
  (global $g (export "g") f32 (f32.const nan:0x200000))
  (func (export "snan") (result f32) (f32.reinterpret_i32 (i32.const 0x7fa00000)))
  (func (export "id") (param f32) (result f32) (local.get 0))
  (func (export "bits") (param f32) (result i32) (i32.reinterpret_f32 (local.get 0))))
(assert_return (invoke "snan") (f32.const nan:0x200000))
(assert_return (invoke "id" (f32.const nan:0x200000)) (f32.const nan:0x200000))
(assert_return (invoke "bits" (f32.const nan:0x200000)) (i32.const 0x7fa00000))
(assert_return (invoke "bits" (f32.const -nan:0x1)) (i32.const 0xff800001))
(assert_return (get "g") (f32.const nan:0x200000))
