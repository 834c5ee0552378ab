"""A 10 K temperature step moves each DPI time constant as subthreshold physics predicts.

tau = C Ut(T) / (kappa I_tau(T)) (Bartolozzi & Indiveri 2007). With a temperature-stable bias
current (generic_180nm, bias = "fixed_current") only Ut = kT/q and the device's mismatch factor
exp(kappa dVT / Ut(T)) move: tau(T1)/tau(T0) = (T1/T0) exp(kappa dVT (1/Ut0 - 1/Ut1)), i.e.
+3.33 % for a nominal device from 300 K to 310 K (physics reference 5.2). With a held gate voltage
(fdsoi_22nm, bias = "fixed_gate") the current follows I = I_spec exp(kappa (Vg - VT(T) + dVT)/Ut(T)),
VT(T) = VT0 + dVT/dT (T - T0); the expected value solves Vg at T0 independently (root finding).
Measured: the temperature comes from a TemperatureProfile step, the per-device factors from
mixsig.device.drift.factors at equal age, and tau from a fit to the DPI decay (Iin = 0: (C Ut / kappa) dI/dt
= -I I_tau) integrated with scipy solve_ivp (rtol 1e-10).
"""

import math
import sys

import numpy as np
from scipy import integrate, optimize

from mixsig.checks import Check, report
from mixsig.constants import K_B, Q_E
from mixsig.device import TemperatureProfile, factors, load_device_model, sample_mismatch

T0, T1 = 300.0, 310.0
C_SYN, I_TAU = 2e-12, 20e-12
N_DEVICES = 3


def measured_tau(c, i_tau, kappa, temperature):
    """Fit tau to the DPI decay integrated with solve_ivp."""
    ut = K_B * temperature / Q_E
    rate = kappa * i_tau / (c * ut)
    times = np.linspace(0.0, 3.0 / rate, 50)
    sol = integrate.solve_ivp(lambda t, y: -rate * y, (0.0, times[-1]), [1e-9], t_eval=times, rtol=1e-10, atol=1e-30, method="DOP853")
    slope = np.polyfit(times, np.log(sol.y[0]), 1)[0]
    return -1.0 / slope


def taus(mm, profile, kappa, nominal):
    """Time constants of the first devices before (t = 0) and after (t = 1 s) the step."""
    out = []
    for t in (0.0, 1.0):
        # same device age before and after the step, so that only temperature differs
        f = factors(mm, profile(t), age=0.0, nominal=nominal, names=["ampa.i_tau", "ampa.c_syn"])
        fi = f["ampa.i_tau"].values[0, :N_DEVICES]
        fc = f["ampa.c_syn"].values[0, :N_DEVICES] if "ampa.c_syn" in f else np.ones(N_DEVICES)
        out.append(np.array([measured_tau(C_SYN * c, I_TAU * i, kappa, profile(t)) for c, i in zip(fc, fi)]))
    return out


def main():
    profile = TemperatureProfile([0.0, 0.5, 0.5 + 1e-9], [T0, T0, T1])
    checks = []
    ut0, ut1 = K_B * T0 / Q_E, K_B * T1 / Q_E

    model = load_device_model("generic_180nm")
    kappa = model.parameters["ampa.i_tau"].kappa
    mm = sample_mismatch(model, n_cores=1, neurons_per_core=N_DEVICES, synapses_per_neuron=0, instances=1, seed=3)
    before, after = taus(mm, profile, kappa, None)
    checks.append(Check("nominal device tau(310 K)/tau(300 K)", "T1/T0 (fixed current)", T1 / T0, measured_tau(C_SYN, I_TAU, kappa, T1) / measured_tau(C_SYN, I_TAU, kappa, T0), 1e-6))
    dvt = mm["ampa.i_tau"].values[0, :N_DEVICES]
    for k in range(N_DEVICES):
        expected = (T1 / T0) * math.exp(kappa * dvt[k] * (1 / ut0 - 1 / ut1))
        checks.append(Check(f"180nm device {k}: tau ratio (dVT={1e3 * dvt[k]:+.2f} mV)", "(T1/T0) exp(k dVT (1/Ut0-1/Ut1))", expected, after[k] / before[k], 1e-6))

    model = load_device_model("fdsoi_22nm")
    kappa = model.parameters["ampa.i_tau"].kappa
    temp = model.temperature
    mm = sample_mismatch(model, n_cores=1, neurons_per_core=N_DEVICES, synapses_per_neuron=0, instances=1, seed=3)
    before, after = taus(mm, profile, kappa, {"ampa.i_tau": I_TAU})
    dvt = mm["ampa.i_tau"].values[0, :N_DEVICES]
    vt0 = 0.35  # any VT0: only Vg - VT0 matters

    def current(vg, temperature, offset):
        ut = K_B * temperature / Q_E
        return temp.i_spec * math.exp(kappa * (vg - (vt0 + temp.dvt_dt * (temperature - T0)) + offset) / ut)

    vg = optimize.brentq(lambda v: math.log(current(v, T0, 0.0) / I_TAU), -2.0, 2.0, xtol=1e-15)
    for k in range(N_DEVICES):
        expected = (ut1 / ut0) * current(vg, T0, dvt[k]) / current(vg, T1, dvt[k])
        checks.append(Check(f"22nm device {k}: tau ratio (fixed gate)", "Ut ratio x I(T0)/I(T1), Vg solved", expected, after[k] / before[k], 1e-6))
    return report("Temperature drift of DPI time constants, 300 K -> 310 K", checks)


if __name__ == "__main__":
    sys.exit(main())
