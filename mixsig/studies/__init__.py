"""Ready-made studies: each runs the engine, analyses the runs and writes datasets, results and figures.

* :func:`~mixsig.studies.characterize.characterize`: TTFS, f-I, CV and ENOB versus population
  size on every chip side by side, each driven through its own input (DYNAP's per-core DC bias at
  every device model, bias mode and temperature; the BrainScaleS-2-like chip before and after
  calibration; a crossbar's conductances; the digital DC register) (``mixsig study characterize``);
* :func:`~mixsig.studies.population.population`: population coding of a scalar, decoding error
  versus N, bias-corrected linear Fisher information and ML decoding (``mixsig study population``);
* :func:`~mixsig.studies.homeostasis.homeostasis`: homeostatic synaptic scaling of a mismatched
  population, rate CV over time and convergence time versus ``tau_h`` (``mixsig study homeostasis``);
* :func:`~mixsig.studies.substrates.substrates`: one encoding task on several chips, DYNAP-style
  population averaging versus BrainScaleS-style per-neuron calibration (``mixsig study substrates``);
* :mod:`~mixsig.studies.operating_point`: the measured rheobase of a chip (drive levels are
  stated relative to it) and a device model at a chosen bias mode.
"""

from mixsig.studies.homeostasis import HomeostasisSettings
from mixsig.studies.output import StudyResult

__all__ = ["HomeostasisSettings", "StudyResult"]
