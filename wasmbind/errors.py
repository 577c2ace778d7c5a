"""wasmbind's exception hierarchy (pure Python: nothing here touches C).

Every failure reported by the engine is turned into one of these classes by
the one choke point in ``_core.pyx`` (``_raise_error`` / ``_raise_call_failure``).
Every one pickles with all its fields (and any attribute set on it, such as
the ``result`` that ``WasiResult.check_returncode`` attaches), so it arrives
whole from a worker process.
"""

import enum
from typing import Any, NamedTuple, Optional, Sequence, Tuple

__all__ = [
    "WasmError",
    "CompileError",
    "LinkError",
    "Trap",
    "WasmException",
    "TrapCode",
    "Frame",
    "WasiExit",
    "ComponentError",
    "StoreClosedError",
    "StoreBusyError",
]


class WasmError(Exception):
    """Base class of every error raised by wasmbind."""

    # The constructor's arguments, then the attributes set on the exception
    # (BaseException's own pickling drops them where __init__ takes others).
    _FIELDS: Tuple[str, ...] = ()

    def __reduce__(self) -> Tuple[Any, ...]:
        if not self._FIELDS:
            return super().__reduce__()  # type: ignore[return-value]
        state = {k: v for k, v in self.__dict__.items() if k not in self._FIELDS}
        return (type(self), tuple(getattr(self, k) for k in self._FIELDS), state or None)


class CompileError(WasmError, ValueError):
    """The bytes or WAT text are not a valid WebAssembly module."""


class LinkError(WasmError):
    """Imports are missing or do not match what the module declares."""


class StoreClosedError(WasmError, ValueError):
    """An object was used after its Store was closed."""


class StoreBusyError(WasmError, RuntimeError):
    """A Store was used from a second thread while a call runs in the first."""


class TrapCode(enum.IntEnum):
    """Why WebAssembly code trapped (the engine's trap codes)."""

    STACK_OVERFLOW = 0
    MEMORY_OUT_OF_BOUNDS = 1
    HEAP_MISALIGNED = 2
    TABLE_OUT_OF_BOUNDS = 3
    INDIRECT_CALL_TO_NULL = 4
    BAD_SIGNATURE = 5
    INTEGER_OVERFLOW = 6
    INTEGER_DIVISION_BY_ZERO = 7
    BAD_CONVERSION_TO_INTEGER = 8
    UNREACHABLE = 9
    INTERRUPT = 10
    OUT_OF_FUEL = 11
    ATOMIC_WAIT_NON_SHARED_MEMORY = 12
    NULL_REFERENCE = 13
    ARRAY_OUT_OF_BOUNDS = 14
    ALLOCATION_TOO_LARGE = 15
    CAST_FAILURE = 16
    CANNOT_ENTER_COMPONENT = 17
    NO_ASYNC_RESULT = 18
    UNHANDLED_TAG = 19
    CONTINUATION_ALREADY_CONSUMED = 20
    DISABLED_OPCODE = 21
    UNCAUGHT_EXCEPTION = 49

    @classmethod
    def _from_engine(cls, value: int) -> Optional["TrapCode"]:
        try:
            return cls(value)
        except ValueError:
            return None


class Frame(NamedTuple):
    """One frame of a WebAssembly backtrace, innermost first."""

    func_index: int
    func_name: Optional[str]
    module_name: Optional[str]
    func_offset: Optional[int]
    module_offset: Optional[int]

    def __str__(self) -> str:
        module = self.module_name or "<unknown>"
        func = self.func_name or "<wasm function %d>" % self.func_index
        where = "?" if self.module_offset is None else "0x%x" % self.module_offset
        return "%s - %s!%s" % (where, module, func)


class Trap(WasmError):
    """WebAssembly code trapped (or was interrupted).

    ``code`` is a :class:`TrapCode` when the engine reports one, else ``None``;
    ``frames`` is the Wasm backtrace, innermost frame first.
    """

    _FIELDS = ("message", "code", "frames")

    def __init__(
        self,
        message: str,
        code: Optional[TrapCode] = None,
        frames: Sequence[Frame] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.frames = tuple(frames)

    def __str__(self) -> str:
        text = self.message
        if self.frames and "wasm backtrace" not in text:
            lines = ["    %d: %s" % (i, f) for i, f in enumerate(self.frames)]
            text += "\nwasm backtrace:\n" + "\n".join(lines)
        return text


class WasmException(WasmError):
    """A WebAssembly exception (exception-handling proposal).

    Raised when a Wasm exception escapes a call into Wasm: ``tag`` is the
    :class:`wasmbind.Tag` it was thrown with, ``payload`` the tuple of its
    values, ``exnref`` the exception object itself (a
    :class:`wasmbind.ExnRef`, which keeps it alive in its store).

    Raise it in a host function to throw into the guest, where ``try_table``
    can catch it: ``WasmException(tag, *payload)`` throws a new exception (the
    payload is checked against the tag's type there; a mismatch is a
    TypeError from the call); ``WasmException(exnref)``, or re-raising a
    caught WasmException, throws that existing exception object again.
    Does not pickle (a Tag lives in one store).
    """

    def __init__(self, tag: Any, *payload: Any) -> None:
        from wasmbind._core import ExnRef

        exnref = None
        if isinstance(tag, ExnRef):
            if payload:
                raise TypeError("WasmException(exnref) takes no payload: the ExnRef has its own")
            exnref = tag
            tag, payload = exnref.tag, exnref.payload
        super().__init__(tag, *payload)
        self.tag = tag
        self.payload = tuple(payload)
        self.exnref = exnref

    def __str__(self) -> str:
        return "uncaught WebAssembly exception (tag %r, payload %r)" % (self.tag, self.payload)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.tag,) + self.payload, self.__dict__ or None)


class ComponentError(WasmError):
    """A component function returned the error case of its ``result<T, E>``;
    ``value`` is the error payload (converted like any component value)."""

    def __init__(self, value: Any = None) -> None:
        super().__init__(value)
        self.value = value

    def __str__(self) -> str:
        return "component function returned an error: %r" % (self.value,)

    def __reduce__(self) -> Tuple[Any, ...]:
        return (type(self), (self.value,))


class WasiExit(WasmError):
    """A WASI program called ``proc_exit(code)``.

    ``wasmbind.run_wasi`` and the CLI turn it into an exit code; it reaches the
    caller only when a WASI function is called directly.
    """

    _FIELDS = ("code",)

    def __init__(self, code: int) -> None:
        super().__init__("WASI program exited with code %d" % code)
        self.code = code
