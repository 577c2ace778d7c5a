;; wasmbind call-overhead module: trivial functions whose cost is almost all
;; host<->wasm call overhead.  Hand-written so it can use multi-value results
;; (swap), which C cannot express.  Build: wat2wasm calls.wat -o calls.wasm
(module
  (memory (export "memory") 1)

  ;; () -> ()
  (func (export "nop"))

  ;; (i32, i32) -> i32, wrapping
  (func (export "add") (param i32 i32) (result i32)
    local.get 0
    local.get 1
    i32.add)

  ;; (i64, i64) -> i64, wrapping
  (func (export "add_i64") (param i64 i64) (result i64)
    local.get 0
    local.get 1
    i64.add)

  ;; (f32, f32) -> f32
  (func (export "add_f32") (param f32 f32) (result f32)
    local.get 0
    local.get 1
    f32.add)

  ;; (f64, f64) -> f64
  (func (export "add_f64") (param f64 f64) (result f64)
    local.get 0
    local.get 1
    f64.add)

  ;; (i32, i32) -> (i32, i32): multi-value result
  (func (export "swap") (param i32 i32) (result i32 i32)
    local.get 1
    local.get 0)

  ;; (i32 x8) -> i32: sum of eight arguments (argument-marshalling cost)
  (func (export "sum8_i32")
    (param i32 i32 i32 i32 i32 i32 i32 i32) (result i32)
    local.get 0 local.get 1 i32.add
    local.get 2 i32.add local.get 3 i32.add
    local.get 4 i32.add local.get 5 i32.add
    local.get 6 i32.add local.get 7 i32.add)
)
