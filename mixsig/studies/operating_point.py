"""Where a study sets the chip: the measured rheobase of a chip, and a device model at a chosen bias mode.

Drive levels relative to the rheobase
-------------------------------------
A study that drives neurons with DC currents states its levels as multiples of the chip's
rheobase, so that it keeps its meaning when the chip's operating point (``soma.i_tau``,
``soma.i_fb_0``, the AHP...) changes. :func:`measure_rheobase` measures it on the nominal chip
(``device_model = "none"``, no noise), as an experimenter would on silicon: the neurons of core 0
receive exact DC steps on a geometric grid (on top of the chip's DC input bias at 0: ``soma.i_dc``,
``adex.i_ext`` or ``lif.i_dc``, :func:`dc_input`), and the bracket
between the largest current that leaves a neuron silent for ``window`` seconds and the smallest
that makes it fire is narrowed run by run to a relative width ``tolerance``. The result is the
smallest DC input that fires the neuron within ``window`` (with positive feedback and adaptation
as configured; the closed form :func:`mixsig.circuits.soma.rheobase` ignores both).

Bias mode of a device model
---------------------------
A calibration file's ``temperature.bias`` says how the bias generator holds a current when the
temperature moves (``fixed_current`` or ``fixed_gate``, docs/calibration.md). To compare
technologies at the same bias mode, :func:`with_bias_mode` writes a copy of the file with
another mode (and the model name suffixed by it) into a folder, next to a copy of its
empirical-table file if it has one; the copy is loaded back to check the mode took effect.
"""

import os
import re
import shutil
import tomllib

import numpy as np

from mixsig.errors import ConfigError, Problem

RHEOBASE_RANGE = (1e-14, 1e-6)
"""Bracket searched for the rheobase, A."""

CALIBRATED = "calibrated"
"""Bias-mode name meaning "as in the calibration file"."""


def _probe(chip, currents, window, dt):
    """Which neurons of core 0 fire within ``window`` under the given exact DC steps (nominal chip;
    the chip's own DC input, :attr:`~mixsig.engine.protocol.NeuronKernel.dc_bias`, at 0)."""
    from mixsig.engine.simulation import run
    from mixsig.experiment import DCStep, Experiment, Record

    exp = Experiment(
        duration=window, dt=dt, instances=1, seed=0, chip=chip, device_model="none", noise=False,
        biases=((None, dc_input(chip), 0.0),),
        network={"populations": {"probe": {"size": len(currents), "core": 0}}},
        dc=tuple(DCStep(amplitude=float(c), neurons=(k,)) for k, c in enumerate(currents)),
        record=Record(router=False),
    )
    return run(exp, progress=False, command="mixsig rheobase probe")["spike_count"].values[0] > 0


def dc_input(chip):
    """The bias holding the DC input current of the chip's neurons (``soma.i_dc``, ``adex.i_ext``, ``lif.i_dc``).

    Parameters
    ----------
    chip : str
        Chip config name or path.
    """
    from mixsig.chip import load_chip
    from mixsig.engine.protocol import kernel_for

    return kernel_for(load_chip(chip).neuron_model, "exact").dc_bias


def measure_rheobase(chip, window=1.0, dt=1e-4, tolerance=1e-3, per_run=None):
    """Smallest DC input that makes a nominal neuron of the chip fire within ``window``, A.

    Parameters
    ----------
    chip : str
        Chip config name or path.
    window : float
        Observation time of each probe, s.
    dt : float
        Engine step, s.
    tolerance : float
        Relative width of the final bracket.
    per_run : int, optional
        Currents probed per run (default: every neuron of a core); fewer need more runs of fewer
        neurons.

    Returns
    -------
    float
        The upper end of the final bracket (a current observed to fire), A.

    Raises
    ------
    ConfigError
        When no current of :data:`RHEOBASE_RANGE` fires, or the smallest already does.
    """
    from mixsig.chip import load_chip

    per_run = min(per_run or load_chip(chip).neurons_per_core, load_chip(chip).neurons_per_core)
    low, high = RHEOBASE_RANGE
    while high / low > 1.0 + tolerance:
        currents = np.geomspace(low, high, per_run + 2)[1:-1]
        fired = _probe(chip, currents, window, dt)
        if not fired.any():
            if high < RHEOBASE_RANGE[1]:
                low = currents[-1]  # only the known-firing upper end fires
                continue
            raise ConfigError([Problem(chip, dc_input(chip), float(high), f"a chip whose neurons fire within {window:g} s "
                                       f"for a DC input of at most {RHEOBASE_RANGE[1]:g} A")], "rheobase")
        first = int(np.argmax(fired))
        if first == 0 and low == RHEOBASE_RANGE[0] and _probe(chip, [low], window, dt)[0]:
            raise ConfigError([Problem(chip, dc_input(chip), float(low), f"a chip whose neurons stay silent at "
                                       f"{RHEOBASE_RANGE[0]:g} A")], "rheobase")
        low, high = (low if first == 0 else currents[first - 1]), currents[first]
    return float(high)


def _replace_in_table(text, table, key, value):
    """``text`` with ``key = value`` set in ``[table]`` (replacing the key's line, or added after the header)."""
    header = re.search(rf"^\[{re.escape(table)}\][ \t]*(#.*)?$", text, re.M)
    if header is None:
        return text + f'\n[{table}]\n{key} = "{value}"\n'
    following = re.search(r"^\[", text[header.end():], re.M)
    end = header.end() + (following.start() if following else len(text) - header.end())
    body = text[header.end():end]
    line = re.compile(rf"^([ \t]*{re.escape(key)}[ \t]*=[ \t]*)(\"[^\"\n]*\").*$", re.M)
    note = "  # set by mixsig.studies.operating_point.with_bias_mode"
    if line.search(body):
        body = line.sub(lambda m: f'{m.group(1)}"{value}"{note} (was {m.group(2)})', body, count=1)
    else:
        body = f'\n{key} = "{value}"{note}' + body
    return text[:header.end()] + body + text[end:]


def with_bias_mode(device_model, mode, folder):
    """A device model identical to ``device_model`` except for its bias mode.

    Parameters
    ----------
    device_model : str
        Shipped name or path of a calibration file.
    mode : str
        ``"fixed_current"``, ``"fixed_gate"`` or :data:`CALIBRATED` (the file's own).
    folder : str
        Where the modified copy is written (with a copy of its netCDF tables, if any).

    Returns
    -------
    str
        ``device_model`` itself when the file already has that mode (or ``mode`` is
        :data:`CALIBRATED`), otherwise the path of the copy.
    """
    from mixsig.device.calibration import load_device_model, resolve

    resource = resolve(device_model)
    text = resource.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    if mode == CALIBRATED or data.get("temperature", {}).get("bias") == mode:
        return device_model
    name = data.get("model", {}).get("name", os.path.basename(str(device_model)).removesuffix(".toml"))
    text = _replace_in_table(_replace_in_table(text, "temperature", "bias", mode), "model", "name", f"{name}-{mode}")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, f"{name}-{mode}.toml")
    tables = data.get("tables", {}).get("file")
    if tables:
        shutil.copyfile(str(resource.parent.joinpath(tables)), os.path.join(folder, tables))
    with open(path, "w", encoding="utf-8") as stream:
        stream.write(text)
    model = load_device_model(path)
    if model.temperature.bias != mode:
        raise ConfigError([Problem(path, "temperature.bias", model.temperature.bias, mode)], "device model at a bias mode")
    return path
