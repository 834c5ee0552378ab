"""Physical constants and process-independent defaults, in SI units.

The defaults follow the DYNAP-SE2 column of the physics reference: ``kappa`` is the mean of
``kappa_n = 0.75`` and ``kappa_p = 0.66``; ``I_0 = 0.5 pA`` is the dark (leakage) current every
implementation clips at. The thermal voltage is computed from temperature (``U_T = k T / q``),
so the default at 300 K is 25.85 mV rather than the rounded 25 mV used by teili and Rockpool.
"""

Q_E = 1.602176634e-19
"""Elementary charge, C."""

K_B = 1.380649e-23
"""Boltzmann constant, J/K."""

T_NOMINAL = 300.0
"""Nominal operating temperature, K."""

KAPPA_N = 0.75
"""Subthreshold slope factor of nFETs (dimensionless)."""

KAPPA_P = 0.66
"""Subthreshold slope factor of pFETs (dimensionless)."""

KAPPA = 0.5 * (KAPPA_N + KAPPA_P)
"""Mean subthreshold slope factor used by the DPI equations (dimensionless)."""

I_0 = 0.5e-12
"""Dark current of a minimum-size transistor, A."""


def thermal_voltage(temperature=T_NOMINAL):
    """Thermal voltage ``U_T = k T / q``.

    Parameters
    ----------
    temperature : float or ndarray
        Absolute temperature, K.

    Returns
    -------
    float or ndarray
        Thermal voltage, V (25.85 mV at 300 K).
    """
    return K_B * temperature / Q_E


U_T = thermal_voltage(T_NOMINAL)
"""Thermal voltage at the nominal temperature, V."""
