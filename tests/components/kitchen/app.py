"""The guest side of the kitchen-sink test component (built by componentize-py):
echoes every WIT value kind, a guest-defined resource, and calls that go
through the host's Python implementations of the `host` interface."""

import os

from api import Counter  # noqa: F401  (componentize-py finds exported resources by interface module)
from componentize_py_types import Err
from wit_world import exports
from wit_world.imports import host


def _echo(self, x):
    return x


class Api(exports.Api):
    echo_bool = echo_s8 = echo_u8 = echo_s16 = echo_u16 = echo_s32 = echo_u32 = _echo
    echo_s64 = echo_u64 = echo_f32 = echo_f64 = echo_char = echo_string = _echo
    echo_bytes = echo_list = echo_f64s = echo_strings = echo_point = echo_points = _echo
    echo_shape = echo_color = echo_perms = echo_opt = echo_opt2 = echo_tuple = _echo
    echo_results = _echo

    def echo_result(self, x):
        if isinstance(x, Err):
            raise x
        return x.value

    def divide(self, a, b):
        if b == 0:
            raise Err("division by zero")
        return a // b

    def take_counter(self, c):
        return c.get()

    def peek_counter(self, c):
        return c.get()

    def via_host_add(self, a, b):
        return host.add(a, b)

    def via_host_point(self, p):
        return host.echo_point(p)

    def via_host_shape(self, s):
        return host.echo_shape(s)

    def via_host_list(self, xs):
        return host.echo_list(xs)

    def via_host_opt(self, x):
        return host.echo_opt(x)

    def via_host_res(self, x):
        return host.echo_res(x)

    def via_host_fails(self, x):
        try:
            return "ok:%d" % host.fails(x)
        except Err as e:
            return "err:%s" % e.value

    def via_host_misc(self, c, f, t, b):
        return host.echo_misc(c, f, t, b)

    def via_host_log(self, msg):
        host.log(msg)

    def via_host_blob(self, data):
        b = host.Blob(data)
        return (b.size(), host.blob_size(b))

    def trap(self):
        raise RuntimeError("the guest gave up")

    def print_hello(self, name):
        print("hello, %s" % name)

    def env_var(self, name):
        return os.environ.get(name)
