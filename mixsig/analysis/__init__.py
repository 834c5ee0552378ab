"""Analysis of ``mixsig-1`` datasets: spike statistics, device variability and ENOB
(:mod:`~mixsig.analysis.stats`), population coding (:mod:`~mixsig.analysis.coding`)."""

from mixsig.analysis.coding import (
    decode, interpolate_curves, linear_fisher_information, ml_decode, nef_decoders, poisson_fisher_information,
    poisson_noise_variance, rmse, trial_rates, tuning_curves,
)
from mixsig.analysis.stats import (
    DEFAULT_ENOB, ENOB_CONVENTIONS, bits_per_doubling, cv, cv_versus_population_size, enob_from_cv, enob_sinad,
    enob_uniform, fi_curve, firing_rates, interval_counts, isi_statistics, loglog_slope, sinad_db, time_to_first_spike,
    window_counts,
)

__all__ = [
    "DEFAULT_ENOB", "ENOB_CONVENTIONS", "bits_per_doubling", "cv", "cv_versus_population_size", "decode",
    "enob_from_cv", "enob_sinad", "enob_uniform", "fi_curve", "firing_rates", "interpolate_curves", "interval_counts",
    "isi_statistics", "linear_fisher_information", "loglog_slope", "ml_decode", "nef_decoders",
    "poisson_fisher_information", "poisson_noise_variance", "rmse", "sinad_db", "time_to_first_spike", "trial_rates",
    "tuning_curves", "window_counts",
]
