"""Temperature and ageing drift: per-device parameter factors at a temperature and an age.

Model equations (SI units)
--------------------------
Thermal voltage ``Ut(T) = k T / q``. Threshold voltage ``VT(T) = VT0 + dVT/dT * (T - T0)``.
Ageing (BTI-like) threshold shift, per device, log-time law:
``dVT_age(t) = r * log10(1 + t / tau_age)`` with ``r ~ N(rate, spread)`` drawn per device.

For a bias current with sampled offset ``dVT`` (see :mod:`mixsig.device.mismatch`):

- ``bias = "fixed_current"`` (the bias generator delivers a temperature-stable current):
  ``I / I_nom = exp(kappa * (dVT - dVT_age(t)) / Ut(T))``. The nominal current is unchanged; a
  DPI time constant ``tau = C Ut(T) / (kappa I_tau)`` then moves as ``T / T0`` times the change of
  its device factor.
- ``bias = "fixed_gate"`` (the gate voltage set at ``T0`` is held): with
  ``L = ln(I_nom / I_spec) = kappa (Vg - VT0) / Ut(T0)``,
  ``I / I_nom = exp(kappa * (dVT - dVT_age(t)) / Ut(T) + L * (Ut(T0) / Ut(T) - 1)
  - kappa * dVT/dT * (T - T0) / Ut(T))``
  (the temperature dependence of ``I_spec`` itself, through mobility, is neglected).

Capacitors: ``C / C_nom = exp(x)``, no temperature or ageing dependence.
Pulse widths (``t = V_th C / I`` of a pulse extender): ``t / t_nom = exp(x + kappa dVT_age(t) / Ut(T))``
(ageing lowers the extender's current and lengthens the pulse); the extender current is taken as
temperature-stable in both bias modes.
Thresholds (voltages): additive offset ``dV + dVT/dT (T - T0) + dVT_age(t)`` (V).

Leakage (:func:`leakage_factor`): the dark current ``i_0`` that floors every subthreshold current,
and the leakage currents of the circuits, are junction generation currents, proportional to the
intrinsic carrier density ``n_i ~ T^1.5 exp(-E_g / (2 k T))``:
``I(T) / I(T0) = (T/T0)^1.5 exp(-(e_leak / k) (1/T - 1/T0))`` with ``e_leak = E_g / 2 = 0.56 eV``
for silicon, i.e. doubling every 9.0 K near 300 K (a diffusion-dominated leakage, ``~ n_i^2``,
would double every 4.5 K).
"""

import math

import numpy as np

from mixsig.constants import K_B, Q_E, thermal_voltage


class TemperatureProfile:
    """Temperature as a function of time: constant, or piecewise linear between table points.

    Parameters
    ----------
    times : array_like, shape (n,)
        Strictly increasing times, s.
    temperatures : array_like, shape (n,)
        Temperatures at those times, K (> 0). Held constant before the first and after the last
        point.
    """

    def __init__(self, times, temperatures):
        times = np.atleast_1d(np.asarray(times, dtype=float))
        temperatures = np.atleast_1d(np.asarray(temperatures, dtype=float))
        if times.ndim != 1 or times.shape != temperatures.shape or times.size == 0:
            raise ValueError(f"times and temperatures must be 1-D of equal non-zero length, got {times.shape} and {temperatures.shape}")
        if np.any(np.diff(times) <= 0) or not np.all(np.isfinite(times)):
            raise ValueError(f"times must be finite and strictly increasing, got {times.tolist()}")
        if not np.all(temperatures > 0) or not np.all(np.isfinite(temperatures)):
            raise ValueError(f"temperatures must be finite and > 0 K, got {temperatures.tolist()}")
        self.times = times
        self.temperatures = temperatures

    @classmethod
    def constant(cls, temperature):
        """A profile holding one temperature at all times.

        Parameters
        ----------
        temperature : float
            Temperature, K.

        Returns
        -------
        TemperatureProfile
        """
        return cls([0.0], [temperature])

    def __call__(self, t):
        """Temperature at time ``t`` (s; float or array), K."""
        return np.interp(t, self.times, self.temperatures)

    def __repr__(self):
        return f"TemperatureProfile(times={self.times.tolist()}, temperatures={self.temperatures.tolist()})"


def leakage_factor(temperature, t_nominal, e_leak):
    """Factor of the dark and leakage currents at ``temperature`` relative to ``t_nominal``.

    Parameters
    ----------
    temperature, t_nominal : float
        Temperatures, K.
    e_leak : float
        Activation energy, eV (0: no temperature dependence).

    Returns
    -------
    float
        ``(T/T0)^1.5 exp(-(e_leak q / k) (1/T - 1/T0))``, or 1 when ``e_leak = 0``.
    """
    if e_leak == 0:
        return 1.0
    ratio = temperature / t_nominal
    return ratio**1.5 * math.exp(-e_leak * Q_E / K_B * (1.0 / temperature - 1.0 / t_nominal))


def ageing_shift(rate, age, tau):
    """Threshold shift after ``age`` seconds of stress, ``rate * log10(1 + age / tau)``, V.

    Parameters
    ----------
    rate : ndarray
        Per-device rate, V per decade.
    age : float
        Stress time, s (>= 0).
    tau : float
        Onset time, s.
    """
    if np.any(np.asarray(age) < 0):
        raise ValueError(f"age must be >= 0 s, got {age!r}")
    return rate * np.log10(1.0 + np.asarray(age) / tau)


def factors(mismatch, temperature=None, age=0.0, nominal=None, names=None):
    """Per-device multiplicative factors (and voltage offsets) at a temperature and an age.

    Parameters
    ----------
    mismatch : xarray.Dataset
        From :func:`mixsig.device.mismatch.sample_mismatch`.
    temperature : float, optional
        Temperature, K (default: the model's nominal temperature).
    age : float
        Device age (stress time), s.
    nominal : mapping of str to float or ndarray, optional
        Nominal bias currents, A, by parameter name; required for bias parameters when the
        model's bias mode is ``"fixed_gate"``.
    names : iterable of str, optional
        Parameters to evaluate (default: every parameter of ``mismatch``).

    Returns
    -------
    xarray.Dataset
        Same parameter variables and shapes as ``mismatch`` (without the ageing rates):
        factors (units ``"1"``) multiplying the nominal value for biases and capacitors,
        additive offsets (V) for thresholds.
    """
    import xarray as xr

    deviations = {name: (var.values, var.attrs) for name, var in mismatch.data_vars.items()}
    temperature = mismatch.attrs["t_nominal"] if temperature is None else float(temperature)
    out = {}
    for name, (values, units) in factor_arrays(deviations, mismatch.attrs, temperature, age, nominal, names).items():
        kind = "offset" if units == "V" else "factor"
        out[name] = xr.Variable(mismatch[name].dims, values,
                                {"units": units, "long_name": f"{kind} of {name} at T = {temperature:g} K, age {age:g} s"})
    return xr.Dataset(out, coords=mismatch.coords, attrs={**mismatch.attrs, "temperature": temperature, "age": float(age)})


def factor_arrays(deviations, attrs, temperature=None, age=0.0, nominal=None, names=None, age_origin=0.0):
    """:func:`factors` on plain arrays (the engine's per-chunk path, no xarray objects).

    Parameters
    ----------
    deviations : mapping of str to (ndarray, dict)
        ``name -> (values, attrs)`` of the variables of a
        :func:`~mixsig.device.mismatch.sample_mismatch` dataset (native deviations and their
        ``.ageing_rate`` companions).
    attrs : dict
        The dataset's attributes (temperature and ageing laws, bias mode).
    temperature, age, nominal, names :
        As in :func:`factors`.
    age_origin : float
        Age at which the deviations describe the devices, s: the ageing shift counts from there,
        ``rate (log10(1 + age / tau) - log10(1 + age_origin / tau))``. A simulation passes its
        ``age_at_start``, so that the sampled statistics (and the biases) are those of the chip as
        it is at the start of the run, and only the ageing during the run moves them.

    Returns
    -------
    dict of str to (ndarray, str)
        ``name -> (values, units)``: factors (``"1"``) or offsets (``"V"``), shaped as the deviations.
    """
    t0 = attrs["t_nominal"]
    temperature = t0 if temperature is None else float(temperature)
    ut, ut0 = thermal_voltage(temperature), thermal_voltage(t0)
    dvt_temperature = attrs["dvt_dt"] * (temperature - t0)
    out = {}
    selected = None if names is None else set(names)
    for name, (deviation, var_attrs) in deviations.items():
        source = var_attrs.get("source")
        if source is None or (selected is not None and name not in selected):
            continue
        if source == "capacitor":
            out[name] = np.exp(deviation), "1"
            continue
        rate = deviations[f"{name}.ageing_rate"][0]
        aged = ageing_shift(rate, age, attrs["ageing_tau"]) - ageing_shift(rate, age_origin, attrs["ageing_tau"])
        if source == "pulse":
            out[name] = np.exp(deviation + var_attrs["kappa"] * aged / ut), "1"
            continue
        if source == "threshold":
            out[name] = deviation + dvt_temperature + aged, "V"
            continue
        kappa = var_attrs["kappa"]
        exponent = kappa * (deviation - aged) / ut
        if attrs["bias_mode"] == "fixed_gate":
            if nominal is None or name not in nominal:
                raise KeyError(f"bias mode 'fixed_gate' needs the nominal current of {name} (nominal={{'{name}': ...}})")
            current = np.asarray(nominal[name], dtype=float)  # a switched-off (zero) bias keeps factor 1
            overdrive = np.log(np.where(current > 0, current, attrs["i_spec"]) / attrs["i_spec"])
            exponent = exponent + overdrive * (ut0 / ut - 1.0) - kappa * dvt_temperature / ut
        out[name] = np.exp(exponent), "1"
    return out


def factors_at(mismatch, profile, t, age_at_start=0.0, nominal=None, names=None):
    """Factors at simulation time ``t`` under a temperature profile (one call per chunk).

    Parameters
    ----------
    mismatch : xarray.Dataset
    profile : TemperatureProfile
    t : float
        Simulation time, s.
    age_at_start : float
        Device age at ``t = 0``, s; the age at ``t`` is ``age_at_start + t``.
    nominal, names : optional
        As in :func:`factors`.

    Returns
    -------
    xarray.Dataset
    """
    return factors(mismatch, float(profile(t)), age_at_start + t, nominal, names)
