"""How wasmbind objects cross process boundaries: what pickles, as what, and
the per-process cache of compiled modules that unpickling goes through.

What pickles:

* :class:`~wasmbind.Module`: by default as the engine's serialized artifact,
  a fingerprint of the engine that made it (:func:`fingerprint`) and the
  original Wasm binary. Unpickling loads the artifact when the fingerprint
  equals the receiving process's engine's and the engine accepts it, and
  compiles the binary otherwise: a mismatch costs a compile, never a failure.
  A module made by ``Module.deserialize`` has no binary and pickles as its
  artifact only (it then loads only on a matching engine).
* :class:`~wasmbind.Engine` and :class:`~wasmbind.Config`: as their options.
  An Engine unpickles to :func:`~wasmbind.shared_engine` of those options, the
  one engine per option set of the receiving process; a module unpickles onto
  that engine, so ``Store(module.engine)`` is where to instantiate it.
* :class:`~wasmbind.WasiConfig` as its fields (checked again on arrival: its
  paths name files of the receiving machine), :class:`~wasmbind.WasiResult`,
  the type objects (:mod:`wasmbind.types`) and every exception
  (:mod:`wasmbind.errors`) with all their fields.
* Not ``Store``, ``Instance``, ``Func``, ``Memory``, ``Global``, ``Table``,
  ``Exports``, ``Caller`` nor ``Linker``: they live in one process's memory. They
  raise ``TypeError``: send the Module and instantiate it on the other side.

The module cache: unpickling the same module (same engine options, same
content) again returns the Module loaded the first time, so a module sent
with a thousand tasks is compiled or loaded once per process. It keeps the
:data:`cache_size` most recently used modules (:func:`cache_info`,
:func:`cache_clear`).

Trust: an artifact is native machine code. The engine checks that it was
made by a compatible engine, not what it does, and it runs outside the
sandbox that Wasm code gets. Load module pickles with artifacts only from
parties you trust to run native code on your machine. Setting :data:`artifacts`
to False (or the environment variable ``WASMBIND_PICKLE_ARTIFACTS=0`` before
wasmbind is imported) makes this process send the Wasm binary only and ignore
artifacts in the pickles it receives, compiling the binary instead: compiled
Wasm is validated and sandboxed. (Unpickling data from an untrusted party is
unsafe in itself, whatever it contains: pickle can call any function.)
"""

from __future__ import annotations

import hashlib
import os
import platform
import sys
import threading
from collections import OrderedDict
from typing import Any, Callable, Dict, Hashable, Tuple

from wasmbind._core import WASMTIME_VERSION, Engine, Module
from wasmbind._version import __version__
from wasmbind.config import Config

__all__ = ["artifacts", "cache_size", "fingerprint", "cache_info", "cache_clear"]


def _env_artifacts() -> bool:
    value = os.environ.get("WASMBIND_PICKLE_ARTIFACTS", "1").strip().lower()
    return value not in ("0", "false", "no", "off")


#: Whether this process puts compiled artifacts into the Module pickles it
#: makes and loads the artifacts in the ones it receives. Default True;
#: ``WASMBIND_PICKLE_ARTIFACTS=0`` (or false/no/off) in the environment at
#: import makes it False. Set it to False where module pickles cross a trust
#: boundary (see the module docstring).
artifacts: bool = _env_artifacts()

#: How many compiled modules the per-process cache keeps (the least recently
#: used one leaves first; a module still in use lives on outside the cache).
cache_size: int = 64

# Options that never change the machine code the engine makes: where the
# compilation cache lives, how many threads compile, and the stack limit
# (enforced at run time). Every other option is in the fingerprint.
_RUNTIME_ONLY = frozenset(("cache", "parallel_compilation", "max_wasm_stack"))


def options_key(config: Config) -> Tuple[Tuple[str, Any], ...]:
    """``config``'s options as a hashable key (the shared engines' key too)."""
    return tuple(sorted(config.options().items()))


def fingerprint(config: Config) -> str:
    """What an artifact made by an engine with ``config`` depends on, as text:
    wasmbind and engine versions, the target (OS and machine) and the options
    that change generated code. Artifacts are loaded only where this is equal
    (and the engine, which also checks CPU features, accepts them)."""
    code_options = ", ".join("%s=%r" % kv for kv in options_key(config) if kv[0] not in _RUNTIME_ONLY)
    return "wasmbind %s, wasmtime %s, %s %s, %s-endian; %s" % (
        __version__, WASMTIME_VERSION, sys.platform, platform.machine().lower(), sys.byteorder,
        code_options)


def content_digest(data: bytes) -> str:
    """The digest that names a module's content (of its Wasm binary, or of its
    artifact when it has none)."""
    return hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------- the cache

class _ModuleCache:
    """A bounded LRU of compiled modules, keyed by (options key, digest).

    A module being loaded by one thread is waited for by the others that ask
    for it, so a module arriving with many tasks at once is loaded once.
    """

    def __init__(self) -> None:
        self._entries: "OrderedDict[Hashable, Module]" = OrderedDict()
        self.stats = {"hits": 0, "misses": 0, "deserialized": 0, "compiled": 0, "fallbacks": 0}
        self._after_fork()

    def _after_fork(self) -> None:
        # in a forked child only the forking thread lives on: a lock another
        # thread held, or a load it had begun, would never be let go
        self._lock = threading.Lock()
        self._loading: Dict[Hashable, threading.Lock] = {}

    def get_or_load(self, key: Hashable, engine: Engine, load: Callable[[], Module]) -> Module:
        while True:
            with self._lock:
                m = self._entries.get(key)
                # an engine dropped from shared_engine's cache and made again
                # is another engine: the module must be loaded for the new one
                if m is not None and m.engine is engine:
                    self._entries.move_to_end(key)
                    self.stats["hits"] += 1
                    return m
                busy = self._loading.get(key)
                if busy is None:
                    busy = self._loading[key] = threading.Lock()
                    busy.acquire()
                    self.stats["misses"] += 1
                    break
            with busy:  # another thread is loading it: wait, then look again
                pass
        try:
            m = load()
            with self._lock:
                self._entries[key] = m
                self._entries.move_to_end(key)
                while len(self._entries) > max(cache_size, 0):
                    self._entries.popitem(last=False)
            return m
        finally:
            with self._lock:
                del self._loading[key]
            busy.release()

    def count(self, what: str) -> None:
        with self._lock:
            self.stats[what] += 1

    def info(self) -> Dict[str, int]:
        with self._lock:
            return dict(self.stats, size=len(self._entries), maxsize=cache_size)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            for k in self.stats:
                self.stats[k] = 0


_cache = _ModuleCache()
_count = _cache.count
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_cache._after_fork)


def cache_info() -> Dict[str, int]:
    """The module cache of this process: ``size`` and ``maxsize`` (modules);
    ``hits`` and ``misses`` (unpickled modules found or not); of the misses,
    ``deserialized`` (artifact loaded), ``compiled`` (from the Wasm binary)
    and ``fallbacks`` (an artifact the engine refused, then compiled)."""
    return _cache.info()


def cache_clear() -> None:
    """Forget the cached modules (those still in use live on) and zero the counts."""
    _cache.clear()
