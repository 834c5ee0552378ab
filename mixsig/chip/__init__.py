"""Chip configurations, boards and the connectivity compiler.

``load_chip(name_or_path)`` reads a validated :class:`ChipConfig`; :class:`Board` is a grid of
chips; :class:`Network` describes populations, inputs and connections and
:func:`compile_network` maps it onto CAM/SRAM/tag tables (:class:`CompiledNetwork`).
"""

from mixsig.chip.config import ROUTER_LEVELS, SYN_TYPES, ChipConfig, RouterLevel, chip_from_dict, load_chip, with_router
from mixsig.chip.network import (
    CompiledNetwork,
    LimitViolation,
    MappingError,
    Network,
    compile_network,
    load_compiled,
    mask_currents,
)
from mixsig.chip.topology import Board

__all__ = [
    "Board",
    "ChipConfig",
    "CompiledNetwork",
    "LimitViolation",
    "MappingError",
    "Network",
    "ROUTER_LEVELS",
    "RouterLevel",
    "SYN_TYPES",
    "chip_from_dict",
    "compile_network",
    "load_chip",
    "load_compiled",
    "mask_currents",
    "with_router",
]
