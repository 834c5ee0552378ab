"""Runs for the compiled-kernel tests (``tests/test_kernel_cache.py``), one per fresh process.

``python kernel_probe.py RUN...`` runs each named run of :data:`RUNS` in this process and
prints one JSON line: ``{"spikes": {run: spikes}, "signatures": {kernel: count}}`` where
``signatures`` counts the compiled specialisations of every numba dispatcher of the loaded
mixsig modules. ``python kernel_probe.py dpi`` prints the output current of one DPI after a
pulse, advanced by :func:`mixsig.engine.kernels.advance_dpis` (which calls
:mod:`mixsig.circuits.dpi`): the cache-staleness probe.
"""

import dataclasses
import json
import sys

import numba
import numpy as np

DURATION = 0.05
"""Simulated time of each run, s."""


def _base(**changes):
    from mixsig.experiment import default_experiment

    return dataclasses.replace(default_experiment(), duration=DURATION, **changes)


def _run(experiment, parallel=None, compiled_routing=True):
    from mixsig.engine.simulation import Simulation

    simulation = Simulation(experiment)
    if parallel is not None:
        simulation.parallel = parallel
    simulation.compiled_routing = compiled_routing
    simulation.advance(experiment.duration, progress=False)
    simulation.dataset()
    return int(simulation.n_spikes)


def _adaptation():
    on = ((None, "stp.enable_ampa", 1.0), (None, "stp.enable_nmda", 1.0), (None, "homeostasis.enable", 1.0))
    exp = _base(instances=2)
    return dataclasses.replace(exp, biases=tuple(exp.biases) + on)


RUNS = {
    "nominal": lambda: _run(_base(device_model="none", instances=1)),
    "nominal_parallel": lambda: _run(_base(device_model="none", instances=1), parallel=True),
    "mismatch": lambda: _run(_base(instances=2)),
    "mismatch_serial": lambda: _run(_base(instances=2), parallel=False),
    "python_routing": lambda: _run(_base(instances=2), compiled_routing=False),
    "flicker": lambda: _run(_base(device_model="fdsoi_22nm", instances=1)),
    "adaptation": lambda: _run(_adaptation()),
    "exact": lambda: _run(_base(instances=2, integrator="exact")),
    "exact_delivery": lambda: _run(dataclasses.replace(_adaptation(), integrator="exact", delivery="exact")),
}


def dispatchers():
    """``{module.name: dispatcher}`` of every numba dispatcher defined in a loaded mixsig module."""
    found = {}
    for name, module in list(sys.modules.items()):
        if not name.startswith("mixsig") or module is None:
            continue
        for attr, value in vars(module).items():
            if isinstance(value, numba.core.dispatcher.Dispatcher) and value.py_func.__module__ == name:
                found[f"{name}.{attr}"] = value
    kernels = sys.modules.get("mixsig.engine.kernels")
    for loop in getattr(kernels, "STEP_LOOPS", {}).values():
        found[f"mixsig.engine.kernels.{loop.__name__}"] = loop
    return found


def dpi_probe():
    """Output current (A) of an AMPA DPI 20 steps after one 100 nA pulse, through the engine kernel."""
    from mixsig.circuits.dpi import DPIParams
    from mixsig.engine import kernels

    syn_par = kernels.dpi_table([DPIParams()] * kernels.N_TYPES, (1, 1), 1e-4)
    syn = kernels.resting_synapses(syn_par)
    i_w, mean = np.zeros((1, kernels.N_TYPES)), np.zeros((1, kernels.N_TYPES))
    no_noise = np.zeros((0, 1))
    for step in range(20):
        i_w[0, 0] = 100e-9 if step == 0 else 0.0
        kernels.advance_dpis(0, syn, i_w, no_noise, 1e-4, syn_par, mean)
    return float(syn[0, 0, 0])


def main(names):
    if names == ["dpi"]:
        print(json.dumps({"i_syn": dpi_probe()}))
        return 0
    spikes = {name: RUNS[name]() for name in names}
    signatures = {name: len(d.signatures) for name, d in dispatchers().items()}
    locators = {name: type(d._cache._impl.locator).__name__ for name, d in dispatchers().items()
                if d._cache.__class__.__name__ != "NullCache"}
    print(json.dumps({"spikes": spikes, "signatures": signatures, "locators": locators}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
