"""Hierarchical mismatch: neuron-level spread averages out over a population, the core-level term sets a floor.

For the generic_180nm leak bias soma.i_tau, ln(I/I_nom) = r_chip + r_core + kappa (dVT_core + dVT_neuron) / Ut:
the chip's master reference r_chip and the core's bias-generator factor r_core (common to every bias
current) plus the bias's own per-core DAC error and the device term, so s_chip = std(r_chip) and
s_core^2 = std(r_core)^2 + (kappa std(dVT_core) / Ut)^2.
The mean of ln(I/I_nom) over a population of N neurons of one core has standard deviation
sqrt(s_chip^2 + s_core^2 + s_neuron^2 / N): it falls as 1/sqrt(N) while the neuron term dominates
and then stalls at the floor sqrt(s_chip^2 + s_core^2) of the shared bias-generator error.
Measured over 1000 instances x 4 cores.
"""

import math
import sys

import numpy as np

from mixsig.checks import Check, report
from mixsig.constants import thermal_voltage
from mixsig.device import load_device_model, sample_mismatch

N_INSTANCES, N_CORES, PER_CORE = 1000, 4, 256


def main():
    model = load_device_model("generic_180nm")
    stats = model.parameters["soma.i_tau"]
    scale = stats.kappa / thermal_voltage(model.temperature.t_nominal)
    s_chip, s_neuron = model.common.reference_chip, scale * stats.sigma["neuron"]
    s_core = math.hypot(model.common.reference_core, scale * stats.sigma["core"])
    mm = sample_mismatch(model, n_cores=N_CORES, neurons_per_core=PER_CORE, synapses_per_neuron=0, instances=N_INSTANCES, seed=7)
    ln_ratio = scale * mm["soma.i_tau"].values.reshape(N_INSTANCES, N_CORES, PER_CORE)
    tolerance = 4 * math.sqrt(1 / (2 * N_INSTANCES * N_CORES))  # relative standard error of a std, 4 sigma
    checks = []
    for n in (1, 16, 256):
        expected = math.sqrt(s_chip**2 + s_core**2 + s_neuron**2 / n)
        measured = float(np.std(ln_ratio[:, :, :n].mean(axis=2)))
        checks.append(Check(f"std of population mean, N = {n}", "sqrt(s_chip^2+s_core^2+s_n^2/N)", 100 * expected, 100 * measured, tolerance, "%"))
    floor = math.sqrt(s_chip**2 + s_core**2)
    checks.append(Check("floor: std of mean at N=256 vs N->inf", "sqrt(s_chip^2+s_core^2)", 100 * floor, 100 * float(np.std(ln_ratio.mean(axis=2))), 0.06, "%"))
    within = ln_ratio - ln_ratio.mean(axis=2, keepdims=True)
    checks.append(Check("within-core spread (neuron level)", "s_neuron*sqrt(1-1/256)", 100 * s_neuron * math.sqrt(1 - 1 / PER_CORE), 100 * float(np.std(within)), 0.01, "%"))
    core_means = ln_ratio.mean(axis=2)
    between = core_means - core_means.mean(axis=1, keepdims=True)
    checks.append(
        Check("between-core spread within a chip", "sqrt((s_core^2+s_n^2/256)(1-1/4))", 100 * math.sqrt((s_core**2 + s_neuron**2 / PER_CORE) * (1 - 1 / N_CORES)), 100 * float(np.std(between)), tolerance, "%")
    )
    return report("Hierarchical mismatch: averaging and core-level floor", checks)


if __name__ == "__main__":
    sys.exit(main())
