"""Time loop over ``(instance, neuron)`` state: stimuli, single-neuron driver, simulation."""

import mixsig.kernel_cache  # noqa: F401  (numba cache keyed on the package's sources; before any kernel)
