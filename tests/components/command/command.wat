;; A WASI preview 2 command written against the canonical ABI (built into a
;; component with command.wit by `wasm-tools component embed` + `new`).
;; It acts on the first letter of argv[1]:
;;   h  print "hello from p2\n", return ok          (no argument: the same)
;;   f  return err from run                        (exit code 1)
;;   x  call wasi:cli/exit with err                (exit code 1)
;;   z  call wasi:cli/exit with ok, print nothing after
;;   s  print "spinning\n", then spin forever        (fuel, timeout, Ctrl-C)
;;   m  grow memory by 64 KiB pages until it fails, print "grow failed\n", exit err
;;   t  trap (unreachable)
(module
  (import "wasi:cli/environment@0.2.0" "get-arguments" (func $get_args (param i32)))
  (import "wasi:cli/exit@0.2.0" "exit" (func $exit (param i32)))
  (import "wasi:cli/stdout@0.2.0" "get-stdout" (func $get_stdout (result i32)))
  (import "wasi:io/streams@0.2.0" "[method]output-stream.blocking-write-and-flush"
    (func $write (param i32 i32 i32 i32)))
  (import "wasi:io/streams@0.2.0" "[resource-drop]output-stream" (func $drop_out (param i32)))
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (data (i32.const 64) "hello from p2\n")
  (data (i32.const 96) "grow failed\n")
  (data (i32.const 112) "spinning\n")

  (func (export "cabi_realloc") (param $old i32) (param $old_size i32) (param $align i32) (param $size i32) (result i32)
    (local $p i32)
    ;; bump allocation, aligned; the arguments are all it ever holds
    (local.set $p (i32.and (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
                           (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then unreachable))
    (local.get $p))

  (func $print (param $ptr i32) (param $len i32)
    (local $out i32)
    (local.set $out (call $get_stdout))
    (call $write (local.get $out) (local.get $ptr) (local.get $len) (i32.const 32))
    (call $drop_out (local.get $out)))

  ;; the first byte of argv[1], or 0 without one
  (func $mode (result i32)
    (call $get_args (i32.const 16))        ;; list<string> at 16: ptr, len
    (if (result i32) (i32.lt_u (i32.load (i32.const 20)) (i32.const 2))
      (then (i32.const 0))
      (else
        ;; element 1 is at ptr + 8: (string ptr, string len)
        (if (result i32) (i32.eqz (i32.load offset=12 (i32.load (i32.const 16))))
          (then (i32.const 0))
          (else (i32.load8_u (i32.load offset=8 (i32.load (i32.const 16)))))))))

  (func (export "wasi:cli/run@0.2.0#run") (result i32)
    (local $m i32)
    (local.set $m (call $mode))
    (if (i32.eq (local.get $m) (i32.const 0x66)) (then (return (i32.const 1))))   ;; f
    (if (i32.eq (local.get $m) (i32.const 0x78)) (then (call $exit (i32.const 1)) unreachable))  ;; x
    (if (i32.eq (local.get $m) (i32.const 0x7a)) (then (call $exit (i32.const 0)) unreachable))  ;; z
    (if (i32.eq (local.get $m) (i32.const 0x73)) (then (call $print (i32.const 112) (i32.const 9)) (loop $spin (br $spin))))   ;; s
    (if (i32.eq (local.get $m) (i32.const 0x74)) (then unreachable))               ;; t
    (if (i32.eq (local.get $m) (i32.const 0x6d))                                   ;; m
      (then
        (block $failed
          (loop $grow
            (br_if $failed (i32.eq (memory.grow (i32.const 1)) (i32.const -1)))
            (br $grow)))
        (call $print (i32.const 96) (i32.const 12))
        (call $exit (i32.const 1))
        unreachable))
    (call $print (i32.const 64) (i32.const 14))
    (i32.const 0))
)
