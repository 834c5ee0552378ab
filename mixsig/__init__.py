"""mixsig: an emulator of mixed-signal neuromorphic processors (DYNAP-SE / DYNAP-SE2 family).

Typical use::

    import mixsig
    exp = mixsig.load_experiment("my.toml")     # or mixsig.Experiment(...) in code
    ds = mixsig.run(exp)                         # -> xarray.Dataset (mixsig-1 schema)
    mixsig.load_chip("dynapse2"); mixsig.load_device_model("generic_180nm")
    mixsig.open_dataset("run.nc")                # checks the schema version

The names below are imported on first use, so ``import mixsig`` stays light.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "Experiment": "mixsig.experiment",
    "load_experiment": "mixsig.experiment",
    "default_experiment": "mixsig.experiment",
    "Simulation": "mixsig.engine.simulation",
    "run": "mixsig.engine.simulation",
    "load_chip": "mixsig.chip",
    "Network": "mixsig.chip",
    "compile_network": "mixsig.chip",
    "load_device_model": "mixsig.device",
    "open_dataset": "mixsig.io",
    "to_netcdf": "mixsig.io",
    "combine": "mixsig.io",
    "select": "mixsig.io",
    "from_nir": "mixsig.mapping",
    "to_nir": "mixsig.mapping",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'mixsig' has no attribute {name!r}")
