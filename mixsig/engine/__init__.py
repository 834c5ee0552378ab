"""Time loop over ``(instance, neuron)`` state: stimuli, single-neuron driver, simulation."""
