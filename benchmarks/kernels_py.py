"""Thin re-export of :mod:`wasmbind.kernels.reference` (the pure-Python kernels).

The reference kernels live in the package so that ``python -m wasmbind bench``
works from an installed wasmbind. This file stays for scripts and tests that
load ``benchmarks/kernels_py.py`` by path: it loads the package file by path
as well, so neither the compiled extension nor ``import wasmbind`` is needed.
"""

import importlib.util as _ilu
import pathlib as _pathlib

_spec = _ilu.spec_from_file_location(
    "_wasmbind_kernels_reference",
    _pathlib.Path(__file__).resolve().parent.parent / "wasmbind" / "kernels" / "reference.py")
_ref = _ilu.module_from_spec(_spec)
_spec.loader.exec_module(_ref)

__all__ = list(_ref.__all__)
globals().update({name: getattr(_ref, name) for name in __all__})
__doc__ = _ref.__doc__
