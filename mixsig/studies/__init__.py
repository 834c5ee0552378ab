"""Ready-made studies: each runs the engine, analyses the runs and writes datasets, results and figures.

* :func:`~mixsig.studies.characterize.characterize`: TTFS, f-I, CV and ENOB versus population
  size, device model and temperature (``mixsig study characterize``);
* :func:`~mixsig.studies.population.population`: population coding of a scalar, decoding error
  versus N, Fisher information and ML decoding (``mixsig study population``);
* :func:`~mixsig.studies.homeostasis.homeostasis`: homeostatic synaptic scaling of a mismatched
  population, rate CV over time and convergence time versus ``tau_h`` (``mixsig study homeostasis``).
"""

from mixsig.studies.homeostasis import HomeostasisSettings
from mixsig.studies.output import StudyResult

__all__ = ["HomeostasisSettings", "StudyResult"]
