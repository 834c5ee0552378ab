"""NIR bridge: compile a NIR graph onto a chip (:func:`from_nir`) and export a chip network as NIR.

``nir`` (the Neuromorphic Intermediate Representation package) is an optional dependency (the
``interop`` extra): it is imported only to read a ``.nir`` file or to build a graph.
"""

from mixsig.mapping.graph import Graph, Layer, Projection, read_graph
from mixsig.mapping.mapper import Mapping, from_nir, map_nir
from mixsig.mapping.export import to_nir
from mixsig.mapping.quantise import fit_ladder
from mixsig.mapping.reference import simulate_nir
from mixsig.mapping.report import CoreSetting, MappingReport

__all__ = ["CoreSetting", "Graph", "Layer", "Mapping", "MappingReport", "Projection", "fit_ladder", "from_nir",
           "map_nir", "read_graph", "simulate_nir", "to_nir"]
