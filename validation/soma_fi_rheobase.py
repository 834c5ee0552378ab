"""Silicon soma: f-I curve and rheobase without feedback or adaptation match the closed form.

With ``i_fb_0 = 0`` and the AHP disabled (``i_w_ahp = 0``) the membrane equation
``tau (1 + i_gain/I) dI/dt = I_inf - I``, ``I_inf = (i_gain/i_tau)(I_in - i_tau)``, integrates
exactly from ``i_reset`` to ``i_spkthr`` in::

    T = tau [ (1 + i_gain/I_inf) ln((I_inf - i_reset)/(I_inf - i_spkthr)) + (i_gain/I_inf) ln(i_spkthr/i_reset) ]

so ``f = 1/(t_ref + T)``, and the neuron fires iff ``I_in > i_tau (1 + i_spkthr/i_gain)``
(rheobase). The steady state ``I_inf`` of the full equation is exact; the dynamics are linear
only for ``I >> i_gain``, so the linear-regime interval of the physics reference (section 2.3),
``T_lin = tau ln((I_inf - i_reset)/(I_inf - i_spkthr))``, is an approximation; its error is
printed separately (it is about ``(i_gain/i_spkthr) ln(i_spkthr/i_reset) = 0.27 %`` of ``T`` at
the defaults for strong input). Measured rates are ``(n - 1)/(t_last - t_first)`` from the
emulator at the default step.

Reproduce: ``python validation/soma_fi_rheobase.py``
"""

import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import soma

MULTIPLES = np.array([1.005, 1.02, 1.1, 1.5, 2.0, 5.0, 20.0, 100.0])
"""Inputs as multiples of the closed-form rheobase."""

DURATION = 1.0
"""Simulated time, s."""


def main():
    params = soma.SomaParams(i_fb_0=0.0, i_w_ahp=0.0)
    rheobase = soma.rheobase(params)
    inputs = np.concatenate([[0.995 * rheobase], MULTIPLES * rheobase])
    trains = soma.constant_input_spike_times(
        soma.SomaParams(i_fb_0=0.0, i_w_ahp=0.0, i_dc=inputs[None, :]), DURATION
    )
    checks = [Check("spikes at 0.995 x rheobase", "rheobase i_tau (1 + i_spkthr/i_gain)", 0, trains[0].size, 0, "1", atol=0)]
    exact = soma.interspike_interval(params, inputs[1:])
    print(f"rheobase = {rheobase * 1e9:.6g} nA; linear-regime approximation of T (not a check):")
    print(f"{'I_in/rheobase':>14} {'T exact (ms)':>14} {'T linear (ms)':>14} {'deviation':>10}")
    for multiple, i_in, period, times in zip(MULTIPLES, inputs[1:], exact, trains[1:]):
        i_inf = (params.i_gain / params.i_tau) * (i_in - params.i_tau)
        linear = params.tau * np.log((i_inf - params.i_reset) / (i_inf - params.i_spkthr))
        print(f"{multiple:>14g} {1e3 * period:>14.6g} {1e3 * linear:>14.6g} {100 * (linear / period - 1):>9.3f}%")
        rate = (times.size - 1) / (times[-1] - times[0]) if times.size >= 2 else 0.0
        checks.append(Check(f"f at {multiple:g} x rheobase", "1/(t_ref + T), exact T", 1.0 / (params.t_ref + period), rate, 5e-3, "Hz"))
    return report(__doc__.splitlines()[0], checks)


if __name__ == "__main__":
    sys.exit(main())
