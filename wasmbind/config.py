"""Engine configuration (pure Python; ``Engine`` applies it through the C API).

Every option is validated here, including the combinations of proposals the
engine rejects: the engine's C constructor aborts the process on an invalid
configuration, so none may reach it.
"""

from typing import Any, Dict, List

__all__ = ["Config"]

_OPT_LEVELS = ("none", "speed", "speed_and_size")
_MAX_WASM_STACK = 4 * 1024 * 1024

_PROPOSALS = (
    "wasm_simd",
    "wasm_relaxed_simd",
    "wasm_threads",
    "wasm_reference_types",
    "wasm_bulk_memory",
    "wasm_multi_value",
    "wasm_multi_memory",
    "wasm_memory64",
    "wasm_tail_call",
    "wasm_gc",
    "wasm_function_references",
    "wasm_exceptions",
)

# What the pinned engine enables when a proposal is left at None.
_ENGINE_DEFAULTS = {
    "wasm_simd": True,
    "wasm_relaxed_simd": True,
    "wasm_threads": True,
    "wasm_reference_types": True,
    "wasm_bulk_memory": True,
    "wasm_multi_value": True,
    "wasm_multi_memory": True,
    "wasm_memory64": False,
    "wasm_tail_call": True,
    "wasm_gc": False,
    "wasm_function_references": False,
    "wasm_exceptions": False,
}

# proposal -> proposals it needs (the engine refuses the engine otherwise)
_REQUIRES = {
    "wasm_relaxed_simd": ("wasm_simd",),
    "wasm_threads": ("wasm_bulk_memory",),
    "wasm_reference_types": ("wasm_bulk_memory",),
    "wasm_function_references": ("wasm_reference_types",),
    "wasm_gc": ("wasm_reference_types", "wasm_function_references"),
    "wasm_exceptions": ("wasm_reference_types",),
}

_OPTIONS: Dict[str, Any] = {
    "cranelift_opt_level": "speed",
    "consume_fuel": False,
    "epoch_interruption": False,
    "async_support": False,
    "max_wasm_stack": None,
    "parallel_compilation": None,
    "debug_info": None,
    "cache": False,
    "memory_reservation": None,
    "memory_guard_size": None,
}
_OPTIONS.update({name: None for name in _PROPOSALS})


class Config:
    """Options for an :class:`Engine`; pass them as keywords or set attributes.

    ``cranelift_opt_level``: ``"none"``, ``"speed"`` (default) or ``"speed_and_size"``.
    ``consume_fuel``: count fuel so ``Store.fuel`` limits execution (default off).
    ``epoch_interruption``: compile a check into every loop and function entry
    so wasmbind can reach running Wasm every few milliseconds: that is what
    deadlines, Ctrl-C and letting go of the GIL in long calls need. Off by
    default: the checks slow tight loops (see docs/benchmark-results.md).
    ``max_wasm_stack``: bytes of native stack Wasm may use (engine default 512 KiB);
    calls on a thread with less stack left than that plus 128 KiB are refused.
    ``async_support``: an asyncio engine: its calls, instantiations and host
    functions are awaited (``await func.call_async(...)``, ``async def`` host
    functions) and running Wasm yields to the event loop at every epoch tick;
    the sync call API refuses its stores (see docs/asyncio.md). It needs
    ``epoch_interruption``, which ``Config(async_support=True)`` turns on
    unless told otherwise (an async engine is interruptible whatever profile).
    ``wasm_*``: proposal switches; ``None`` keeps the engine's default.
    ``wasm_threads=True`` also allows shared memories, where a guest can block
    in ``memory.atomic.wait`` beyond the reach of fuel, deadlines and Ctrl-C:
    stores of such engines call without the GIL, and ``run_wasi`` refuses them.
    ``cache``: ``True`` for the engine's default compilation cache, or a path to a
    cache config file. Linear memory never moves: views stay valid across growth.

    Two profiles name the choice in one word:

    ============== ========== ========== ======= ====================== ==
    A Config pickles as its options.
    """

    __slots__ = tuple("_" + k for k in _OPTIONS)

    def __init__(self, **options: Any) -> None:
        for name, default in _OPTIONS.items():
            object.__setattr__(self, "_" + name, default)
        if options.get("async_support") is True and "epoch_interruption" not in options:
            # an async engine yields to the event loop at epoch ticks
            options = dict(options, epoch_interruption=True)
        for name, value in options.items():
            setattr(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _OPTIONS:
            raise AttributeError("Config has no option %r" % name)
        object.__setattr__(self, "_" + name, _check(name, value))

    def __getattr__(self, name: str) -> Any:
        if name in _OPTIONS:
            return object.__getattribute__(self, "_" + name)
        raise AttributeError("Config has no option %r" % name)

    def __dir__(self) -> List[str]:
        return sorted(set(object.__dir__(self)) | set(_OPTIONS))

    @classmethod
    def fast(cls, **options: Any) -> "Config":
        """Kernels at the engine's full speed: no epoch checks, so no deadlines,
        no Ctrl-C and no GIL hand-off while Wasm runs (the default)."""
        return cls(**dict(options, epoch_interruption=False))

    @classmethod
    def sandbox(cls, **options: Any) -> "Config":
        """Interruptible: epoch checks compiled in, so store deadlines, Ctrl-C and
        the GIL hand-off of long calls work, at a cost in tight loops. Add
        ``consume_fuel=True`` for deterministic CPU bounds."""
        return cls(**dict(options, epoch_interruption=True))

    def options(self) -> Dict[str, Any]:
        """Every option and its value, defaults included."""
        return {name: getattr(self, name) for name in _OPTIONS}

    def proposal_enabled(self, name: str) -> bool:
        value = getattr(self, name)
        return _ENGINE_DEFAULTS[name] if value is None else bool(value)

    def validate(self) -> None:
        """Raise ``ValueError`` for a combination the engine would refuse."""
        if self.async_support and not self.epoch_interruption:
            raise ValueError("async_support=True needs epoch_interruption=True: running Wasm "
                             "yields to the event loop at epoch ticks (Config(async_support=True) "
                             "or Config.sandbox(async_support=True) turn it on)")
        if self.async_support and self.wasm_threads is True:
            raise ValueError("async_support=True cannot be combined with wasm_threads=True: a guest "
                             "blocked in memory.atomic.wait would hold up the event loop, which an "
                             "async store never lets go of (run such modules in a sync store)")
        for proposal, needs in _REQUIRES.items():
            if not self.proposal_enabled(proposal):
                continue
            for need in needs:
                if not self.proposal_enabled(need):
                    raise ValueError("%s=True needs %s=True" % (proposal, need))

    def __repr__(self) -> str:
        changed = ["%s=%r" % (k, v) for k, v in self.options().items() if v != _OPTIONS[k]]
        return "Config(%s)" % ", ".join(changed)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Config):
            return NotImplemented
        return self.options() == other.options()

    # pickles as its options, checked again on arrival
    def __getstate__(self) -> Dict[str, Any]:
        return self.options()

    def __setstate__(self, state: Dict[str, Any]) -> None:
        Config.__init__(self, **state)

    __hash__ = None  # type: ignore[assignment]


def _check(name: str, value: Any) -> Any:
    if name == "cranelift_opt_level":
        if value not in _OPT_LEVELS:
            raise ValueError("cranelift_opt_level must be one of %s, got %r" % (", ".join(_OPT_LEVELS), value))
        return value
    if name in ("consume_fuel", "epoch_interruption", "async_support"):
        if not isinstance(value, bool):
            raise TypeError("%s must be a bool, got %r" % (name, value))
        return value
    if name in _PROPOSALS or name in ("parallel_compilation", "debug_info"):
        if value is not None and not isinstance(value, bool):
            raise TypeError("%s must be a bool or None, got %r" % (name, value))
        return value
    if name in ("max_wasm_stack", "memory_reservation", "memory_guard_size"):
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError("%s must be an int or None, got %r" % (name, value))
        if name == "max_wasm_stack" and not 4096 <= value <= _MAX_WASM_STACK:
            # Wasm runs on the calling thread's native stack (8 MiB for the main
            # thread and for Python threads on Linux): leave room for the host.
            raise ValueError("max_wasm_stack must be in [4096, %d] bytes, got %d" % (_MAX_WASM_STACK, value))
        if value < 0 or value >= 2**63:
            raise ValueError("%s out of range: %d" % (name, value))
        return value
    if name == "cache":
        if isinstance(value, bool):
            return value
        if isinstance(value, str):
            return value
        raise TypeError("cache must be a bool or a path to a cache config file, got %r" % (value,))
    raise AssertionError(name)  # pragma: no cover

