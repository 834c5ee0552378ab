"""AdEx firing patterns of Naud et al. (2008) on the BrainScaleS-2-like chip, in model time, against solve_ivp.

The same eight parameter rows as ``validation/adex_naud_patterns.py`` (Naud, Marcille, Clopath
and Gerstner, Biol. Cybern. 99:335-347, 2008, as in the Brian 2 example) now run through the
engine on the ``brainscales2`` chip (``neuron_model = "adex"``, the kernel behind the protocol):
nominal devices (``device_model = "none"``), the pattern's parameters as experiment bias
overrides, its step current as a DC step, 600 ms of model time at dt = 0.1 ms. Every voltage is
shifted by ``OFFSET = +0.8 V`` onto the chip's hardware range (the AdEx equations depend on voltage
differences only, so the spike times do not change). For each pattern the spike count equals
that of ``scipy.integrate.solve_ivp`` (DOP853, rtol 1e-12) of the unshifted equations and the spike
times agree within 1 us. The irregular row is chaotic (a perturbation grows about tenfold every
60 ms): the voltage offset makes the rounding of ``V`` about 8 times coarser (the spacing of doubles
near 0.73 V against near 0.07 V), which costs about 55 ms of horizon, so it is held to 1 us over its
first 200 ms (the circuit-level script: 300 ms). The DPIs' dark currents cancel in the input (ampa + nmda - gaba - shunt).
"""

import sys

import numpy as np

import mixsig
from mixsig.checks import Check, report
from mixsig.circuits import adex
from mixsig.experiment import DCStep, Experiment

OFFSET = 0.8
DT = 1e-4
TOL = 1e-6
CHAOTIC_HORIZON = 0.2
SOURCE = "Naud et al. 2008, solve_ivp DOP853 rtol 1e-12"
SLOW = True
VOLTAGES = ("e_l", "v_t", "v_r", "v_cut")


def engine_spikes(params, i_step):
    """Spike times (s, model time) of one nominal neuron of the brainscales2 chip."""
    biases = tuple((None, f"adex.{name}", float(getattr(params, name)) + (OFFSET if name in VOLTAGES else 0.0))
                   for name in ("c_m", "g_l", "e_l", "v_t", "delta_t", "tau_w", "a", "b", "v_r", "v_cut"))
    exp = Experiment(chip="brainscales2", device_model="none", noise=False, duration=adex.NAUD_DURATION, dt=DT,
                     biases=biases, network={"populations": {"p": {"size": 1, "core": 0}}},
                     dc=(DCStep(amplitude=float(i_step), population="p"),))
    ds = mixsig.run(exp, progress=False)
    return np.sort(ds.spike_time.values)


def main():
    checks = []
    for pattern in adex.NAUD_2008:
        params = adex.naud_params(pattern)
        reference = adex.reference_run(params, 0.0, adex.NAUD_DURATION, rtol=1e-12).spike_times
        got = engine_spikes(params, params.i_ext)
        horizon = CHAOTIC_HORIZON if pattern == "irregular spiking" else np.inf
        ref, emu = reference[reference < horizon], got[got < horizon]
        if pattern != "irregular spiking":
            checks.append(Check(f"{pattern}: spike count", SOURCE, float(reference.size), float(got.size), 0.0, atol=0.5,
                                units="1"))
        same = ref.size == emu.size and ref.size > 0
        error = float(np.max(np.abs(ref - emu))) if same else np.inf
        checks.append(Check(f"{pattern}: largest spike-time difference (to {min(horizon, adex.NAUD_DURATION):g} s)",
                            SOURCE, 0.0, error, 0.0, atol=TOL, units="s"))
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
