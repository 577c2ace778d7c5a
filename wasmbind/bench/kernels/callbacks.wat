;; wasmbind host-call (wasm -> host) overhead module.
;; Imports  env.host_add : (i32, i32) -> i32   and   env.host_nop : () -> ()
;; Build: wat2wasm callbacks.wat -o callbacks.wasm
(module
  (import "env" "host_add" (func $host_add (param i32 i32) (result i32)))
  (import "env" "host_nop" (func $host_nop))

  ;; call_add(n) -> i32: acc = 0; repeat n times: acc = host_add(acc, 1); return acc
  ;; (with a correct host_add the result is n)
  (func (export "call_add") (param $n i32) (result i32)
    (local $i i32) (local $acc i32)
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (local.set $acc (call $host_add (local.get $acc) (i32.const 1)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loop)))
    (local.get $acc))

  ;; call_nop(n): call host_nop n times
  (func (export "call_nop") (param $n i32)
    (local $i i32)
    (block $done
      (loop $loop
        (br_if $done (i32.ge_s (local.get $i) (local.get $n)))
        (call $host_nop)
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $loop))))
)
