"""Single-neuron job: one silicon soma driven through its AMPA DPI synapse by Poisson input.

The smallest complete experiment: a homogeneous Poisson train of pre-synaptic pulses (rate ``r``)
drives one AMPA DPI (:mod:`mixsig.circuits.dpi`, full nonlinear equation, exact pulse charge),
whose output current is the input of the silicon AdExp soma (:mod:`mixsig.circuits.soma`). The
neuron's NMDA, GABA and SHUNT DPIs are present and idle at their dark current, as on the chip
(their 0.5 pA matter next to a 5.5 pA membrane leak). No mismatch, no noise: the job shows the nominal circuit and serves as the reference the engine
must reproduce.

Weight regime
-------------
With the DYNAP-SE2 defaults (``i_gain = 100 i_tau``, ``t_pulse = 10 us``) a pulse of weight current
``i_w`` starting from a small synaptic current grows it by the log-domain factor
``exp(kappa (i_w - i_tau) t_pulse / (C U_T))`` — about 1 % for ``i_w = 1 nA`` — so the synapse only
delivers its nominal charge ``(i_gain/i_tau) i_w t_pulse`` once ``I_syn >> i_gain``. The default
weight (100 nA, within the bias generator's coarse-4 range) makes one pulse multiply a small
``I_syn`` by about 3, so that 200 Hz of input lifts the AMPA DPI into its linear regime.
"""

from dataclasses import dataclass

import numpy as np

from mixsig.circuits import soma, synapses
from mixsig.engine.kernels import N_TYPES
from mixsig.engine.philox import silent_step
from mixsig.engine.protocol import KERNELS
from mixsig.engine.stimuli import bin_times, poisson_times
from mixsig.errors import ConfigError, Problem, is_finite, is_int, raise_if_any

MAX_TRAINS = 10**5
"""Most copies of the neuron in one job."""

MAX_INPUT_SPIKES = 10**8
"""Most input spikes of a job, over all trains (0.8 GB as float64 times)."""


@dataclass(frozen=True)
class SingleNeuronJob:
    """What the single-neuron job simulates.

    Attributes
    ----------
    rate : float
        Poisson input rate, Hz.
    duration : float
        Simulated time, s.
    seed : int
        Seed of the input trains (through ``numpy.random.SeedSequence``).
    trains : int
        Independent copies of the neuron, each driven by its own Poisson train; the reported rate
        is their mean, so more trains give a tighter estimate.
    i_w : float
        Weight current of one AMPA pulse, A.
    dt : float
        Time step, s.
    synapse : synapses.SynapseParams
        Parameters of the neuron's four DPIs; the input drives the AMPA one.
    neuron : soma.SomaParams
        Soma parameters.
    integrator : str
        The engine's integrator, ``"exact"`` or ``"fast"`` (:data:`mixsig.engine.protocol.KERNELS`).
    """

    rate: float = 200.0
    duration: float = 2.0
    seed: int = 0
    trains: int = 1
    i_w: float = 100e-9
    dt: float = 1e-4
    synapse: synapses.SynapseParams = synapses.SynapseParams()
    neuron: soma.SomaParams = soma.SomaParams()
    integrator: str = "exact"

    def check(self):
        """Raise :class:`ConfigError` listing every out-of-range field."""
        problems = []
        finite = {key: is_finite(getattr(self, key)) for key in ("rate", "duration", "i_w", "dt")}
        spikes = self.rate * self.duration * self.trains if all(finite.values()) and is_int(self.trains) else 0
        for key, value, ok, expected in (
            ("rate", self.rate, finite["rate"] and self.rate >= 0, "a finite rate >= 0 Hz"),
            ("duration", self.duration, finite["duration"] and self.duration > 0, "a finite duration > 0 s"),
            ("seed", self.seed, is_int(self.seed) and 0 <= self.seed < 2**64, "an integer in [0, 2**64)"),
            ("trains", self.trains, is_int(self.trains) and 1 <= self.trains <= MAX_TRAINS,
             f"an integer in [1, {MAX_TRAINS}]"),
            ("i_w", self.i_w, finite["i_w"] and 0 <= self.i_w <= 1e-3, "a weight current in [0, 1e-3] A (SI units)"),
            ("dt", self.dt, finite["dt"] and finite["duration"] and 0 < self.dt <= self.duration,
             "0 < dt <= duration (s)"),
            ("dt", self.dt, finite["dt"] and self.dt < np.min(self.neuron.t_ref), "dt below the refractory period t_ref (s)"),
            ("rate", self.rate, spikes <= MAX_INPUT_SPIKES,
             f"at most {MAX_INPUT_SPIKES:.0e} input spikes in all (rate x duration x trains = {spikes:.3g})"),
            ("integrator", self.integrator, self.integrator in KERNELS, f"one of {', '.join(map(repr, KERNELS))}"),
        ):
            if not ok:
                problems.append(Problem("single-neuron job", key, value, expected))
        raise_if_any(problems, "single-neuron job")


@dataclass(frozen=True)
class SingleNeuronResult:
    """Outcome of :func:`run_single_neuron`.

    Attributes
    ----------
    job : SingleNeuronJob
    input_times : list of ndarray
        Pre-synaptic spike times of each train, s.
    spike_times : list of ndarray
        Output spike times of each copy of the neuron, s (resolved within the step).
    i_syn_mean : ndarray, shape (trains,)
        Time-averaged AMPA output current of each copy, A.
    """

    job: SingleNeuronJob
    input_times: list
    spike_times: list
    i_syn_mean: np.ndarray

    @property
    def rates(self):
        """Output firing rate of each copy, Hz; shape (trains,)."""
        return np.array([times.size for times in self.spike_times]) / self.job.duration

    @property
    def rate(self):
        """Output firing rate averaged over the copies, Hz."""
        return float(self.rates.mean())

    @property
    def isi_cv(self):
        """Coefficient of variation of the pooled inter-spike intervals (nan below 2 intervals)."""
        isi = np.concatenate([np.diff(times) for times in self.spike_times])
        return float(np.std(isi) / np.mean(isi)) if isi.size >= 2 else float("nan")

    def summary(self):
        """Human-readable report: input, output rate and the circuit time constants."""
        job, syn, neu = self.job, self.job.synapse.ampa, self.job.neuron
        n_in = sum(times.size for times in self.input_times)
        n_out = sum(times.size for times in self.spike_times)
        lines = [
            "mixsig single-neuron job: silicon AdExp soma <- AMPA DPI <- Poisson input",
            f"  input          {job.rate:g} Hz Poisson x {job.trains} train(s), {n_in} pulses of "
            f"{job.i_w * 1e9:g} nA x {syn.t_pulse * 1e6:g} us, seed {job.seed}",
            f"  simulated      {job.duration:g} s at dt = {job.dt * 1e6:g} us",
            f"  tau_ampa       {syn.tau * 1e3:.3f} ms   (C_syn U_T / (kappa I_tau))",
            f"  tau_mem        {neu.tau * 1e3:.3f} ms   (C_mem U_T / (kappa I_tau))",
            f"  tau_ahp        {neu.tau_ahp * 1e3:.3f} ms   (C_ahp U_T / (kappa I_tau_ahp))",
            f"  t_ref          {neu.t_ref * 1e3:.3f} ms   (V_ref C_ref / I_ref)",
            f"  mean I_ampa    {self.i_syn_mean.mean() * 1e9:.4g} nA",
            f"  output         {n_out} spikes, rate {self.rate:.2f} Hz, ISI CV {self.isi_cv:.3f}",
        ]
        return "\n".join(lines)


def simulate(job, input_times):
    """Integrate copies of the neuron under given pre-synaptic trains on its AMPA synapse.

    Each copy is a chip neuron: four DPIs (AMPA, NMDA, GABA, SHUNT; only AMPA receives pulses,
    the others idle at their dark current, as on the chip) and the soma, advanced by the engine's
    compiled kernel of ``job.integrator`` (its ``advance_serial``, :mod:`mixsig.engine.protocol`).

    Parameters
    ----------
    job : SingleNeuronJob
    input_times : list of ndarray
        Pre-synaptic spike times of each copy, s; each starts a pulse at the beginning of its step.

    Returns
    -------
    spike_times : list of ndarray
        Output spike times of each copy, s.
    i_syn_mean : ndarray, shape (len(input_times),)
        Time-averaged AMPA output current of each copy, A.
    """
    n_steps = int(round(job.duration / job.dt))
    copies = len(input_times)
    arrivals = np.stack([bin_times(times, job.dt, n_steps) for times in input_times], axis=1).astype(float)
    kernel = KERNELS[job.integrator]
    syn_par, soma_par = kernel.tables(job.synapse.by_type(), job.neuron, (copies,), job.dt)
    nmda_thr = np.full(copies, float(job.synapse.i_nmda_thr))
    i_dc = np.full(copies, float(job.neuron.i_dc))
    syn, neuron = kernel.resting_state(syn_par, soma_par)
    i_w, work = np.zeros((copies, N_TYPES)), np.zeros(kernel.work_shape(copies))
    ampa_mean = work[0, :copies] if kernel.state_major else work[:, 0]  # step-averaged AMPA current (a view)
    count, offset, no_noise = np.zeros(copies, dtype=np.int64), np.zeros(copies), silent_step(copies, kernel.counter_noise)
    charge = np.zeros(copies)
    steps, which, offsets = [], [], []
    for n in range(n_steps):
        i_w[:, 0] = arrivals[n] * job.i_w
        kernel.advance_serial(syn, neuron, i_w, no_noise, job.dt, syn_par, nmda_thr, soma_par, i_dc, work, count,
                              offset)
        charge += ampa_mean * job.dt
        fired = np.flatnonzero(count)
        if fired.size:
            steps.append(np.full(fired.size, n))
            which.append(fired)
            offsets.append(offset[fired])
    if steps:
        steps, which, offsets = (np.concatenate(x) for x in (steps, which, offsets))
    times = np.asarray(steps, dtype=float) * job.dt + np.asarray(offsets, dtype=float)
    which = np.asarray(which, dtype=np.int64)
    spike_times = [np.sort(times[which == k]) for k in range(copies)]
    return spike_times, charge / (n_steps * job.dt)


def run_single_neuron(job):
    """Run the single-neuron job.

    Parameters
    ----------
    job : SingleNeuronJob

    Returns
    -------
    SingleNeuronResult
    """
    if not isinstance(job, SingleNeuronJob):
        raise ConfigError([Problem("single-neuron job", "job", type(job).__name__, "a SingleNeuronJob")], "single-neuron job")
    job.check()
    seeds = np.random.SeedSequence(job.seed).spawn(job.trains)
    input_times = [poisson_times(job.rate, job.duration, np.random.default_rng(seed)) for seed in seeds]
    spike_times, i_syn_mean = simulate(job, input_times)
    return SingleNeuronResult(job, input_times, spike_times, i_syn_mean)
