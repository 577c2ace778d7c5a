"""A WASI preview 2 command in Python (built by componentize-py): CPython
compiled to WebAssembly running ``run`` of wasi:cli/run. argv[1] picks what
it does; see the tests in tests/test_component_wasip2.py."""

import os
import sys

from wit_world import exports


def _main(args):
    cmd = args[1] if len(args) > 1 else "hello"
    rest = args[2:]
    if cmd == "hello":
        print("hello from python")
        print("to stderr", file=sys.stderr)
    elif cmd == "args":
        print("\n".join(args))
    elif cmd == "env":
        for k in sorted(os.environ):
            print("%s=%s" % (k, os.environ[k]))
    elif cmd == "cat":
        # os.read until EOF (this CPython's sys.stdin.buffer.read() stops after
        # its first 8 KiB buffer; the raw reads get everything)
        while True:
            data = os.read(0, 65536)
            if not data:
                break
            sys.stdout.buffer.write(data)
    elif cmd == "read":
        try:
            with open(rest[0], "rb") as f:
                sys.stdout.buffer.write(f.read())
        except OSError as exc:
            print("read failed: %s" % exc.__class__.__name__)
            return 3
    elif cmd == "write":
        try:
            with open(rest[0], "w") as f:
                f.write(rest[1])
        except OSError as exc:
            print("write failed: %s" % exc.__class__.__name__)
            return 3
        print("written")
    elif cmd == "list":
        print("\n".join(sorted(os.listdir(rest[0]))))
    elif cmd == "exit":
        return int(rest[0])
    elif cmd == "fail":
        raise RuntimeError("the command gave up")
    elif cmd == "spin":
        n = 0
        while True:
            n += 1
    elif cmd == "hog":
        chunks = []
        try:
            while True:
                chunks.append(bytearray(1 << 20))
        except MemoryError:
            print("out of memory after %d MiB" % len(chunks))
            return 4
    else:
        print("unknown command %r" % cmd, file=sys.stderr)
        return 64
    return 0


class Run(exports.Run):
    def run(self):
        sys.stdout.flush()
        code = _main(sys.argv)
        sys.stdout.flush()
        sys.stderr.flush()
        if code:
            # WASI 0.2's exit takes ok or err: any failure is exit code 1
            os._exit(code)
