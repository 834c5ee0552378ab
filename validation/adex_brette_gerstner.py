"""AdEx regular-spiking cell of Brette & Gerstner (2005) under a 1 nA step: spike times and adaptation.

The cell of Brette & Gerstner, J. Neurophysiol. 94:3637-3642 (2005) (C = 281 pF, g_L = 30 nS,
E_L = -70.6 mV, V_T = -50.4 mV, Delta_T = 2 mV, tau_w = 144 ms, a = 4 nS, b = 80.5 pA,
V_r = E_L, V_cut = V_T + 5 Delta_T), at rest when a 1 nA step starts, is run for 1 s with the
emulator (``mixsig.circuits.adex.step``, dt = 0.1 ms) and with ``scipy.integrate.solve_ivp``
(DOP853, rtol 1e-10, event detection at V_cut, reset applied at the event). Checks:

* spike counts equal and every spike time within 1 us of the reference;
* the adaptation signature: the ISIs lengthen monotonically (every ISI >= the previous one - 1 ns) and
  settle to a steady value (the last two ISIs within 0.1 %), first ISI / steady ISI well below 1;
* the sub-threshold steady state under 0.3 nA equals the closed-form fixed point
  ``(g_L + a)(V - E_L) - g_L Delta_T exp((V - V_T)/Delta_T) = I`` (root by ``brentq``).
"""

import sys

import numpy as np
from scipy.optimize import brentq

from mixsig.checks import Check, report
from mixsig.circuits import adex

SOURCE = "Brette & Gerstner 2005"
I_STEP = 1e-9
DURATION = 1.0
DT = 1e-4
SPIKE_TIME_TOL = 1e-6
ISI_SLACK = 1e-9  # s; an ISI may fall short of the previous one by rounding once steady


def fixed_point(params, current):
    """Resting potential under a constant sub-rheobase current, from the closed-form V-nullcline."""

    def balance(v):
        return (
            (params.g_l + params.a) * (v - params.e_l)
            - params.g_l * params.delta_t * np.exp((v - params.v_t) / params.delta_t)
            - current
        )

    # the stable root lies between E_L and the minimum of the balance, V_T + Delta_T ln(1 + a/g_L)
    v_min = params.v_t + params.delta_t * np.log(1 + params.a / params.g_l)
    return brentq(balance, params.e_l, v_min, xtol=1e-15)


def main():
    params = adex.AdExParams()
    n_steps = int(round(DURATION / DT))
    _, (emulated,) = adex.simulate(params, np.full(n_steps, I_STEP), DT)
    reference = adex.reference_run(params, I_STEP, DURATION, rtol=1e-10).spike_times
    checks = [
        Check("spike count, 1 nA for 1 s", "solve_ivp DOP853 rtol 1e-10", len(reference), len(emulated), 0.0,
              "1", atol=0),
    ]
    if len(reference) == len(emulated):
        error = float(np.max(np.abs(emulated - reference)))
        checks.append(Check("max |spike time - reference|", "solve_ivp DOP853 rtol 1e-10", 0.0, error, 0.0, "s",
                            atol=SPIKE_TIME_TOL))
    isi = np.diff(emulated)
    print(f"emulator ISIs (ms): {np.array2string(1e3 * isi, precision=3)}")
    checks += [
        Check("fraction of ISIs >= previous ISI", SOURCE + " (adaptation)", 1.0,
              float(np.mean(np.diff(isi) >= -ISI_SLACK)), 0.0, "1", atol=0.0),
        Check("steady ISI: |ISI_n - ISI_n-1| / ISI_n", SOURCE + " (adaptation)", 0.0,
              float(abs(isi[-1] - isi[-2]) / isi[-1]), 0.0, "1", atol=1e-3),
        Check("first ISI / steady ISI", "reference ISIs (solve_ivp)", float((reference[1] - reference[0])
              / (reference[-1] - reference[-2])), float(isi[0] / isi[-1]), 1e-6),
    ]
    sub_current = 0.3e-9
    state = adex.initial_state(params, (1, 1))
    for _ in range(int(round(3.0 / 1e-3))):
        state, out = adex.step(state, sub_current, params, 1e-3)
        if out.spiked.any():
            break
    v_star = fixed_point(params, sub_current)
    checks += [
        Check("V steady state at 0.3 nA (3 s)", "closed-form fixed point", v_star, float(state.v[0, 0]), 0.0, "V",
              atol=1e-6),
        Check("w steady state at 0.3 nA (3 s)", "w* = a (V* - E_L)", params.a * (v_star - params.e_l),
              float(state.w[0, 0]), 1e-4, "A"),
    ]
    return report("AdEx regular-spiking cell (Brette & Gerstner 2005)", checks)


if __name__ == "__main__":
    sys.exit(main())
