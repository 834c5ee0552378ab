"""Sensitivity of a chip's across-neuron statistics to the unsourced ([asm]) values of its device model.

For each unsourced value of a device model (Pelgrom and capacitor coefficients, the common
reference factors, the per-core DAC spread, the bias devices' area, the ageing law, the process
corners; in bias mode ``fixed_gate`` also the specific current and the threshold corners) this
computes ``d ln output / d ln value`` by a central difference (the value multiplied by
``exp(+-STEP)``) with common random numbers: the same seed gives the same normal draws, which the
perturbed spreads only rescale, so the difference is smooth even for small samples.

Outputs, for one core of the chip (core 0 biases, ``neurons_per_core`` neurons, ``instances``
chips, the statistics at the start of a run of a chip aged ``age_at_start``):

``ttfs_cv_core``
    CV of the time to first spike across the neurons of a core (mean over chips), under the core's
    DC bias ``soma.i_dc`` (itself mismatched) from rest: the fixed-pattern spread within a core.
``ttfs_cv_chip``
    CV across chips of the core-mean time to first spike: the chip-to-chip spread.
``tau_cv_core``
    CV of the membrane time constant ``c_mem u_t / (kappa i_tau)`` across a core (mean over chips).
``ttfs``
    Mean time to first spike (over neurons and chips).
``drift_day``
    Mean relative rise of the membrane time constant over one day of operation (ageing).

Each row's outputs are taken at the process corner the row belongs to (``"tt"`` unless the value is
a corner's). Temporal noise is off: the outputs are fixed-pattern statistics.

Run: ``python -m mixsig.chip.sensitivity [--model generic_180nm] [--chip dynapse1] [--instances 16]``
(prints the table as markdown; the model must not ``extends`` another).
"""

import argparse
import copy
import dataclasses
import sys
import tomllib

import numpy as np

from mixsig.chip.config import SOMA_FIELDS, load_chip
from mixsig.circuits import soma
from mixsig.constants import thermal_voltage
from mixsig.device.calibration import load_device_model, parse_device_model
from mixsig.device.drift import factor_arrays
from mixsig.device.mismatch import ChipShape, draw_deviations
from mixsig.errors import ConfigError, Problem

STEP = 0.1
"""Relative step of the central difference (the value is multiplied by ``exp(+-STEP)``)."""

DC_FACTOR = 15.0
"""DC bias of the TTFS measurement, in multiples of the core's leak ``soma.i_tau``."""

DAY = 86400.0
"""Operation time of the ageing output, s."""

EXTENDS_MARK = "\n# ---- extends "
"""How :func:`mixsig.device.calibration.load_device_model` joins a model's text to its base's."""

OUTPUTS = ("ttfs_cv_core", "ttfs_cv_chip", "tau_cv_core", "ttfs", "drift_day")
"""Names of the outputs, in table order."""


@dataclasses.dataclass(frozen=True)
class Row:
    """One unsourced value and where it lives in the device model's TOML.

    Attributes
    ----------
    label : str
        Name in the table.
    keys : tuple of str
        Path of one number in the TOML (``("technology", "a_vt")``), or ``("parameters", "*",
        FIELD)`` / ``("parameters", "*", "spread", "core")`` for that key of every parameter entry
        that has it, or ``("parameters", "*", "area")`` for ``w`` and ``l`` of every Pelgrom bias.
    corner : str
        Corner the outputs of this row are taken at.
    """

    label: str
    keys: tuple
    corner: str = "tt"


ROWS = (
    Row("technology.a_vt", ("technology", "a_vt")),
    Row("technology.a_c", ("technology", "a_c")),
    Row("bias device area w l (every bias)", ("parameters", "*", "area")),
    Row("spread.core (every bias)", ("parameters", "*", "spread", "core")),
    Row("reference.chip", ("reference", "chip")),
    Row("reference.core", ("reference", "core")),
    Row("ageing.rate", ("ageing", "rate")),
    Row("ageing.spread", ("ageing", "spread")),
    Row("ageing.tau", ("ageing", "tau")),
    Row("ageing.age_at_start", ("ageing", "age_at_start")),
    Row("corners.ss.i_ref (at ss)", ("corners", "ss", "i_ref"), "ss"),
    Row("corners.ss.c (at ss)", ("corners", "ss", "c"), "ss"),
)
"""The unsourced values of every shipped CMOS device model (``generic_180nm``, which
``dynapse1_180nm`` extends, and ``fdsoi_22nm``). Off by default and so without a log-derivative:
``gradient.vt``, ``noise.excess``; ``dvt_dt`` acts only away from ``t_nominal``; the values that act
only in bias mode ``fixed_gate`` are :data:`FIXED_GATE_ROWS`."""

FIXED_GATE_ROWS = (
    Row("temperature.i_spec", ("temperature", "i_spec")),
    Row("corners.ss.dvt_n (at ss)", ("corners", "ss", "dvt_n"), "ss"),
    Row("corners.ss.dvt_p (at ss)", ("corners", "ss", "dvt_p"), "ss"),
)
"""Rows of a model in bias mode ``fixed_gate``: the specific current converts the nominal currents to
gate voltages, and the threshold corners move every bias current (with ``fixed_current`` the bias
generator copies a reference and they move thresholds only)."""


def model_rows(data):
    """The rows that act in a parsed device-model TOML: :data:`ROWS`, plus :data:`FIXED_GATE_ROWS` in
    bias mode ``fixed_gate``, without the rows whose value the model does not set."""
    rows = ROWS + (FIXED_GATE_ROWS if data["temperature"]["bias"] == "fixed_gate" else ())

    def present(keys):
        if keys[:2] == ("parameters", "*"):
            return True
        table = data
        for key in keys:
            if key not in table:
                return False
            table = table[key]
        return True

    return tuple(row for row in rows if present(row.keys))


def scaled(data, keys, factor):
    """A copy of a parsed device-model TOML with the values at ``keys`` multiplied by ``factor``."""
    data = copy.deepcopy(data)
    if keys[:2] != ("parameters", "*"):
        table = data
        for key in keys[:-1]:
            table = table[key]
        table[keys[-1]] *= factor
        return data
    for entry in data["parameters"].values():
        if keys[2:] == ("area",):
            if entry.get("source") == "bias" and entry.get("distribution") == "pelgrom":
                entry["w"] *= np.sqrt(factor)
                entry["l"] *= np.sqrt(factor)
        elif keys[2:] == ("spread", "core") and "core" in entry.get("spread", {}):
            entry["spread"]["core"] *= factor
    return data


def soma_parameters(model, chip, instances, seed, corner, age_after=0.0):
    """Per-device soma parameters of one core, shaped (instances, neurons_per_core).

    Parameters
    ----------
    model : mixsig.device.calibration.DeviceModel
    chip : mixsig.chip.config.ChipConfig
        Its core-0 biases are the nominal values; ``soma.i_dc`` is set to ``DC_FACTOR`` leaks.
    instances, seed : int
    corner : str
    age_after : float
        Operation time after ``age_at_start``, s.

    Returns
    -------
    mixsig.circuits.soma.SomaParams
    """
    shape = ChipShape(1, chip.neurons_per_core, 1, 1)
    _, variables, attrs = draw_deviations(model, shape, instances, seed, corner)
    deviations = {name: (values, var_attrs) for name, (_, values, var_attrs) in variables.items()
                  if name.startswith("soma.")}
    nominal = {name: float(values[0]) for name, values in chip.biases.items()}
    nominal["soma.i_dc"] = DC_FACTOR * nominal["soma.i_tau"]
    start = model.ageing.age_at_start
    scale = factor_arrays(deviations, attrs, None, start + age_after, nominal, age_origin=start)
    values = {}
    for field in SOMA_FIELDS:
        name, value = f"soma.{field}", np.full((instances, chip.neurons_per_core), nominal[f"soma.{field}"])
        if name in scale:
            factor, units = scale[name]
            value = value + factor if units == "V" else value * factor
        values[field] = value
    return soma.SomaParams(u_t=thermal_voltage(attrs["t_nominal"]), **values)


def first_spike_times(params, dt, max_duration):
    """Time to first spike of every soma from rest under its own ``i_dc``, s, shaped as the parameters.

    Steps :func:`mixsig.circuits.soma.step` until every soma has fired (the spike is timed within
    its step) or ``max_duration`` has passed (``inf`` for the silent ones).
    """
    shape = np.shape(params.i_tau)
    state = soma.initial_state(params, shape)
    first = np.full(shape, np.inf)
    for n in range(int(round(max_duration / dt))):
        state, out = soma.step(state, 0.0, 0.0, params, dt)
        new = out.spiked & ~np.isfinite(first)
        first[new] = n * dt + out.spike_offset[new]
        if np.isfinite(first).all():
            break
    return first


def outputs(model, chip, instances=16, seed=0, corner="tt", dt=2e-5, max_duration=1.0):
    """The outputs (see the module docstring) of one device model, by name."""
    params = soma_parameters(model, chip, instances, seed, corner)
    aged = soma_parameters(model, chip, instances, seed, corner, DAY)
    ttfs = first_spike_times(params, dt, max_duration)
    if not np.isfinite(ttfs).all():
        raise ConfigError([Problem(chip.name, "soma.i_dc", f"{DC_FACTOR:g} x soma.i_tau",
                                   f"a DC bias at which every neuron fires within {max_duration:g} s "
                                   f"({int((~np.isfinite(ttfs)).sum())} did not)")], "sensitivity")
    tau, tau_aged = np.asarray(params.tau), np.asarray(aged.tau)
    return {
        "ttfs_cv_core": float(np.mean(ttfs.std(axis=1) / ttfs.mean(axis=1))),
        "ttfs_cv_chip": float(ttfs.mean(axis=1).std() / ttfs.mean()),
        "tau_cv_core": float(np.mean(tau.std(axis=1) / tau.mean(axis=1))),
        "ttfs": float(ttfs.mean()),
        "drift_day": float(np.mean(np.log(tau_aged / tau))),
    }


def sensitivities(model_name="generic_180nm", chip_name="dynapse1", rows=None, instances=16, seed=0):
    """``d ln output / d ln value`` for every row (default: :func:`model_rows` of the model).

    Returns
    -------
    base : dict of str to dict of str to float
        Outputs of the shipped model at each corner used, ``{corner: {output: value}}``.
    table : dict of str to dict of str to float
        ``{row label: {output: sensitivity}}``.
    """
    chip = load_chip(chip_name)
    shipped = load_device_model(model_name)
    if EXTENDS_MARK in shipped.text:
        raise ConfigError([Problem(model_name, "model.extends", "set", "a device model that does not extend another "
                                   "(perturb the base model)")], "sensitivity")
    data = tomllib.loads(shipped.text)
    rows = model_rows(data) if rows is None else rows
    base, table = {}, {}
    for row in rows:
        if row.corner not in base:
            base[row.corner] = outputs(shipped, chip, instances, seed, row.corner)
        up, down = (outputs(parse_device_model(scaled(data, row.keys, np.exp(sign * STEP)),
                                               f"{model_name} ({row.label})"), chip, instances, seed, row.corner)
                    for sign in (1.0, -1.0))
        table[row.label] = {name: (np.log(up[name]) - np.log(down[name])) / (2.0 * STEP) for name in OUTPUTS}
    return base, table


def markdown(base, table):
    """The table as markdown (sensitivities below 0.005 in magnitude print as 0)."""
    def cell(value):
        return "0" if abs(value) < 5e-3 else f"{value:+.2f}"

    lines = ["| value | " + " | ".join(f"d ln {name}" for name in OUTPUTS) + " |",
             "|---|" + "---|" * len(OUTPUTS)]
    lines += [f"| `{label}` | " + " | ".join(cell(row[name]) for name in OUTPUTS) + " |"
              for label, row in table.items()]
    lines += ["", "Outputs of the shipped model: " + "; ".join(
        f"{corner}: " + ", ".join(f"{name} {value:.4g}" for name, value in values.items())
        for corner, values in base.items())]
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="generic_180nm", help="device model (shipped name or path)")
    parser.add_argument("--chip", default="dynapse1", help="chip config whose core-0 biases are the nominal values")
    parser.add_argument("--instances", type=int, default=16, help="chips sampled")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    base, table = sensitivities(args.model, args.chip, None, args.instances, args.seed)
    print(markdown(base, table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
