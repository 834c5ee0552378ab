"""Writing TOML (the standard library only reads it): :func:`toml_value` and :func:`dumps`.

Enough of TOML 1.0 for mixsig's own files: strings, booleans, integers, floats (``inf`` and
``nan`` included, every float written with :func:`repr` so that it reads back bit for bit),
arrays, tables and arrays of tables. ``tomllib.loads(dumps(data)) == data`` for any mapping of
those types (tuples and numpy arrays are written as arrays, numpy scalars as their Python
values).
"""

import collections.abc
import json
import math
import re

import numpy as np

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def toml_key(key):
    """A TOML key: bare when it can be, otherwise a quoted basic string.

    Parameters
    ----------
    key : str

    Returns
    -------
    str
    """
    return key if _BARE_KEY.fullmatch(key) else toml_value(key)


def toml_value(value):
    """One TOML value (inline): string, boolean, integer, float, array or inline table.

    Parameters
    ----------
    value : str, bool, int, float, numpy scalar, sequence, numpy array or mapping

    Returns
    -------
    str

    Raises
    ------
    TypeError
        For a value TOML cannot hold (None, objects).
    """
    if isinstance(value, str):
        # JSON escapes are TOML escapes; DEL is the one control character JSON leaves raw.
        return json.dumps(value, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(value, (bool, np.bool_)):
        return "true" if value else "false"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, collections.abc.Mapping):
        return "{" + ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    raise TypeError(f"{type(value).__name__} {value!r} cannot be written as TOML")


def _is_table_array(value):
    return isinstance(value, (list, tuple)) and len(value) > 0 and all(
        isinstance(item, collections.abc.Mapping) for item in value)


def _table(lines, path, table, header):
    simple = [(k, v) for k, v in table.items() if not isinstance(v, collections.abc.Mapping) and not _is_table_array(v)]
    if path and (header == "array" or simple or not table):  # [a] before [a.b] only when a has keys
        name = ".".join(toml_key(part) for part in path)
        lines += ["", f"[[{name}]]" if header == "array" else f"[{name}]"]
    lines += [f"{toml_key(str(k))} = {toml_value(v)}" for k, v in simple]
    for key, value in table.items():
        if isinstance(value, collections.abc.Mapping):
            _table(lines, path + (str(key),), value, "table")
        elif _is_table_array(value):
            for item in value:
                _table(lines, path + (str(key),), item, "array")


def dumps(data, comment=""):
    """A TOML document holding ``data``.

    Parameters
    ----------
    data : mapping
        Top-level table; nested mappings become ``[tables]``, non-empty sequences of mappings
        ``[[arrays of tables]]``.
    comment : str
        Written first, each line as a ``#`` comment.

    Returns
    -------
    str
    """
    lines = [f"# {line}".rstrip() for line in comment.splitlines()]
    _table(lines, (), data, "table")
    return "\n".join(lines).lstrip("\n") + "\n"
