"""Circuit models: one module per circuit (parameters, state, a pure vectorised step)."""

import mixsig.kernel_cache  # noqa: F401  (numba cache keyed on the package's sources; before any kernel)
