"""Overrides of an experiment by dotted keys: ``mixsig run --set KEY=VALUE`` and ``--sweep``.

A key names one setting of the experiment file (docs/experiments.md):

* a top-level key or a path into its tables: ``duration``, ``seed``, ``mismatch_scale``,
  ``record.interval``, ``populations.exc.size``, ``inputs.in.rate``;
* ``device.<key>``, the device settings by their role: ``device.temperature``, ``device.model``
  (the file's ``device_model``), ``device.noise``, ``device.mismatch``, ``device.mismatch_scale``,
  ``device.drift``;
* any other ``<block>.<field>``: a chip bias set on every core (``soma.i_tau``, ``synapse.i_w_2``),
  as an entry of the file's ``[[biases]]`` would.

Values are TOML values (``5e-12``, ``true``, ``[[0.0, 300.0], [1.0, 310.0]]``, ``"name"``); a value
that is not valid TOML is taken as a string (``device.model=fdsoi_22nm``). The overridden
experiment goes through the same validation as a file (:func:`apply_settings`), so every problem
of every setting is reported at once.
"""

import tomllib

from mixsig.errors import ConfigError, Problem, raise_if_any

DEVICE_KEYS = {"temperature": "temperature", "model": "device_model", "noise": "noise", "mismatch": "mismatch",
               "mismatch_scale": "mismatch_scale", "drift": "drift"}
"""``device.<key>`` -> the top-level key of the experiment file it sets."""


def parse_value(text):
    """A setting's value: the TOML value of ``text``, or ``text`` itself if it is not TOML.

    Parameters
    ----------
    text : str

    Returns
    -------
    object
        int, float, bool, str, list or dict.
    """
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def parse_setting(text):
    """``"KEY=VALUE"`` -> ``(key, value)`` (value parsed by :func:`parse_value`).

    Raises
    ------
    ValueError
        Without ``=`` or with an empty key.
    """
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(f"expected KEY=VALUE, got {text!r}")
    return key.strip(), parse_value(value)


def split_values(text):
    """Split a sweep's values at the commas outside brackets and quotes: ``"1,[2,3],4"`` ->
    ``["1", "[2,3]", "4"]``."""
    parts, depth, quote, start = [], 0, None, 0
    for i, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char in "[{":
            depth += 1
        elif char in "]}":
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def parse_sweep(text):
    """``"KEY=V1,V2,..."`` -> ``(key, [values])``.

    Raises
    ------
    ValueError
        Without ``=``, an empty key or no value.
    """
    key, sep, values = text.partition("=")
    if not sep or not key.strip() or not split_values(values):
        raise ValueError(f"expected KEY=V1,V2,..., got {text!r}")
    return key.strip(), [parse_value(value) for value in split_values(values)]


def _target(key, top_keys):
    """``("bias", name)``, ``("table", path)`` or ``("device", None)`` (an unknown device key)."""
    parts = key.split(".")
    if parts[0] == "device":
        return ("table", (DEVICE_KEYS[parts[1]],)) if len(parts) == 2 and parts[1] in DEVICE_KEYS else ("device", None)
    if parts[0] in top_keys or len(parts) != 2:
        return "table", tuple(parts)
    return "bias", key


def apply_settings(experiment, settings, source="<command line>"):
    """The experiment with settings applied, validated like an experiment file.

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    settings : sequence of (str, object)
        ``(key, value)`` pairs, applied in order (see the module docstring for the keys).
    source : str
        Where the settings come from, for error messages.

    Returns
    -------
    mixsig.experiment.Experiment

    Raises
    ------
    mixsig.errors.ConfigError
        Every problem of the settings and of the resulting experiment.
    """
    from mixsig.experiment import TOP_KEYS, experiment_from_dict

    data = experiment.to_dict()
    problems = []
    for key, value in settings:
        kind, target = _target(key, TOP_KEYS)
        if kind == "device":
            problems.append(Problem(source, key, value, f"one of {', '.join('device.' + k for k in DEVICE_KEYS)}"))
            continue
        if kind == "bias":
            data.setdefault("biases", []).append({target: value})
            continue
        table = data
        for depth, part in enumerate(target[:-1]):
            table = table.setdefault(part, {})
            if not isinstance(table, dict):
                problems.append(Problem(source, key, value, f"a key inside the table {'.'.join(target[:depth + 1])}"))
                break
        else:
            table[target[-1]] = value
    try:
        changed = experiment_from_dict(data, source=experiment.source, text=experiment.text)
    except ConfigError as error:
        problems += error.problems
    raise_if_any(problems, f"experiment {experiment.source} with {source} settings")
    return changed
