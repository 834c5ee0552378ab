"""Device models: calibration files, hierarchical mismatch, temperature/ageing drift, noise, bias generator.

Typical use::

    from mixsig.device import load_device_model, sample_mismatch, factors
    model = load_device_model("generic_180nm")
    mm = sample_mismatch(model, n_cores=4, neurons_per_core=256, synapses_per_neuron=64,
                         instances=8, seed=1)
    f = factors(mm, temperature=310.0, age=3600.0)   # multiplicative factors per device
"""

from mixsig.device.biasgen import BiasGenerator
from mixsig.device.calibration import DeviceModel, load_device_model
from mixsig.device.drift import TemperatureProfile, ageing_shift, factors, factors_at
from mixsig.device.mismatch import (
    PURPOSE_MISMATCH,
    PURPOSE_NOISE,
    PURPOSE_STIMULUS,
    ChipShape,
    instance_seed_sequence,
    sample_mismatch,
)
from mixsig.device.noise import DeviceNoise, FlickerNoise, filtered_shot_noise_variance, shot_noise, shot_noise_sigma

__all__ = [
    "BiasGenerator",
    "ChipShape",
    "DeviceModel",
    "DeviceNoise",
    "FlickerNoise",
    "PURPOSE_MISMATCH",
    "PURPOSE_NOISE",
    "PURPOSE_STIMULUS",
    "TemperatureProfile",
    "ageing_shift",
    "factors",
    "factors_at",
    "filtered_shot_noise_variance",
    "instance_seed_sequence",
    "load_device_model",
    "sample_mismatch",
    "shot_noise",
    "shot_noise_sigma",
]
