"""CV and ENOB of population averages versus N: 1/sqrt(N) law and the shared per-core floor.

Closed forms (physics reference section 7.2, E1). For a quantity with independent per-neuron
relative deviations of CV ``c_i``, averaging groups of ``N`` neurons gives ``CV_N = c_i /
sqrt(N)``: log-log slope -1/2, ENOB ``log2(1/CV_N)`` rising by 1/2 bit per doubling. With a
multiplicative per-core factor of CV ``c_c`` shared by all the neurons of an instance, the
group means pooled over instances have ``CV_N^2 = (1 + c_c^2)(1 + c_i^2/N) - 1``, which levels
off at ``c_c``. A current with Pelgrom mismatch has ``c_i = sqrt(exp(s^2) - 1)``, ``s = kappa
A_VT / (sqrt(2 W L) U_T)`` (docs/calibration.md), and the shared lognormal terms (the chip's
master reference, the core's bias generator, the bias's own per-core DAC error) add in ``ln``:
``c_c = sqrt(exp(s_chip^2 + s_core_ref^2 + s_core^2) - 1)``.

Checked on synthetic lognormal populations (exact), on the emulator's sampled ``soma.i_tau``
(generic_180nm: A_VT = 5 mV um, W = L = 1 um, kappa_n = 0.75, reference CVs chip 10 %, core
3 %, bias DAC core 5 %) and on the time to first spike of a DC-driven core.
"""

import sys

import numpy as np
import xarray as xr

from mixsig.checks import Check, report

SIZES = (1, 2, 4, 8, 16, 32, 64)


def _lognormal(cv, shape, rng):
    sigma = np.sqrt(np.log1p(cv ** 2))
    return np.exp(sigma * rng.standard_normal(shape) - sigma ** 2 / 2)


def _frame(values, name):
    return xr.DataArray(values, dims=("instance", "neuron"), attrs={"units": "1", "long_name": name})


def synthetic_checks():
    from mixsig.analysis.stats import bits_per_doubling, cv_versus_population_size, loglog_slope

    rng = np.random.default_rng(6)
    c_i, c_c = 0.10, 0.05
    independent = _frame(_lognormal(c_i, (64, 256), rng), "independent")
    r = cv_versus_population_size(independent, SIZES, partitions=32, seed=1)
    checks = [
        Check("synthetic: slope of log CV_N vs log N", "CV_N = CV_1/sqrt(N)", -0.5,
              loglog_slope(SIZES, r["cv_within"].values), 0, atol=0.05),
        Check("synthetic: ENOB (levels) per doubling of N", "0.5 log2(2)", 0.5,
              bits_per_doubling(SIZES, r["enob_within"].values), 0, "bit", atol=0.05),
        Check("synthetic: CV_1", "lognormal draw", c_i, float(r["cv_within"].values[0]), 0.03),
    ]
    shared = _lognormal(c_c, (400, 1), rng) * _lognormal(c_i, (400, 256), rng)
    r = cv_versus_population_size(_frame(shared, "with shared term"), SIZES, partitions=8, seed=2)
    for n in (1, 64):
        expected = np.sqrt((1 + c_c ** 2) * (1 + c_i ** 2 / n) - 1)
        checks.append(Check(f"synthetic shared: pooled CV_N at N = {n}", "(1+c_c^2)(1+c_i^2/N)-1", expected,
                            float(r["cv_pooled"].sel(n_pop=n)), 0.1))
    checks.append(Check("synthetic shared: CV_N floor (shared term)", "c_c", c_c, float(r["cv_shared"]), 0.1))
    return checks


def emulator_checks():
    import mixsig
    from mixsig.analysis.stats import bits_per_doubling, cv_versus_population_size, loglog_slope, time_to_first_spike
    from mixsig.constants import thermal_voltage
    from mixsig.experiment import Experiment, Record

    network = {"populations": {"core0": {"size": 256, "core": 0}}}
    exp = Experiment(duration=2e-4, dt=1e-4, instances=128, seed=11, device_model="generic_180nm", noise=False,
                     network=network, record=Record(router=False, parameters=True))
    ds = mixsig.run(exp)
    s = 0.75 * 5e-9 / np.sqrt(2 * 1e-6 * 1e-6) / thermal_voltage(300.0)
    c_i = np.sqrt(np.expm1(s ** 2))
    model = mixsig.load_device_model("generic_180nm")
    s_core = model.parameters["soma.i_tau"].sigma["core"] * 0.75 / thermal_voltage(300.0)
    c_shared = np.sqrt(np.expm1(model.common.reference_chip ** 2 + model.common.reference_core ** 2 + s_core ** 2))
    r = cv_versus_population_size(ds["soma__i_tau"], SIZES, partitions=8, seed=3)
    checks = [
        Check("emulator soma.i_tau: CV_1 (per neuron)", "sqrt(exp(s^2)-1), Pelgrom", c_i, float(r["cv_within"].values[0]), 0.05),
        Check("emulator soma.i_tau: slope of log CV_N", "-1/2", -0.5, loglog_slope(SIZES, r["cv_within"].values), 0, atol=0.05),
        Check("emulator soma.i_tau: shared floor", "reference chip, core; DAC core", c_shared, float(r["cv_shared"]), 0.15),
        Check("emulator soma.i_tau: pooled CV_64", "(1+c_s^2)(1+c_i^2/64)-1", np.sqrt((1 + c_shared ** 2) * (1 + c_i ** 2 / 64) - 1),
              float(r["cv_pooled"].sel(n_pop=64)), 0.15),
    ]
    exp = Experiment(duration=0.06, dt=1e-4, instances=4, seed=12, device_model="generic_180nm", network=network,
                     biases=((0, "soma.i_dc", 5e-10),), record=Record(router=False, parameters=False))
    ttfs = time_to_first_spike(mixsig.run(exp))
    r = cv_versus_population_size(ttfs, SIZES, partitions=32, seed=4)
    checks += [
        Check("emulator TTFS: slope of log CV_N vs log N", "-1/2", -0.5, loglog_slope(SIZES, r["cv_within"].values), 0, atol=0.05),
        Check("emulator TTFS: ENOB per doubling", "+1/2 bit", 0.5, bits_per_doubling(SIZES, r["enob_within"].values), 0, "bit", atol=0.05),
    ]
    return checks


def main():
    return report("CV and ENOB of population averages versus N", synthetic_checks() + emulator_checks())


if __name__ == "__main__":
    sys.exit(main())
