"""mixsig: an emulator of mixed-signal neuromorphic processors (DYNAP-SE / DYNAP-SE2 class).

Subthreshold analog circuit models (DPI synapses, silicon AdExp soma, mathematical AdEx) with
per-instance mismatch, drift and noise, on a virtual multi-core chip with an AER router.
"""

__version__ = "0.1.0"
