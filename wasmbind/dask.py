"""Kernels and sandboxed WASI jobs on a Dask cluster (``pip install wasmbind[dask]``).

Pure Python over wasmbind's public API; Dask is imported when a function here
is first called (or :class:`WarmModules` first named), not with this module.

* :func:`map_blocks`: an exported scalar function applied element-wise over
  Dask arrays, block by block, with ``Func.map`` on the workers.
* :func:`run_wasi_many`: many WASI programs run with :func:`wasmbind.run_wasi`
  on the cluster, each with its own limits; one outcome per job, in order.
* :class:`WarmModules`: a worker plugin that loads modules into each worker's
  module cache when it starts, so the first task that uses them pays nothing.

Modules travel as pickles (see :mod:`wasmbind.pickling`: compiled artifacts
by default, recompiled from the Wasm binary on a worker whose engine differs)
and are loaded once per worker process. What comes back is plain values:
NumPy arrays, bytes, :class:`~wasmbind.WasiResult` and exceptions, never
views of a worker's linear memory. Each block and each job gets a fresh
Store, so nothing one leaves behind is seen by the next.
"""

from __future__ import annotations

import concurrent.futures
import inspect
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from wasmbind._core import Engine, Instance, Module, Store
from wasmbind.config import Config
from wasmbind.types import FuncType, ValType
from wasmbind.wasi import load_module, run_wasi, sandbox_engine

__all__ = ["map_blocks", "run_wasi_many", "WarmModules"]  # noqa: F822 (WarmModules: module __getattr__)

_FUEL_UNLIMITED = 2**64 - 1
_DTYPES = {ValType.i32: "int32", ValType.i64: "int64", ValType.f32: "float32",
           ValType.f64: "float64"}


# ---------------------------------------------------------------- map_blocks

def _scalar_export(module: Module, name: str) -> FuncType:
    types = {e.name: e.type for e in module.exports}
    if name not in types:
        raise KeyError("the module has no export named %r (exports: %s)"
                       % (name, ", ".join(types) or "none"))
    ft = types[name]
    if not isinstance(ft, FuncType):
        raise TypeError("export %r is a %s, not a function" % (name, type(ft).__name__))
    if len(ft.results) != 1 or not all(t in _DTYPES for t in ft.params + ft.results):
        raise TypeError("map_blocks needs a function of numbers (i32, i64, f32, f64) with one "
                        "result; %r is %s" % (name, ft.signature()))
    if module.imports:
        raise ValueError("map_blocks instantiates the module alone: it must have no imports "
                         "(this one imports %s)" % ", ".join(
                             "%s::%s" % (i.module, i.name) for i in module.imports))
    return ft


def _check_limits(engine: Engine, fuel: Optional[int], timeout: Optional[float]) -> None:
    if fuel is not None and not engine.config.consume_fuel:
        raise ValueError("fuel needs a module compiled on an Engine with Config(consume_fuel=True)")
    if timeout is not None and not engine.config.epoch_interruption:
        raise ValueError("timeout needs a module compiled on an Engine with "
                         "Config(epoch_interruption=True)")


def _apply_block(module: Module, name: str, dtypes: Tuple[str, ...], fuel: Optional[int],
                 timeout: Optional[float], *blocks: Any) -> Any:
    """One block, on a worker: a fresh Store, ``Func.map``, a plain array back."""
    import numpy as np

    shaped = np.broadcast_shapes(*[np.shape(b) for b in blocks if isinstance(b, np.ndarray)])
    args: List[Any] = []
    for b, dtype in zip(blocks, dtypes):
        if isinstance(b, np.ndarray):
            b = np.ascontiguousarray(np.broadcast_to(b, shaped), dtype=dtype).reshape(-1)
        elif isinstance(b, np.generic):
            b = b.item()
        args.append(b)
    with Store(module.engine) as store:
        if module.engine.config.consume_fuel:
            store.set_fuel(_FUEL_UNLIMITED if fuel is None else fuel)
        if timeout is not None:
            store.set_timeout(timeout)
        out = Instance(store, module).exports[name].map(*args)
    return out.reshape(shaped)  # Func.map's own new array: not a view of linear memory


def map_blocks(module: Module, name: str, *arrays: Any, fuel: Optional[int] = None,
               timeout: Optional[float] = None) -> Any:
    """Apply the exported function ``name`` element-wise over Dask arrays.

    ``arrays``: one per parameter of the function, Dask arrays (broadcast
    against each other, blocks aligned as ``dask.array.map_blocks`` aligns
    them) or plain numbers (the same for every element). The function takes
    and returns numbers (i32, i64, f32, f64) and returns one value; inputs are
    converted to its parameter types. Returns a lazy Dask array of its result
    type. The module must have no imports.

    On the workers each block runs in a fresh Store with ``fuel`` (needs an
    engine with ``consume_fuel``) and ``timeout`` seconds (needs epoch
    interruption, the default) as its limits, if given. A trap (including
    running out of fuel or time) raises :class:`~wasmbind.Trap`, with its code
    and frames, from ``compute()``.
    """
    import dask.array as da
    import numpy as np
    from dask.delayed import delayed

    if not isinstance(module, Module):
        raise TypeError("map_blocks takes a wasmbind.Module, not %s" % type(module).__name__)
    ft = _scalar_export(module, name)
    if len(arrays) != len(ft.params):
        raise TypeError("%s is %s: it takes %d array argument%s (%d given)" % (
            name, ft.signature(), len(ft.params), "" if len(ft.params) == 1 else "s", len(arrays)))
    if not any(isinstance(a, da.Array) for a in arrays):
        raise TypeError("map_blocks needs at least one Dask array (the others may be numbers)")
    for i, a in enumerate(arrays):
        if not isinstance(a, (da.Array, int, float, np.generic)) or isinstance(a, bool):
            raise TypeError("map_blocks argument %d must be a Dask array or a number, not %s"
                            % (i + 1, type(a).__name__))
    _check_limits(module.engine, fuel, timeout)
    dtypes = tuple(_DTYPES[p] for p in ft.params)
    out = np.dtype(_DTYPES[ft.results[0]])
    ndim = max(a.ndim for a in arrays if isinstance(a, da.Array))
    # the module as one key of the graph: sent to each worker once, not with every block
    mod = delayed(module, pure=True)
    dask_map_blocks: Any = da.map_blocks
    return dask_map_blocks(_apply_block, mod, name, dtypes, fuel, timeout, *arrays,
                           dtype=out, meta=np.empty((0,) * ndim, dtype=out),
                           token="wasmbind-" + name)


# ---------------------------------------------------------------- run_wasi_many

# run_wasi's keywords a job may set; the engine ones are the batch's
_ENGINE_KEYS = ("config", "engine", "max_wasm_stack")
_JOB_KEYS = frozenset(inspect.signature(run_wasi).parameters) - {"program", *_ENGINE_KEYS}


def _same(value: Any) -> Any:
    return value


def _run_job(module: Module, options: Dict[str, Any]) -> Any:
    """One job, on a worker."""
    return run_wasi(module, **options)


def _job_options(job: Any, defaults: Mapping[str, Any], index: int) -> Dict[str, Any]:
    if isinstance(job, Mapping):
        options = dict(defaults)
        options.update(job)
    elif isinstance(job, (list, tuple)):
        options = dict(defaults, argv=list(job))
    else:
        raise TypeError("job %d must be a dict of run_wasi keywords or an argv list, not %s"
                        % (index, type(job).__name__))
    for key in options:
        if key in _ENGINE_KEYS:
            raise ValueError("job %d: %s is set for the whole batch (run_wasi_many(..., %s=...)): "
                             "each program is compiled once for all its jobs" % (index, key, key))
        if key != "program" and key not in _JOB_KEYS:
            raise TypeError("job %d: %r is not a run_wasi keyword" % (index, key))
    return options


def run_wasi_many(client: Any, jobs: Iterable[Any], *, program: Any = None,
                  config: Optional[Config] = None, max_wasm_stack: Optional[int] = None,
                  errors: str = "return", retries: int = 0, **defaults: Any) -> List[Any]:
    """Run WASI programs on a Dask cluster with :func:`wasmbind.run_wasi`; one
    outcome per job, in the order of ``jobs``.

    ``client``: a ``distributed.Client`` (None: the current one). ``jobs``:
    each a dict of ``run_wasi`` keywords (``program``, ``argv``, ``stdin``,
    ``env``, ``fuel``, ``timeout``, ``max_memory``, ``limits``, ``max_output``,
    ``invoke``, ``text``, ``check``, ...: every job its own limits) or an
    argv list. ``program`` and the other keywords (``**defaults``) apply to
    every job that does not set them. ``config`` and ``max_wasm_stack`` are
    the batch's: each distinct program (a Module, WAT text, bytes, or a path,
    read here on the client) is compiled once, here, and sent to each worker
    once. A Module brings its own engine: jobs with ``fuel`` then need
    ``consume_fuel`` on it.

    Outcomes: a :class:`~wasmbind.WasiResult` for every program that ran,
    however it ended: exit code (``returncode``), trap, fuel or deadline
    (``trap``, ``out_of_fuel``, ``timed_out``), as ``run_wasi`` reports them.
    An exception instead where the job raised (``check=True`` raises traps
    and non-zero exits; a ``LinkError``; a bad argument), arriving whole (a
    Trap with its code and frames), and where the cluster lost the job: a
    worker that dies during a job (killed, out of memory) has the job
    rescheduled by Dask, and a job whose workers keep dying comes back as
    ``distributed.KilledWorker`` (after ``distributed.scheduler.allowed-failures``
    deaths). ``errors="raise"`` raises the first exception (in job order)
    instead, after every job is done. ``retries``: how many times Dask runs
    again a job that raised.

    Bad arguments (an unknown keyword, fuel on an engine without it) and
    programs that do not compile raise here, before anything is sent.
    """
    import distributed

    if errors not in ("return", "raise"):
        raise ValueError("errors must be 'return' or 'raise', got %r" % (errors,))
    if client is None:
        client = distributed.get_client()
    options = [_job_options(job, defaults, i) for i, job in enumerate(jobs)]
    if program is not None:
        for o in options:
            o.setdefault("program", program)
    for i, o in enumerate(options):
        if o.get("program") is None:
            raise ValueError("job %d has no program (give program= or a 'program' key)" % i)

    # each distinct program compiled once, for the limits its jobs ask for
    sources: Dict[Any, List[int]] = {}
    for i, o in enumerate(options):
        sources.setdefault(_program_key(o["program"]), []).append(i)
    modules: Dict[Any, Module] = {}
    for key, idx in sources.items():
        prog = options[idx[0]]["program"]
        needs_fuel = any(options[i].get("fuel") is not None for i in idx)
        if isinstance(prog, Module):
            if config is not None or max_wasm_stack is not None:
                raise ValueError("config and max_wasm_stack cannot be combined with a Module "
                                 "(it brings its engine): set them on its Engine")
            module = prog
        else:
            engine = sandbox_engine(config, fuel=needs_fuel, max_wasm_stack=max_wasm_stack)
            module = load_module(prog, engine)
        for i in idx:
            _check_limits(module.engine, options[i].get("fuel"), options[i].get("timeout"))
        modules[key] = module

    if not options:
        return []
    # every module into the graph once, then the jobs. A task's result rather
    # than scattered data: when the worker holding it dies, the scheduler can
    # make it again (scattered data would be lost, and the jobs with it).
    keys = list(modules)
    scattered = [client.submit(_same, modules[k], pure=False) for k in keys]
    future_of = dict(zip(keys, scattered))
    job_modules = []
    job_options = []
    for o in options:
        job_modules.append(future_of[_program_key(o.pop("program"))])
        job_options.append(o)
    futures = client.map(_run_job, job_modules, job_options, pure=False, retries=retries)
    try:
        distributed.wait(futures)  # type: ignore[no-untyped-call]
        done = [f for f in futures if f.status == "finished"]
        values = dict(zip((f.key for f in done), client.gather(done)))
        outcomes: List[Any] = []
        for f in futures:
            if f.key in values:
                outcomes.append(values[f.key])
            elif f.status == "error":
                outcomes.append(f.exception())
            else:  # cancelled, or lost with its data
                outcomes.append(concurrent.futures.CancelledError(
                    "job %s was %s by the cluster" % (f.key, f.status)))
    finally:
        client.cancel(futures + scattered)
    if errors == "raise":
        for o in outcomes:
            if isinstance(o, BaseException):
                raise o
    return outcomes


def _program_key(program: Any) -> Any:
    if isinstance(program, Module):
        return ("module", id(program))
    if isinstance(program, (bytes, bytearray, memoryview)):
        return ("bytes", bytes(program))
    if isinstance(program, os.PathLike):
        return ("path", os.fspath(program))
    return ("str", program)


# ---------------------------------------------------------------- WarmModules

_WARM_DOC = """A worker plugin that loads modules into the module cache of every
worker, when it is registered and on every worker that starts later::

    client.register_plugin(wasmbind.dask.WarmModules([module]))

The modules travel with the plugin (as pickles: see :mod:`wasmbind.pickling`)
and are loaded on arrival; the plugin keeps them, so they stay loaded. Tasks
that then receive the same module (same engine options, same content) get
the loaded one from the cache, without compiling or deserializing it.
"""


def _make_warm_modules() -> type:
    import distributed

    class WarmModules(distributed.WorkerPlugin):
        __doc__ = _WARM_DOC

        def __init__(self, modules: Sequence[Module], name: Optional[str] = None) -> None:
            from dask.base import tokenize

            self.modules = list(modules)
            for m in self.modules:
                if not isinstance(m, Module):
                    raise TypeError("WarmModules takes wasmbind.Module objects, not %s"
                                    % type(m).__name__)
            self.name = name or "wasmbind-warm-modules-" + tokenize(*self.modules)

        def setup(self, worker: Any) -> None:
            # unpickling the plugin loaded the modules into this process's
            # cache; make their exports known now too
            for m in self.modules:
                _ = m.exports

    WarmModules.__module__ = __name__
    return WarmModules


def __getattr__(name: str) -> Any:
    if name == "WarmModules":  # made on first use: subclassing needs distributed
        cls = _make_warm_modules()
        globals()["WarmModules"] = cls
        return cls
    raise AttributeError("module %r has no attribute %r" % (__name__, name))
