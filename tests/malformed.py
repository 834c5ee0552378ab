"""Builders of malformed inputs for ``tests/test_malformed_corpus.py``: valid base files, a small TOML
writer and path-based mutations, so that each corpus case is one row of data."""

import copy
import json
import math
import os
import pathlib
import re
import tomllib

REPO = pathlib.Path(__file__).resolve().parents[1]

DELETE = object()
"""Mutation value that removes the key."""

MARKER = b"FOREIGN-BYTES-7f3a"
"""Bytes put in foreign files; no error message may show them."""

BASE_EXPERIMENT = {
    "duration": 0.02, "dt": 1e-4, "instances": 2, "seed": 1, "chip": "tiny", "device_model": "generic_180nm",
    "temperature": 300.0,
    "populations": {"p": {"size": 2, "core": 0}, "q": {"size": 2, "core": 1}},
    "inputs": {"x": {"size": 2, "kind": "poisson", "rate": 50.0}},
    "connections": [{"pre": "x", "post": "p", "rule": "one_to_one", "syn_type": "ampa", "weight_mask": 1}],
}
"""A valid experiment on the tiny chip (two instances, 20 ms)."""


def base_chip():
    """The parsed ``tiny`` chip config."""
    return tomllib.loads((REPO / "chip_configs" / "tiny.toml").read_text())


def base_calibration(name="generic_180nm"):
    """A parsed shipped calibration file."""
    return tomllib.loads((REPO / "device_models" / f"{name}.toml").read_text())


def _key(key):
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key)


def _scalar(value):
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_scalar(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(k)} = {_scalar(v)}" for k, v in value.items()) + "}"
    raise TypeError(type(value))


def _is_table_array(value):
    return isinstance(value, list) and value and all(isinstance(v, dict) for v in value)


def dumps(data, prefix=""):
    """TOML text of nested dicts (tables), lists of dicts (arrays of tables) and scalars."""
    lines = [f"{_key(k)} = {_scalar(v)}" for k, v in data.items()
             if not isinstance(v, dict) and not _is_table_array(v)]
    for k, v in data.items():
        name = prefix + _key(k)
        if isinstance(v, dict):
            lines.append(f"[{name}]")
            lines.append(dumps(v, name + "."))
        elif _is_table_array(v):
            for item in v:
                lines.append(f"[[{name}]]")
                lines.append(dumps(item, name + "."))
    return "\n".join(lines)


def mutate(data, changes):
    """A deep copy of ``data`` with changes ``{path: value}`` (``DELETE`` removes the key).

    A path is a dotted string (``"inputs.x.rate"``) or a tuple of keys when a key holds a dot
    (``("biases", "soma.i_tau")``); an integer key indexes a list (``("connections", 0, "p")``).
    """
    data = copy.deepcopy(data)
    for path, value in changes.items():
        parts = path.split(".") if isinstance(path, str) else list(path)
        node = data
        for part in parts[:-1]:
            node = node[part] if isinstance(node, list) else node.setdefault(part, {})
        if value is DELETE:
            node.pop(parts[-1], None)
        else:
            node[parts[-1]] = value
    return data


def write(path, content):
    """Write text or bytes to ``path``; return it."""
    path = pathlib.Path(path)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    return path


def special(folder, kind, name):
    """A non-regular or unusual file ``folder/name`` of ``kind``.

    ``fifo``, ``folder``, ``sparse`` (larger than every size limit, no blocks on disk),
    ``missing``, ``devzero`` (a symbolic link to /dev/zero), ``garbage`` (binary bytes with the
    marker), ``badutf8`` (text with invalid UTF-8 and the marker).
    """
    path = pathlib.Path(folder) / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    elif kind == "sparse":
        with open(path, "wb") as stream:
            stream.truncate(2**31)
    elif kind == "devzero":
        path.symlink_to("/dev/zero")
    elif kind == "garbage":
        path.write_bytes(b"\x00\x89PNG\r\n" + MARKER + bytes(range(256)))
    elif kind == "badutf8":
        path.write_bytes(b'name = "' + MARKER + b'\xff\xfe"\n')
    elif kind != "missing":
        raise ValueError(kind)
    return path
