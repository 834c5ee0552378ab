"""xarray without an eager import of ``dask.array`` for datasets of numpy arrays.

xarray asks of every array it wraps whether it is a dask array (``isinstance(data,
array_type("dask"))`` in ``xarray.core.variable.as_compatible_data``) and, when dask is installed,
imports ``dask.array`` to answer: about 0.4 CPU-s of every ``mixsig run``, a tenth of a warm start,
though the engine's datasets hold numpy arrays only. No object can be a dask array before
``dask.array`` has been imported, so "not a dask array" is the exact answer until then.
:func:`defer` gives xarray's cache of duck-array modules an entry for dask that answers from
``sys.modules``: no dask array type while ``dask.array`` is not imported, xarray's own entry (and
its ``Array`` type) as soon as something has imported it (``open_dataset(chunks=...)``, a user).

xarray also asks whether each index it builds is a dask collection
(``xarray.namedarray.utils.is_dask_collection``) and imports ``dask.base`` to answer: 0.1 CPU-s of
every run. dask's answer is "no" for any object without a ``__dask_graph__`` attribute, so
:func:`defer` has xarray ask that first and import ``dask.base`` only for an object that has one.
"""

import functools
import sys

try:
    from xarray.namedarray import pycompat
    from xarray.namedarray import utils as namedarray_utils
except ImportError:  # an xarray without the duck-array cache: nothing to defer
    pycompat = namedarray_utils = None


class DeferredDask:
    """xarray's ``DuckArrayModule("dask")``, built only once ``dask.array`` is imported."""

    def _module(self):
        real = pycompat.DuckArrayModule("dask")
        pycompat._cached_duck_array_modules["dask"] = real  # from now on xarray asks its own entry
        return real

    @property
    def type(self):
        """The dask array types: none while ``dask.array`` is not imported."""
        return self._module().type if "dask.array" in sys.modules else ()

    @property
    def module(self):
        return self._module().module

    @property
    def version(self):
        return self._module().version

    @property
    def available(self):
        return self._module().available


def deferred_collection_check(is_dask_collection):
    """xarray's ``is_dask_collection`` answering "no" without importing dask for an object that has
    no ``__dask_graph__`` (dask's own first test, ``dask.base.is_dask_collection``)."""

    @functools.wraps(is_dask_collection)
    def check(x):
        return hasattr(x, "__dask_graph__") and is_dask_collection(x)

    check.deferred = True
    return check


def defer():
    """Install :class:`DeferredDask` in xarray's duck-array cache unless xarray has an entry for dask
    already, and :func:`deferred_collection_check` in place of xarray's dask-collection test."""
    cache = getattr(pycompat, "_cached_duck_array_modules", None)
    if isinstance(cache, dict) and hasattr(pycompat, "DuckArrayModule") and "dask" not in cache:
        cache["dask"] = DeferredDask()
    check = getattr(namedarray_utils, "is_dask_collection", None)
    if check is not None and not getattr(check, "deferred", False):
        namedarray_utils.is_dask_collection = deferred_collection_check(check)
