"""Silicon soma: the refractory period caps the firing rate at 1/t_ref.

Under very strong constant input the DPI neuron reaches threshold within microseconds of the end
of its refractory period, so no inter-spike interval can be shorter than
``t_ref = v_ref c_ref / i_ref`` (1 ms at the DYNAP-SE2 defaults: 1.5 pF, 0.7 V, 1.05 nA) and the
rate approaches ``1/t_ref`` from below. Defaults throughout (positive feedback on, default AHP).
Expected rates at finite input are ``1/(t_ref + T)`` with ``T`` the reset-to-threshold time from
``scipy.integrate.solve_ivp`` (DOP853, rtol 1e-10) on the same equations.

Reproduce: ``python validation/soma_refractory_ceiling.py``
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import soma

INPUTS = np.array([1e-6, 10e-6, 100e-6])
"""Input currents, A (40x to 4000x the rheobase without feedback)."""

DURATION = 0.2
"""Simulated time per input, s."""


def main():
    params = soma.SomaParams(i_dc=INPUTS[None, :])
    trains = soma.constant_input_spike_times(params, DURATION)
    t_ref = float(soma.SomaParams().t_ref)
    checks = []
    shortest = min(np.diff(times).min() for times in trains)
    too_short = sum(int(np.sum(np.diff(times) < t_ref)) for times in trains)
    checks.append(Check("ISIs shorter than t_ref (all inputs)", "refractory gating", 0, too_short, 0, "1", atol=0))
    for i_in, times in zip(INPUTS, trains):
        rate = (times.size - 1) / (times[-1] - times[0])
        reference, _ = soma.reference_spike_times(soma.SomaParams(i_dc=float(i_in)), float(i_in), 0.012)
        expected = 1.0 / np.mean(np.diff(reference))
        checks.append(Check(f"rate at {i_in * 1e6:g} uA", "solve_ivp, same equations", expected, rate, 1e-3, "Hz"))
    checks.append(Check("shortest ISI (at 100 uA)", "solve_ivp, same equations", 1e3 / expected, 1e3 * shortest, 1e-3, "ms"))
    checks.append(Check(f"rate at {INPUTS[-1] * 1e6:g} uA vs 1/t_ref", "1/t_ref", 1.0 / t_ref, rate, 0.01, "Hz"))
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
