"""Pelgrom mismatch gives lognormal subthreshold currents: CV and median of 1e5 draws.

A single device of W = L = 1 um with A_VT = 5 mV um has sigma_VT = A_VT / sqrt(2 W L) = 3.54 mV.
With kappa = 0.705 and Ut = kT/q = 25.85 mV (300 K), ln(I / I_nom) is normal with
sigma_lnI = kappa sigma_VT / Ut, so CV = sqrt(exp(sigma_lnI^2) - 1) = 9.7 % and the median is
I_nom (physics reference section 5.1). Acceptance: CV 9.7 % +- 0.3 %, median within 0.5 %.
"""

import math
import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.constants import thermal_voltage
from mixsig.device import factors, sample_mismatch
from mixsig.device.calibration import parse_device_model

A_VT, W, L, KAPPA, T = 5e-9, 1e-6, 1e-6, 0.705, 300.0
N_DRAWS = 100_000


def model():
    """A calibration with one Pelgrom-distributed bias current."""
    return parse_device_model(
        {
            "model": {"name": "pelgrom_validation"},
            "technology": {"a_vt": A_VT},
            "temperature": {"t_nominal": T, "dvt_dt": -1.5e-3, "bias": "fixed_current"},
            "ageing": {"rate": 0.0, "spread": 0.0, "tau": 1.0},
            "noise": {"shot": False, "flicker": False},
            "parameters": {"soma.i_tau": {"source": "bias", "distribution": "pelgrom", "transistor": "n", "kappa": KAPPA, "w": W, "l": L}},
        },
        "<pelgrom_validation>",
    )


def main():
    mm = sample_mismatch(model(), n_cores=1, neurons_per_core=N_DRAWS, synapses_per_neuron=0, instances=1, seed=2024)
    ratio = factors(mm, T)["soma.i_tau"].values.ravel()  # I / I_nom
    sigma_vt = A_VT / math.sqrt(2 * W * L)
    sigma_ln = KAPPA * sigma_vt / thermal_voltage(T)
    cv_closed = math.sqrt(math.exp(sigma_ln**2) - 1)
    checks = [
        Check("single-device sigma_VT", "Pelgrom A_VT/sqrt(2WL)", 3.54, 1e3 * np.std(mm["soma.i_tau"].values), 0.02, "mV"),
        Check("current CV (acceptance 9.7 +- 0.3 %)", "issue 3 acceptance", 9.7, 100 * np.std(ratio) / np.mean(ratio), 0, "%", atol=0.3),
        Check("current CV vs lognormal closed form", "sqrt(exp(s^2)-1), s=kappa*sigma_VT/Ut", 100 * cv_closed, 100 * np.std(ratio) / np.mean(ratio), 0.02, "%"),
        Check("median current / nominal", "lognormal median = I_nom", 1.0, float(np.median(ratio)), 0.005),
        Check("mean current / nominal", "lognormal mean = exp(s^2/2)", math.exp(sigma_ln**2 / 2), float(np.mean(ratio)), 0.002),
        Check("std of ln(I/I_nom)", "kappa*sigma_VT/Ut", sigma_ln, float(np.std(np.log(ratio))), 0.02),
    ]
    return report("Pelgrom mismatch: lognormal currents, 1e5 draws", checks)


if __name__ == "__main__":
    sys.exit(main())
