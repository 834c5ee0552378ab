"""Parameter fields with physical metadata, shared by every circuit.

Every circuit keeps its parameters in a frozen dataclass whose fields are declared with
:func:`parameter`. The field metadata (``units``, ``long_name``) is the single source for dataset
attributes and documentation. Values are SI floats, or arrays broadcastable to the
``(instance, neuron)`` (or ``(instance, synapse)``) shape of the state they act on.
"""

import dataclasses

import numpy as np


def parameter(default, units, long_name):
    """Declare a circuit parameter.

    Parameters
    ----------
    default : float
        Default value in SI units.
    units : str
        Unit string (UDUNITS spelling, e.g. ``"A"``, ``"F"``, ``"s"``, ``"V"``, ``"1"``).
    long_name : str
        Human-readable description, as it will appear in datasets.

    Returns
    -------
    dataclasses.Field
    """
    return dataclasses.field(default=default, metadata={"units": units, "long_name": long_name})


def attributes(params_type, name):
    """Return the dataset attributes (``units``, ``long_name``) of one parameter field.

    Parameters
    ----------
    params_type : dataclass type or instance
    name : str
        Field name.

    Returns
    -------
    dict
    """
    for field in dataclasses.fields(params_type):
        if field.name == name:
            return {"units": field.metadata["units"], "long_name": field.metadata["long_name"]}
    raise KeyError(f"{getattr(params_type, '__name__', type(params_type).__name__)} has no parameter {name!r}")


def names(params_type):
    """Names of the parameter fields of a params dataclass, in declaration order."""
    return tuple(field.name for field in dataclasses.fields(params_type))


def require_positive(params, field_names):
    """Raise ``ValueError`` naming every listed field that is not strictly positive everywhere.

    Parameters
    ----------
    params : dataclass instance
    field_names : iterable of str
    """
    bad = [
        f"{name} = {getattr(params, name)!r} (expected > 0 {attributes(params, name)['units']})"
        for name in field_names
        if not np.all(np.asarray(getattr(params, name)) > 0)
    ]
    if bad:
        raise ValueError(f"invalid {type(params).__name__}: " + "; ".join(bad))
