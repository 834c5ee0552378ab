"""The mapping report: what the mapper had to approximate and what it used of the chip."""

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class CoreSetting:
    """The parameters one core was given (one bias set, shared by its neurons).

    Attributes
    ----------
    core : int
        Core index in each chip (biases are per core index, the same on every chip).
    layers : tuple of str
        NIR neuron nodes with neurons on this core.
    neurons : int
        Neurons placed on it (over every chip).
    tau_mem, tau_syn : float
        Realised nominal time constants, s.
    merged_error : float
        Largest relative deviation of a requested time constant from the shared value chosen
        for the core (0 when every neuron asked for the same), 1.
    """

    core: int
    layers: tuple
    neurons: int
    tau_mem: float
    tau_syn: float
    merged_error: float


@dataclasses.dataclass(frozen=True)
class MappingReport:
    """What a NIR graph became on a chip.

    Attributes
    ----------
    chip : str
    board : tuple of int
    cores : tuple of CoreSetting
    parameter_error : float
        Largest relative error of a neuron's realised nominal time constant against the NIR
        value (merging and bias-generator quantisation together; IF neurons excluded), 1.
    synapses : int
        Nonzero NIR weights.
    dropped : int
        Weights quantised to no synapse (nearer 0 than the smallest level).
    weight_rms_error, weight_max_error : float
        RMS and largest relative error of the realised nominal weight currents of the kept
        synapses against their targets, 1.
    resources : dict of str to (int, int)
        ``name -> (used, available)``: neurons, cores, CAM entries of the busiest neuron
        (``cam_per_neuron``), SRAM entries of the busiest source (``sram_per_neuron``), tags
        of the busiest core (``n_tags``).
    aliased : int
        ``(chip, core, tag)`` keys shared by several sources (``source_address`` chips only).
    notes : tuple of str
        Approximations made, one sentence each.
    """

    chip: str
    board: tuple
    cores: tuple
    parameter_error: float
    synapses: int
    dropped: int
    weight_rms_error: float
    weight_max_error: float
    resources: dict
    aliased: int
    notes: tuple

    def __str__(self):
        lines = [f"NIR graph mapped onto {self.chip} (board {self.board[0]} x {self.board[1]})"]
        for core in self.cores:
            merged = f", merged parameters: spread up to {100 * core.merged_error:.3g} %" if core.merged_error > 0 else ""
            lines.append(f"  core {core.core}: {core.neurons} neurons of {', '.join(core.layers)}; tau_mem "
                         f"{core.tau_mem * 1e3:.4g} ms, tau_syn {core.tau_syn * 1e3:.4g} ms{merged}")
        lines.append(f"  time constants: largest relative error {100 * self.parameter_error:.3g} % "
                     "(core sharing and bias generator)")
        lines.append(f"  weights: {self.synapses} synapses, {self.dropped} dropped; relative error of the kept: "
                     f"rms {100 * self.weight_rms_error:.3g} %, max {100 * self.weight_max_error:.3g} %")
        used = "; ".join(f"{name} {used}/{available}" for name, (used, available) in self.resources.items())
        lines.append(f"  resources: {used}" + (f"; {self.aliased} aliased tags" if self.aliased else ""))
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)


def relative_errors(realised, target):
    """``|realised / target - 1|`` elementwise (empty arrays give an empty result)."""
    return np.abs(np.asarray(realised, dtype=float) / np.asarray(target, dtype=float) - 1.0)
