"""Shot noise on a DPI synapse output at equilibrium: variance q I / (2 tau).

White shot noise with one-sided PSD S_I = 2 q I (Sarpeshkar, Delbrueck & Mead 1993), filtered by
the DPI output node, a first-order stage of time constant tau = C Ut / (kappa I_tau) (noise
bandwidth 1 / (4 tau)), has variance 2 q I / (4 tau) = q I / (2 tau) (physics reference 5.3).
The DPI (mixsig.circuits.dpi) is held at an operating point I = (I_g / I_tau) I_w - I_g by a
constant input (a pulse of width dt every step) in its linear regime (I_g / I = 1e-3, so the
small-signal relaxation time is tau to 0.1 %); each step it receives the step-averaged shot
noise current of mixsig.device.noise.shot_noise (sigma = sqrt(q I / dt)). The ensemble variance
over 2000 DPIs x 20 snapshots spaced 1.5 tau apart is compared with q I / (2 tau) (+-5 %).
"""

import math
import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.circuits import dpi
from mixsig.constants import KAPPA, Q_E, U_T
from mixsig.device import PURPOSE_NOISE, filtered_shot_noise_variance, instance_seed_sequence, shot_noise

C_SYN, I_TAU, I_GAIN, I_OUT = 1e-12, 10e-12, 1e-12, 1e-9
DT, N_DPI, N_SNAPSHOTS = 2e-5, 2000, 20


def main():
    i_w = (I_OUT + I_GAIN) * I_TAU / I_GAIN  # steady state (I_g/I_tau) I_w - I_g = I_OUT
    params = dpi.DPIParams(c_syn=C_SYN, i_tau=I_TAU, i_gain=I_GAIN, t_pulse=DT, kappa=KAPPA, u_t=U_T)
    tau = params.tau
    rng = np.random.default_rng(instance_seed_sequence(2024, 0, PURPOSE_NOISE))
    state = dpi.initial_state(params, (N_DPI,))
    state = state._replace(i_syn=np.full(N_DPI, I_OUT))
    settle, spacing = int(round(3 * tau / DT)), int(round(1.5 * tau / DT))
    snapshots = []
    for k in range(settle + N_SNAPSHOTS * spacing):
        state, _ = dpi.step(state, i_w, params, DT, noise=shot_noise(state.i_syn, DT, rng))
        if k >= settle and (k - settle) % spacing == spacing - 1:
            snapshots.append(state.i_syn.copy())
    samples = np.concatenate(snapshots)
    expected = filtered_shot_noise_variance(I_OUT, tau)
    a = math.exp(-DT / tau)
    checks = [
        Check("DPI output variance at equilibrium", "q I / (2 tau)", expected * 1e26, float(np.var(samples)) * 1e26, 0.05, "1e-26 A2"),
        Check("discrete-time variance (1-a)/(1+a) q I/dt", "AR(1), a = exp(-dt/tau)", (1 - a) / (1 + a) * Q_E * I_OUT / DT * 1e26, float(np.var(samples)) * 1e26, 0.05, "1e-26 A2"),
        Check("DPI output mean / operating point", "(Ig/Itau) Iw - Ig", 1.0, float(np.mean(samples)) / I_OUT, 0, "1", atol=5 * math.sqrt(expected / samples.size) / I_OUT),
    ]
    return report("Shot noise on a DPI output at equilibrium", checks)


if __name__ == "__main__":
    sys.exit(main())
