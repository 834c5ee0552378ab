"""The simulation engine: every neuron of every chip instance, one fixed step at a time.

One :class:`Simulation` binds an :class:`~mixsig.experiment.Experiment` to

* the chip config with its per-core biases (``chip_configs/``) and the compiled network
  (CAM / SRAM / tag tables, :func:`mixsig.chip.compile_network`);
* per-instance parameters: nominal per-core biases times the device factors sampled from the
  calibration file (:mod:`mixsig.device`), re-evaluated at a rate-adaptive interval (first
  :data:`DRIFT_INTERVAL`, then so that no parameter moves by more than :data:`DRIFT_TOLERANCE`
  between re-evaluations, within :data:`DRIFT_INTERVAL_MIN` .. :data:`DRIFT_INTERVAL_MAX`) when the
  temperature profile or ageing moves them;
* on a chip whose synapses are crossbar pairs (``[crossbar]``), each instance's programmed arrays
  read ``t_since_program`` after programming through the periphery (DAC, IR drop, ADC;
  :class:`mixsig.device.crossbar.CrossbarSynapses`) as the weight currents, evaluated once at the
  run's start (``ideal_crossbar``: the nominal currents);
* the AER router (:class:`mixsig.aer.Router`), which carries every spike from its source core to
  the cores of its SRAM destinations with queueing, latency and losses.

Step ``n`` covers ``[n dt, (n+1) dt)``. In each step, in this order:

1. the weight currents of the pulses that start in the step are collected: input-channel spikes
   falling in the step (injected by the FPGA directly at their destination cores, as pulses
   starting at the step's beginning) and router deliveries that arrived during the previous step;
2. the four DPIs and the soma of every neuron advance (:func:`mixsig.engine.kernels.advance_neurons`,
   with shot noise from per-instance generators);
3. the spikes (exact times within the step) become address events, one per SRAM destination,
   and the router runs up to the end of the step.

With short-term depression on (chip block ``stp``), each pulse of step 1 is scaled by the
efficacy of its neuron's resource pool of that synapse type, handled in arrival order (input
arrivals, then router deliveries); with homeostasis on (block ``homeostasis``), the excitatory
weight currents of step 1 are multiplied by each neuron's homeostatic gain, which is advanced
after step 2 from the neuron's spikes (:mod:`mixsig.engine.kernels`, ``docs/adaptation.md``).
Both blocks are off unless the chip config or the experiment's ``[[biases]]`` switch them on; off,
they change no result.

So an event is delivered at the start of the first step that begins after its arrival time: the
engine adds at most one step of delay to the router's latency (with the experiment's ``delivery =
"exact"``, exact integrator, steps 1-3 are solved together instead, one step per call: each
delivered pulse and each input spike starts at its own time inside the step, short-term
depression is applied at that onset, and the step's spikes are routed in time-ordered rounds,
:class:`mixsig.engine.onsets.EventTimes`). Chip instances are independent
chips; the router handles them together as disjoint rows of one board (no route crosses between
instances), so each instance's traffic is exactly what it would be alone.

How the loop is driven (performance, issue 8): steps 1-3 run in compiled code
(:func:`mixsig.engine.kernels.step_loop`), which advances as many consecutive steps as it can in
one call, recording each step's spikes and routing them with the router's own event loop
(:func:`mixsig.aer.router.feed_compiled`, the loop :meth:`~mixsig.aer.router.Router.feed` runs,
so the results are the same bit for bit). It stops before any step at which Python work is due
(drift update, change of a DC input, new stimulus block, trace sample, refill of the pre-drawn
noise), and after a step whose spikes outgrow the spike record or the router's free slots, which
Python then records and routes (``Router.feed``). With ``Simulation.compiled_routing = False``
every step with a spike, or with events in flight, returns to Python for that (the path the
tests compare against). Shot-noise normals come from a counter-based generator
(:mod:`mixsig.engine.philox`: each value is a function of the instance's key, the step, the neuron
and the row), so the values do not depend on the grouping of steps, instances or threads: a kernel
with ``counter_noise`` (``fast``) draws them itself inside the step, block by block, from the keys
the loop hands it; for the others they are drawn ahead in blocks of steps, as are flicker fluctuations. Within a step the neurons may be spread
over numba's threads (``Simulation.parallel``; by default the engine measures, per run, whether the
threads are faster than one thread: :mod:`mixsig.engine.threads`); each neuron's arithmetic is unchanged, so neither
the threading nor the grouping of steps changes any result (``tests/test_kernels_reference.py``).

Determinism: every random draw comes from ``SeedSequence(seed, spawn_key=...)`` keyed by instance
and purpose (mismatch, noise) or, for the input trains shared by all instances, by stimulus block;
so results do not depend on which instances run together, and a run advanced in chunks equals one
advanced at once, bit for bit.
"""

import functools
import dataclasses
import math
import os
import sys
import time
import types

import numpy as np

from mixsig import __version__, interrupts, paths
from mixsig.aer.events import SramTable, events_from_spikes
from mixsig.aer.energy import CORE_OPERATIONS, OPERATIONS, energies
from mixsig.aer.router import LEVELS, Router
from mixsig.chip import Board, MappingError, compile_network, load_chip
from mixsig.chip.config import DPI_FIELDS, HOMEOSTASIS_FIELDS, STP_FIELDS, bias_problem, neuron_fields
from mixsig.circuits.delay import synapse_delays
from mixsig.circuits.dpi import DPIParams
from mixsig.circuits.homeostasis import HomeostasisParams
from mixsig.circuits.stp import STPParams
from mixsig.constants import I_0, thermal_voltage
from mixsig.device import PURPOSE_NOISE, FlickerNoise, TemperatureProfile, instance_seed_sequence, load_device_model
from mixsig.device.drift import factor_arrays, leakage_factor
from mixsig.device.mismatch import PURPOSE_DELAY, ChipShape, draw_deviations
from mixsig.engine import philox
from mixsig.engine.budget import check_memory
from mixsig.engine.groups import GROUP_NEURONS, instance_groups
from mixsig.engine.kernels import (
    HOMEOSTASIS_ROWS,
    N_EXCITATORY,
    N_TYPES,
    PARALLEL_MIN_NEURONS,
    compile_step_loop,
    configure_threading,
    delivery_keys,
    kernel_array,
    step_loop,
)
from mixsig.engine.onsets import EventTimes
from mixsig.engine.protocol import kernel_for
from mixsig.engine.threads import ThreadChoice, call_with_threads
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.experiment import TRACEABLE
from mixsig.progress import counting, progress_bar

DRIFT_INTERVAL = 1e-2
"""First interval at which drifting parameters (temperature profile, ageing) are re-evaluated, s."""

DRIFT_TOLERANCE = 1e-4
"""Largest relative change of any parameter (weights included) aimed at between two re-evaluations:
the next interval is the last one scaled by this over the last change (the rate of change is
taken as constant over one interval; the ageing law's rate only falls)."""

DRIFT_INTERVAL_MIN = 1e-3
"""Shortest re-evaluation interval, s."""

DRIFT_INTERVAL_MAX = 1.0
"""Longest re-evaluation interval, s (a temperature-profile point always gets its own re-evaluation)."""

STIMULUS_BLOCK = 1.0
"""Poisson input trains are drawn per block of this many seconds (chunk-independent, memory-bounded)."""

STIMULUS_STREAM = 0x5717
"""First spawn-key element of the input-train streams (shared by all instances)."""

SPIKE_CHUNK = 4096
"""Initial capacity of the spike record, spikes."""

FLICKER_STREAM = 1
"""Spawn-key element (after instance and ``PURPOSE_NOISE``) of the flicker-noise streams."""

NOISE_STEPS = 256
"""Steps of pre-drawn noise made at once (at most; see :data:`NOISE_BYTES`)."""

NOISE_BYTES = 32 * 2**20
"""Largest buffer of pre-drawn noise (shot-noise normals unless the kernel draws its own, flicker), bytes."""

ROUTER_FREE_SLOTS = 1 << 12
"""Free router event slots kept ready for the compiled routing (more events in one step fall back to Python)."""

SYNAPSE_BLOCKS = ("ampa", "nmda", "gaba", "shunt")
"""Bias blocks of the four DPI types, in CAM ``syn_type`` order."""


def _with_biases(chip, overrides, source):
    """A copy of ``chip`` with experiment bias overrides ``(core or None, name, value)`` applied."""
    biases = {name: np.array(values) for name, values in chip.biases.items()}
    problems = []
    for core, name, value in overrides:
        if name not in biases:
            problems.append(Problem(source, f"biases.{name}", value, f"a bias of {chip.name}: {sorted(biases)}"))
        elif core is not None and core >= chip.n_cores:
            problems.append(Problem(source, f"biases.{name}", core, f"a core index below {chip.n_cores}"))
        elif bias_problem(name, value, chip.bias_attributes(name)["units"]):
            problems.append(Problem(source, f"biases.{name}", value, bias_problem(name, value, chip.bias_attributes(name)["units"])))
        else:
            biases[name][slice(None) if core is None else core] = value
    raise_if_any(problems, f"experiment {source}")
    for values in biases.values():
        values.flags.writeable = False
    return dataclasses.replace(chip, biases=types.MappingProxyType(biases))


def _budgeted_chip(experiment, network, n_instances):
    """The experiment's chip with its bias overrides, after refusing ``n_instances`` instances of
    ``network`` whose estimated memory exceeds the limit (:func:`mixsig.engine.budget.check_memory`)."""
    chip = _with_biases(load_chip(experiment.chip), experiment.biases, experiment.source)
    check_memory(experiment, chip, network, n_instances)
    return chip


def _first_step_at(t, dt):
    """Smallest step ``m >= 0`` whose start ``m * dt`` is at or after ``t`` (as the engine compares times)."""
    m = max(0, int(math.ceil(t / dt)))
    while m > 0 and (m - 1) * dt >= t:
        m -= 1
    while m * dt < t:
        m += 1
    return m


def _csr(groups, values, n_groups):
    """CSR index (ptr, values sorted by group) of ``values`` grouped by ``groups``."""
    order = np.argsort(groups, kind="stable")
    ptr = np.zeros(n_groups + 1, dtype=np.int64)
    np.cumsum(np.bincount(groups, minlength=n_groups), out=ptr[1:])
    return ptr, values[order]


class Simulation:
    """A running simulation of an experiment on a set of chip instances.

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    instances : sequence of int, optional
        Instance indices to simulate (default ``range(experiment.instances)``); instance ``k``
        is the same chip whatever the others are.
    trims : mixsig.trims.Trims, optional
        CapMem codes of the trimmable parameters (default: the experiment's ``trims`` file, if any).
    ideal_crossbar : bool
        On a chip with crossbar synapses, use the nominal weight currents (the programming
        targets) instead of programmed, drifted and read pairs: the ideal chip a decoder is built
        on. No effect on other chips.

    Attributes
    ----------
    step_index : int
        Steps simulated so far.
    parallel : bool or None
        Spread the neurons over numba's threads (True), run them on one thread (False), or choose
        per compiled call by measured throughput (None, :class:`mixsig.engine.threads.ThreadChoice`:
        the threaded kernel on all threads or on one; the default from
        :data:`~mixsig.engine.kernels.PARALLEL_MIN_NEURONS` simulated neurons, False below).
        Results do not depend on it.
    max_steps_per_call : int
        Most steps run by one compiled call (default unlimited; 1 reproduces a per-step Python
        loop, for benchmarks). Results do not depend on it.
    """

    def __init__(self, experiment, instances=None, trims=None, ideal_crossbar=False):
        exp = experiment
        self.ideal_crossbar = bool(ideal_crossbar)
        network = exp.build_network()
        self.experiment = exp
        chip = _budgeted_chip(exp, network, exp.instances if instances is None else len(instances))
        self.instances = np.arange(exp.instances) if instances is None else np.asarray(instances, dtype=np.int64)
        self.chip = chip
        self.board = Board(chip, *exp.board)
        try:
            self.compiled = compile_network(self.board, network, seed=exp.seed)
        except MappingError as error:
            raise ConfigError([Problem(exp.source, v.limit, v.requested, v.message) for v in error.violations],
                              f"mapping of {exp.source} onto {chip.name}") from None
        self.neurons = np.unique(self.compiled.population_neuron)
        if self.neurons.size == 0:
            raise ConfigError([Problem(exp.source, "populations", None, "at least one population")], f"experiment {exp.source}")
        self.model = None if exp.device_model == "none" else load_device_model(exp.device_model)
        self.kernel = kernel_for(chip.neuron_model, exp.integrator)
        if self.kernel.mismatch_free and self.model is not None:
            raise ConfigError([Problem(exp.source, "device_model", exp.device_model,
                                       f'"none": the {chip.neuron_model} neurons of {chip.name} have no analog devices')],
                              f"experiment {exp.source}")
        self.trims = trims
        if trims is None and exp.trims:
            from mixsig.trims import read_trims

            self.trims = read_trims(exp.trims, paths.referring_folder(exp.source))
        self._init_geometry()
        self._init_parameters()
        self._init_state()
        self._init_inputs()
        self._init_router()
        self._init_delays(network)
        self._init_records()
        self.step_index = 0
        self._loops_ready = set()  # step loops known to be compiled for this simulation's argument types

    # -- set-up --------------------------------------------------------------------------------

    def _init_geometry(self):
        chip, board = self.chip, self.board
        self.n_board = board.n_neurons
        self.n_instances, self.n = self.instances.size, self.neurons.size
        self.size = self.n_instances * self.n
        self.local = np.full(self.n_board, -1, dtype=np.int64)
        self.local[self.neurons] = np.arange(self.n)
        self.core_of = (np.arange(self.n_board) // chip.neurons_per_core) % chip.n_cores
        self.global_core = np.arange(self.n_board) // chip.neurons_per_core
        self.chip_of = np.arange(self.n_board) // chip.neurons_per_chip
        self.cam_local = self.local[self.compiled.cam_neuron]
        # Excitatory CAM rows of simulated neurons grouped by neuron: (rows, neurons, group starts).
        excitatory = np.flatnonzero((self.cam_local >= 0) & (self.compiled.cam_syn_type < N_EXCITATORY))
        rows = excitatory[np.argsort(self.cam_local[excitatory], kind="stable")]
        neurons, starts = np.unique(self.cam_local[rows], return_index=True)
        self.excitatory_rows = (rows, neurons, starts)

    def _init_parameters(self):
        exp, chip, compiled = self.experiment, self.chip, self.compiled
        temperature = exp.temperature
        if isinstance(temperature, tuple):
            self.profile = TemperatureProfile([p[0] for p in temperature], [p[1] for p in temperature])
        else:
            self.profile = TemperatureProfile.constant(temperature)
        # Nominal values of the simulated neurons (per-core biases) and of the synapses, in CAM row order.
        self.nominal = {name: np.asarray(values)[self.core_of[self.neurons]] for name, values in chip.biases.items()}
        self.nominal["synapse.i_w"] = compiled.cam_weight
        self._apply_trims()
        # Synapses on crossbar arrays: each instance's programmed, drifted and read pairs at the run's start.
        self.crossbar_weight = None if chip.crossbar is None or self.ideal_crossbar else np.stack(
            [chip.crossbar.currents(compiled.cam_weight, compiled.cam_synapse, (chip.cam_per_neuron, chip.neurons_per_core),
                                    exp.t_since_program, exp.seed, int(i)) for i in self.instances])
        self.mismatch = None  # name -> (native deviations of the simulated devices, attrs), and the draw's attrs
        self.mismatch_scale = float(exp.mismatch_scale) if exp.mismatch and self.model is not None else 0.0
        if self.model is not None:
            shape = ChipShape(chip.n_cores, chip.neurons_per_core, chip.cam_per_neuron, self.board.n_chips)
            if exp.corner not in self.model.corner_names():
                raise ConfigError([Problem(exp.source, "corner", exp.corner, "one of the corners of device model "
                                           f"{self.model.name}: {', '.join(self.model.corner_names())}")],
                                  f"experiment {exp.source}")
            _, drawn, attrs = draw_deviations(self.model, shape, self.instances, exp.seed, exp.corner, self.mismatch_scale)
            used = {"neuron": self.neurons, "synapse": compiled.cam_synapse}
            if chip.weight_scheme == "per_type":
                # the weight transistor sits at the DPI input: one device per neuron and type (the
                # draw of the neuron's synapse slot numbered by the type), shared by its CAM rows
                used["synapse"] = compiled.cam_neuron * chip.cam_per_neuron + compiled.cam_syn_type
            self.mismatch = ({name: (self._switched(values[:, used[level]], var_attrs), var_attrs)
                              for name, (level, values, var_attrs) in drawn.items()}, attrs)
        ageing = (self.model is not None and exp.drift
                  and (self.model.ageing.rate != 0 or self.model.ageing.spread != 0))
        self.age_at_start = 0.0 if self.model is None else (
            self.model.ageing.age_at_start if exp.age_at_start is None else exp.age_at_start)
        self.drifting = self.profile.times.size > 1 or ageing
        self.drift_steps = max(1, int(round(DRIFT_INTERVAL / exp.dt)))
        self.next_drift = self.drift_steps  # step of the next re-evaluation
        self.stp_par = None  # adaptation tables not built yet
        self._set_parameters(0.0)
        self.initial_values = self.values
        t_ref = getattr(self.soma_params, "t_ref", np.inf)  # a neuron model without a refractory period: no bound
        if np.min(t_ref) <= exp.dt:
            raise ConfigError([Problem(exp.source, "dt", exp.dt,
                                       f"a step below the shortest refractory period ({np.min(t_ref):.3g} s)")],
                              f"experiment {exp.source}")
        self._init_dc()

    def _apply_trims(self):
        """Nominal values of the trimmed parameters: each neuron's CapMem cell at its code, shape (instance, neuron)."""
        trims, chip, exp = self.trims, self.chip, self.experiment
        if trims is None:
            return
        capmem = chip.capmem
        problems = [] if capmem is not None else [
            Problem(exp.source, "trims", exp.trims or "<trims>", f"a chip with trimmable parameters ([capmem]), not {chip.name}")]
        if capmem is not None:
            problems = trims.problems(chip.name, capmem.names, exp.seed, exp.device_model, exp.corner, self.n_board,
                                      exp.source)
        raise_if_any(problems, f"trims of {exp.source}")
        rows = trims.rows(self.instances, exp.source)
        cells = capmem.with_bits(trims.bits)
        for name, codes in trims.codes.items():
            self.nominal[name] = cells.value(name, codes[rows][:, self.neurons])

    def _drift(self, n):
        """Re-evaluate the parameters at step ``n`` and schedule the next re-evaluation (rate-adaptive)."""
        dt = self.experiment.dt
        before, weight, temperature = self.values, self.weight, self.temperature
        self._set_parameters(n * dt)
        change = abs(self.temperature / temperature - 1.0)  # U_T, and every time constant with it, follows T
        for old, new in [(before[name], self.values[name]) for name in before] + [(weight, self.weight)]:
            moved = np.abs(new - old)[old != 0] / np.abs(old[old != 0])
            change = max(change, float(moved.max(initial=0.0)))
        steps = self.drift_steps * DRIFT_TOLERANCE / change if change > 0 else np.inf
        shortest, longest = (max(1, round(interval / dt)) for interval in (DRIFT_INTERVAL_MIN, DRIFT_INTERVAL_MAX))
        if np.any(np.abs(self.profile.times - n * dt) <= 0.5 * dt):
            steps = shortest  # a temperature-profile point: the rate just changed, measure it afresh
        self.drift_steps = int(np.clip(steps, shortest, longest))
        later = self.profile.times[self.profile.times > n * dt]
        self.next_drift = n + self.drift_steps
        if later.size:
            self.next_drift = min(self.next_drift, max(n + 1, _first_step_at(float(later[0]), dt)))

    def _switched(self, deviation, attrs):
        """A drawn deviation after the experiment's drift switch: ageing rates (the variables without
        a ``source``) zero with ``drift = false``. (The effective ``mismatch_scale``, 0 with
        ``mismatch = false``, is applied by the draw, which leaves the process corner unscaled.)"""
        if "source" in attrs:
            return deviation
        return deviation if self.experiment.drift else np.zeros_like(deviation)

    def _set_parameters(self, t):
        """Evaluate every per-instance parameter at simulation time ``t`` (s)."""
        shape = (self.n_instances, self.n)
        temperature = float(self.profile(t))
        u_t = thermal_voltage(temperature)
        scale = {}
        if self.mismatch is not None:
            scale = factor_arrays(*self.mismatch, temperature, self.age_at_start + t, nominal=self.nominal,
                                  age_origin=self.age_at_start)
        values = {}
        for name, nominal in self.nominal.items():
            if name.startswith("synapse."):
                continue
            value = np.broadcast_to(nominal, shape)
            if name in scale:
                factor, units = scale[name]
                value = value + factor if units == "V" else value * factor
            values[name] = np.array(value, dtype=float)
        # the DPIs' dark-current floor and the leakage currents follow the junction leakage's
        # temperature law; the soma's i_0 is also the reference of its feedback and read-out
        # laws (I_fb = i_fb_0 (I_mem/i_0)^(kappa/(kappa+1))), so it is held
        leakage = 1.0 if self.model is None else leakage_factor(temperature, self.model.temperature.t_nominal,
                                                               self.model.temperature.e_leak)
        values["homeostasis.i_leak"] = values["homeostasis.i_leak"] * leakage
        base = self.compiled.cam_weight if self.crossbar_weight is None else self.crossbar_weight
        weight = np.broadcast_to(base, (self.n_instances, self.compiled.cam_weight.size))
        if "synapse.i_w" in scale:
            weight = weight * scale["synapse.i_w"][0]
        self.weight = kernel_array(weight)
        try:
            kernel = self.kernel
            process = {"u_t": u_t} if "u_t" in kernel.params_type.__dataclass_fields__ else {}
            soma = kernel.params_type(**process, **{f: values[f"{kernel.block}.{f}"]
                                                    for f in neuron_fields(kernel.params_type)})
            dpis = [DPIParams(u_t=u_t, i_0=I_0 * leakage, **{f: values[f"{b}.{f}"] for f in DPI_FIELDS})
                    for b in SYNAPSE_BLOCKS] if kernel.takes_dpis else None
            depression = STPParams(**{f: values[f"stp.{f}"] for f in STP_FIELDS})
            scaling = HomeostasisParams(u_t=u_t, **{f: values[f"homeostasis.{f}"] for f in HOMEOSTASIS_FIELDS})
        except ValueError as error:  # a relation between fields (e.g. i_reset < i_spkthr), after mismatch at T
            raise ConfigError([Problem(self.experiment.source, "biases (with chip defaults, mismatch and drift)",
                                       f"at t = {t:g} s, T = {temperature:g} K", str(error))],
                              f"parameters of {self.experiment.source}") from None
        self.values, self.soma_params, self.temperature = values, soma, temperature
        self.syn_par, self.soma_par = self.kernel.tables(dpis, soma, shape, self.experiment.dt)
        self._set_adaptation_parameters(values, depression, scaling)
        self.nmda_thr = kernel_array(values["nmda.i_nmda_thr"].reshape(-1) if self.kernel.takes_dpis else np.zeros(self.size))
        self.i_dc_base = kernel_array(values[self.kernel.dc_bias].reshape(-1))
        self._i_dc_value = None  # re-evaluate the DC input with the new (drifted) base

    def _set_adaptation_parameters(self, values, depression, scaling):
        """Switches and parameter tables of short-term depression and homeostasis (kernel layout)."""
        shape = (self.n_instances, self.n)

        def flat(value):
            return np.broadcast_to(np.asarray(value, dtype=float), shape).reshape(-1)

        stp_on = np.stack([values[f"stp.enable_{b}"].reshape(-1) > 0.5 for b in SYNAPSE_BLOCKS])
        homeo_on = values["homeostasis.enable"].reshape(-1) > 0.5
        if self.stp_par is not None and not (stp_on.any() or homeo_on.any() or self.stp_on.any() or self.scaled):
            return  # both blocks off, before and now: no kernel reads the tables (drift updates skip them)
        self.stp_on = stp_on
        pools = [flat(depression.tau_rec), flat(depression.u_se)]
        self.stp_par = kernel_array(np.stack([np.stack([row] * N_TYPES) for row in pools]))
        self.homeo_on = homeo_on
        self.scaled = bool(homeo_on.any())
        # The gain multiplies every excitatory weight of a neuron; its clamp keeps the largest of
        # them within the bias generator's range (the geometric mean of the range where a neuron
        # has no excitatory synapse, so the clamp is then symmetric and inert).
        rows, neurons, starts = self.excitatory_rows
        i_g0 = np.zeros((self.n_instances, self.n))
        if rows.size:
            i_g0[:, neurons] = np.maximum.reduceat(self.weight[:, rows], starts, axis=1)
        i_g0 = np.where(i_g0 > 0, i_g0, np.sqrt(flat(scaling.i_g_min) * flat(scaling.i_g_max)).reshape(shape))
        rows = [i_g0.reshape(-1)] + [flat(getattr(scaling, name)) for name in HOMEOSTASIS_ROWS[1:]]
        self.homeo_par = kernel_array(np.stack(rows))
        self.homeostasis_params = scaling

    def _init_dc(self):
        exp, problems = self.experiment, []
        self.dc_masks = []
        for i, step in enumerate(exp.dc):
            if step.population:
                members = self.local[self.compiled.population(step.population)]
            elif step.core >= 0:
                members = self.local[(self.global_core == step.core) & (self.local >= 0)]
            else:
                ids = np.asarray(step.neurons, dtype=np.int64)
                bad = ids[(ids >= self.n_board) | (self.local[np.minimum(ids, self.n_board - 1)] < 0)]
                if bad.size:
                    problems.append(Problem(exp.source, f"dc[{i}].neurons", bad.tolist(), "neurons of a population"))
                    continue
                members = self.local[ids]
            mask = np.zeros(self.n)
            mask[members] = 1.0
            self.dc_masks.append(np.tile(mask, self.n_instances) * step.amplitude)
        raise_if_any(problems, f"experiment {exp.source}")
        self._dc_active = None
        edges = [_first_step_at(t, exp.dt) for step in exp.dc for t in (step.start, step.stop) if math.isfinite(t)]
        self.dc_switches = np.unique(np.array(edges, dtype=np.int64))

    def _i_dc(self, n):
        """DC input of step ``n`` (base bias plus the active DC steps), shape (size,)."""
        t = n * self.experiment.dt
        active = tuple(s.start <= t < s.stop for s in self.experiment.dc)
        if active != self._dc_active or self._i_dc_value is None:
            total = self.i_dc_base.copy()
            for on, mask in zip(active, self.dc_masks):
                if on:
                    total += mask
            self._dc_active, self._i_dc_value = active, total
        return self._i_dc_value

    def _init_state(self):
        self.syn, self.soma = self.kernel.resting_state(self.syn_par, self.soma_par)
        self.i_w = np.zeros((self.size, N_TYPES))
        self.syn_mean = np.zeros(self.kernel.work_shape(self.size))
        self.count = np.zeros(self.size, dtype=np.int64)
        self.offset = np.zeros(self.size)
        # Adaptation state: resource pools (x = 1, last update at t = 0) per type and neuron;
        # homeostatic trace at its target, gain-control voltage 0 (nominal gain 1).
        self.stp_state = np.zeros((2, N_TYPES, self.size))
        self.stp_state[0] = 1.0
        self.homeo_state = np.zeros((2, self.size))
        self.homeo_state[0] = self.homeo_par[HOMEOSTASIS_ROWS.index("r_target")]
        self.gain = np.ones(self.size)
        self._i_dc_value = None
        exp = self.experiment
        settings = None if self.model is None else self.model.noise
        self.shot = bool(exp.noise and settings is not None and settings.shot)
        self.flicker = bool(exp.noise and settings is not None and settings.flicker)
        self.noisy = self.shot or self.flicker
        self.noise_keys = philox.instance_keys(exp.seed, self.instances)
        # A kernel with counter_noise draws the shot noise itself, inside the step (no buffer); the buffer
        # then holds only the flicker rows, from row 0.
        self.counter_noise = self.kernel.counter_noise
        self.flicker_row = 0 if self.counter_noise else N_TYPES + 1
        self.buffered = self.flicker or (self.shot and not self.counter_noise)
        # Flicker: per instance, a stateful sum of Lorentzians over (4 DPIs + soma, neuron), on its
        # own stream so that switching it does not change the shot-noise draws.
        self.flicker_rngs, self.flicker_sources = [], []
        if self.flicker:
            for i in self.instances:
                rng = np.random.default_rng(instance_seed_sequence(exp.seed, i, PURPOSE_NOISE, FLICKER_STREAM))
                self.flicker_rngs.append(rng)
                self.flicker_sources.append(FlickerNoise(1.0, settings.f_min, settings.f_max, (N_TYPES + 1, self.n), rng))
            # relative PSD coefficient of each noisy current: the leak device of each DPI and of the soma
            coefficients = [self.model.flicker_coefficient(f"{block}.i_tau") if settings.k_f_area else settings.k_f
                            for block in (*SYNAPSE_BLOCKS, "soma")]
            self.flicker_scale = np.sqrt(coefficients)[:, None]
        # excess noise: S_I = 2 q I excess (the normals are scaled once, so the stream is unchanged)
        self.shot_scale = 1.0 if settings is None else math.sqrt(settings.excess)
        rows = self.flicker_row + (N_TYPES + 1 if self.flicker else 0)
        self.parallel = None if self.size >= PARALLEL_MIN_NEURONS else False
        self.thread_choice = ThreadChoice((self.chip.neuron_model, exp.integrator, self.size))
        self.max_steps_per_call = sys.maxsize
        steps = max(1, min(NOISE_STEPS, int(NOISE_BYTES // (8 * max(rows, 1) * self.size))))
        self.noise = np.zeros((steps if self.buffered else 0, rows, self.size))
        self.noise_used = self.noise.shape[0]
        self.no_noise = np.zeros((max(1, int(round(STIMULUS_BLOCK / exp.dt))), 0, self.size))

    def _init_inputs(self):
        """Keys of the CAM rows each input channel reaches, and the spike-array inputs binned to steps."""
        compiled, chip = self.compiled, self.chip
        n_inputs = compiled.n_inputs
        channel, keys = [], []
        for core in range(chip.n_cores):
            rows = np.flatnonzero((compiled.sram_src >= self.n_board) & ((compiled.sram_core_mask >> core) & 1 == 1))
            channel.append(compiled.sram_src[rows] - self.n_board)
            keys.append((compiled.sram_dst_chip[rows] * chip.n_cores + core) * chip.n_tags + compiled.sram_tag[rows])
        channel = np.concatenate(channel).astype(np.int64)
        self.input_key_ptr, self.input_keys = _csr(channel, np.concatenate(keys).astype(np.int64), n_inputs)
        self.input_rate = np.nan_to_num(compiled.input_rate, nan=0.0)
        self.block_steps = max(1, int(round(STIMULUS_BLOCK / self.experiment.dt)))
        self._block = None

    def _block_inputs(self, block):
        """Input arrivals of the steps of one stimulus block: CSR over steps of (key, count).

        A Poisson channel's spikes are uniform in continuous time over the block (``start dt + u
        dt`` with ``u`` uniform in ``[0, block_steps)``: the same times at every ``dt`` dividing
        :data:`STIMULUS_BLOCK`), a spike array's are its own. With ``delivery = "exact"`` the
        compiled loop gets no input arrival (an empty CSR) and the block's arrivals are kept one by
        one with their times in ``self._block_events`` (step, CAM key, time s, sorted by step and
        time) for :class:`mixsig.engine.onsets.EventTimes`, which starts each pulse at its time.
        """
        dt, start = self.experiment.dt, block * self.block_steps
        rng = np.random.default_rng(np.random.SeedSequence(self.experiment.seed, spawn_key=(STIMULUS_STREAM, block)))
        counts = rng.poisson(self.input_rate * self.block_steps * dt)
        channels = np.repeat(np.arange(self.input_rate.size), counts)
        within_block = rng.uniform(0.0, self.block_steps, size=channels.size)
        steps = start + np.floor(within_block).astype(np.int64)
        steps = np.minimum(steps, start + self.block_steps - 1)
        times, chans = self.compiled.input_spike_time, self.compiled.input_spike_channel
        fixed = np.floor(times / dt + 1e-9).astype(np.int64)
        inside = (fixed >= start) & (fixed < start + self.block_steps)
        steps = np.concatenate([steps, fixed[inside]])
        channels = np.concatenate([channels, chans[inside].astype(np.int64)])
        per_channel = np.diff(self.input_key_ptr)[channels]
        event_step = np.repeat(steps, per_channel)
        first = np.repeat(self.input_key_ptr[channels], per_channel)
        within = np.arange(event_step.size) - np.repeat(np.cumsum(per_channel) - per_channel, per_channel)
        event_key = self.input_keys[first + within]
        if self.event_times is not None:
            event_time = np.repeat(np.concatenate([(start + within_block) * dt, times[inside]]), per_channel)
            order = np.lexsort((event_time, event_step))
            self._block_events = (np.searchsorted(event_step[order], start + np.arange(self.block_steps + 1)),
                                  kernel_array(event_key[order], np.int64), event_time[order])
            event_step, event_key = event_step[:0], event_key[:0]
        pairs, count = np.unique(np.stack([event_step, event_key]), axis=1, return_counts=True)
        ptr = np.searchsorted(pairs[0], start + np.arange(self.block_steps + 1))
        keys = kernel_array(pairs[1], np.int64)
        return block, ptr, keys, count.astype(float), np.full(keys.size, -1, dtype=np.int64)

    def input_events(self, n):
        """Input arrivals of step ``n`` with their times (``delivery = "exact"``; the step's stimulus
        block must be the current one).

        Returns
        -------
        keys : ndarray of int64, shape (e,)
            CAM key of each arrival (received by every instance).
        times : ndarray, shape (e,)
            Spike time of each arrival, s, in non-decreasing order.
        """
        ptr, keys, times = self._block_events
        k = n - self._block[0] * self.block_steps
        return keys[ptr[k]:ptr[k + 1]], times[ptr[k]:ptr[k + 1]]

    def _init_router(self):
        compiled, chip, board = self.compiled, self.chip, self.board
        rows = compiled.sram_src < self.n_board
        src, dst = compiled.sram_src[rows], compiled.sram_dst_chip[rows]
        offsets = np.arange(self.n_instances)[:, None]
        table = (
            (src[None, :] + offsets * self.n_board).ravel(),
            (dst[None, :] + offsets * board.n_chips).ravel(),
            np.tile(compiled.sram_core_mask[rows], self.n_instances),
            np.tile(compiled.sram_tag[rows], self.n_instances),
        )
        # Stored sorted by source (stably, so each source keeps its entry order): the expansion of
        # spikes into events sorts by source on every call, which is then a linear pass.
        order = np.argsort(table[0], kind="stable")
        self.sram = SramTable(*(kernel_array(column[order], np.int64) for column in table))
        self.routed = bool(rows.any())
        levels = {name: level.link_params() for name, level in chip.router.items()}
        self.router = Router(board.nx, board.ny * self.n_instances, chip.n_cores, levels, max_hop=chip.max_hop,
                             neurons_per_core=chip.neurons_per_core)
        n_keys = board.n_chips * chip.n_cores * chip.n_tags  # CAM matches per (chip, core, tag): synaptic events
        row_key = np.repeat(np.arange(n_keys), np.diff(compiled.cam_ptr))
        matches = np.bincount(row_key[self.cam_local >= 0], minlength=n_keys)
        self.router.set_cam_matches(matches.reshape(board.n_chips, chip.n_cores, chip.n_tags), board.n_chips)
        self.emitted = np.zeros(self.n_instances, dtype=np.int64)
        self.pending = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64))
        self.compiled_routing = True  # record and route spikes inside the compiled step loop
        self.event_times = None
        if self.experiment.delivery == "exact":
            if self.kernel.advance_onsets is None or chip.weight_scheme != "mask":
                raise ConfigError([Problem(self.experiment.source, "delivery", "exact",
                                           f'"step": {chip.name} has {chip.neuron_model} neurons with {chip.weight_scheme} '
                                           'weights; exact onsets need the silicon soma\'s exact kernel and added pulses')],
                                  f"experiment {self.experiment.source}")
            self.event_times = EventTimes(self)

    def _init_delays(self, network):
        """Per-synapse delays of the connections that select a delay circuit (``self.delays``, shape
        (instance, CAM rows), s; None without delay synapses); see :mod:`mixsig.circuits.delay`."""
        exp, chip, compiled = self.experiment, self.chip, self.compiled
        self.delays = None
        names = [conn.delay for conn in network.connections]
        self.delay_names = names
        if not any(names):
            return
        problems = []
        for index, name in enumerate(names):
            if name and name not in chip.delays:
                problems.append(Problem(exp.source, f"connections[{index}].delay", name,
                                        f"a delay circuit of {chip.name}: {sorted(chip.delays) or 'it has none'}"))
        if self.event_times is None:
            problems.append(Problem(exp.source, "delivery", exp.delivery,
                                    '"exact": the network has delay synapses, whose pulses start inside a step'))
        raise_if_any(problems, f"experiment {exp.source}")
        circuits = [chip.delays.get(name) for name in names]
        nominal = np.array([c.delay if c else 0.0 for c in circuits])[compiled.cam_connection]
        sigma = np.array([c.sigma if c else 0.0 for c in circuits])[compiled.cam_connection]
        z = np.stack([np.random.default_rng(instance_seed_sequence(exp.seed, int(i), PURPOSE_DELAY)).standard_normal(
            nominal.size) for i in self.instances])
        self.delays = kernel_array(synapse_delays(nominal, sigma, self.mismatch_scale * z))

    def _init_records(self):
        record, exp = self.experiment.record, self.experiment
        ids = np.asarray(record.neurons, dtype=np.int64)
        bad = ids[(ids < 0) | (ids >= self.n_board)]
        bad = np.concatenate([bad, ids[(ids >= 0) & (ids < self.n_board)][self.local[ids[(ids >= 0) & (ids < self.n_board)]] < 0]])
        if bad.size:
            raise ConfigError([Problem(exp.source, "record.neurons", bad.tolist(), "neurons of a population")],
                              f"experiment {exp.source}")
        untraceable = [name for name in record.traces if name not in self.kernel.traceable]
        if untraceable:
            raise ConfigError([Problem(exp.source, "record.traces", untraceable,
                                       f"traces the {self.chip.neuron_model} neurons of {self.chip.name} have: "
                                       f"{list(self.kernel.traceable)}")], f"experiment {exp.source}")
        self.recorded = ids
        self.recorded_columns = (np.arange(self.n_instances)[:, None] * self.n + self.local[ids][None, :])
        self.stride = max(1, int(round(record.interval / exp.dt)))
        self.trace_times, self.trace_samples = [], {name: [] for name in record.traces}
        self._spike_index = np.zeros(SPIKE_CHUNK, dtype=np.int64)
        self._spike_time = np.zeros(SPIKE_CHUNK)
        self.n_spikes = 0

    # -- running -------------------------------------------------------------------------------

    def advance(self, duration, progress=None):
        """Simulate ``duration`` more seconds (rounded to whole steps).

        Parameters
        ----------
        duration : float
            s.
        progress : bool, optional
            Show a tqdm progress bar (default: on a terminal or in a Jupyter kernel).
        """
        dt = self.experiment.dt
        n_steps = int(round(duration / dt))
        bar = progress_bar(n_steps, "step", show=progress) if n_steps >= 1000 else None
        n, end = self.step_index, self.step_index + n_steps
        while n < end:
            interrupts.check()  # a signal whose exception the compiled call's dispatcher swallowed
            done = self._run(n, end)
            if bar is not None:
                bar.update(done)
            n += done
        if bar is not None:
            bar.close()
        self.step_index = end

    def _limit(self, n, end):
        """First step after ``n`` at which Python work is due (parameters, DC, block, traces, noise)."""
        limit = min(end, (n // self.block_steps + 1) * self.block_steps)
        if self.drifting:
            limit = min(limit, self.next_drift)
        if self.trace_samples:
            limit = min(limit, (n // self.stride + 1) * self.stride)
        later = self.dc_switches[self.dc_switches > n]
        if later.size:
            limit = min(limit, int(later[0]))
        if self.routed and not self.compiled_routing and self.router.in_flight + self.router.broadcast_in_flight > 0:
            limit = n + 1  # the router may deliver during any step: hand it every step
        if self.buffered:
            limit = min(limit, n + self.noise.shape[0] - self.noise_used)
        if self.event_times is not None:
            limit = n + 1  # one step per call: its spikes are routed in rounds (mixsig.engine.onsets)
        return min(limit, n + self.max_steps_per_call)

    def _run(self, n, end):
        """Run steps from ``n`` in one compiled call, then route and sample; return the steps run."""
        dt = self.experiment.dt
        if self.drifting and n == self.next_drift:
            self._drift(n)
        block = n // self.block_steps
        if self._block is None or self._block[0] != block:
            self._block = self._block_inputs(block)
        routing = self._routing()
        saved = None
        if self.event_times is not None:
            saved = self.event_times.save()
            routing = (False,) + routing[1:]
        if self.parallel is not False:
            configure_threading()
        kernel = self.kernel
        advance = kernel.advance_serial if self.parallel is False else kernel.advance
        loop = step_loop(advance, kernel.state_major)
        draw = self.buffered and self.noise_used == self.noise.shape[0]
        ready = loop in self._loops_ready
        if not ready:  # a cold start compiles on two cores (the noise kernel beside the routing)
            compile_step_loop(loop, advance, self._loop_args(n, n + 1, routing), kernel.state_major,
                              meanwhile=functools.partial(self._draw_noise, n) if draw else None,
                              beside=self._noise_kernels(n) if draw else ())
            self._loops_ready.add(loop)
        elif draw:
            self._draw_noise(n)
        limit = self._limit(n, end)
        threaded = self.parallel
        if threaded is None:
            threaded, limit = self.thread_choice.plan(n, limit)
        args = self._loop_args(n, limit, routing)
        noise = args[16]
        start = time.perf_counter()
        done, handled, *pending = call_with_threads(threaded, loop, *args)
        if self.parallel is None:
            self.thread_choice.record(threaded, done, time.perf_counter() - start, counted=ready)
        if self.buffered:
            self.noise_used += done
        last = n + done - 1
        if routing[0]:
            totals, horizon = routing[-2], routing[-1]
            self.n_spikes = int(totals[0])
            if totals[1] > self.router.emitted:
                self.router.account_compiled(totals[1] - self.router.emitted, horizon[0])
        if saved is not None:
            self.event_times.rounds(n, saved, noise[0])
        elif handled:
            self.pending = tuple(pending)
        else:
            fired = np.flatnonzero(self.count)
            times = last * dt + self.offset[fired]
            if fired.size:
                self._record(fired, times)
            self._route(fired, times, (last + 1) * dt)
        if (last + 1) % self.stride == 0 and self.trace_samples:
            self._sample((last + 1) * dt)
        return done

    def _loop_args(self, n, limit, routing):
        """The arguments of the step loop's call running steps ``n`` up to ``limit`` (:func:`mixsig.engine.kernels.step_loop`)."""
        _, ptr, keys, counts, everyone = self._block
        noise = self._noise_argument()
        pending_keys, pending_counts, pending_instance = self.pending
        return (n, limit, (n // self.block_steps) * self.block_steps, ptr, keys, counts, everyone, pending_keys,
                pending_counts, pending_instance, self.compiled.cam_ptr, self.cam_local, self.compiled.cam_syn_type,
                self.weight, self.n, self.i_w, noise, self.syn, self.soma, self.experiment.dt, self.syn_par,
                self.nmda_thr, self.soma_par, self._i_dc(n), self.syn_mean, self.count, self.offset, self._adapt(),
                routing)

    def _noise_argument(self):
        """The step loop's noise argument from the next step on: the pre-drawn rows left, or for a kernel that
        draws its own shot noise (:attr:`counter_noise`) :func:`mixsig.engine.philox.counter_noise` of them
        (its Philox keys, none when shot noise is off)."""
        noise = self.noise[self.noise_used:] if self.buffered else self.no_noise
        if not self.counter_noise:
            return noise
        return philox.counter_noise(noise, self.noise_keys if self.shot else self.noise_keys[:0], self.n,
                                    self.shot_scale)

    def _routing(self):
        """The routing tuple of :func:`mixsig.engine.kernels.step_loop` (compiled routing on when
        the network routes events and the router can hand its arrays over)."""
        usable, state = self.router.compiled_state(ROUTER_FREE_SLOTS)
        on = bool(self.routed and self.compiled_routing and usable)
        chip = self.chip
        return (on, state, *self.sram, self.neurons, self.n_board, self.board.n_chips, chip.n_cores,
                chip.neurons_per_core, chip.n_tags, self.emitted, self._spike_index, self._spike_time,
                np.array([self.n_spikes, self.router.emitted], dtype=np.int64), np.array([-np.inf]))

    def _adapt(self):
        """The adaptation arrays as :func:`mixsig.engine.kernels.step_loop` takes them."""
        return (self.stp_on, self.stp_par, self.stp_state, self.gain, self.homeo_on, self.homeo_par,
                self.homeo_state, self.scaled, self.chip.weight_scheme == "per_type")

    @property
    def homeostatic_gain(self):
        """Homeostatic gain of every simulated neuron, shape (instance, neuron), 1 (1 where off)."""
        return self.gain.reshape(self.n_instances, self.n).copy()

    @property
    def stp_resources(self):
        """Recovered fraction of each pool at its last pulse, shape (4, instance, neuron), 1."""
        return self.stp_state[0].reshape(N_TYPES, self.n_instances, self.n).copy()

    def _noise_kernels(self, n):
        """The compiled kernels :meth:`_draw_noise` calls, with arguments of their types (for the
        compile helper: :func:`mixsig.engine.kernels.compile_step_loop`)."""
        if not self.shot or self.counter_noise:
            return ()
        return ((philox.standard_normals, (self.noise, N_TYPES + 1, n, self.noise_keys, self.n, self.shot_scale)),)

    def _draw_noise(self, n):
        """Draw the noise of steps ``n, n + 1, ...``: shot-noise standard normals from each neuron's
        counter-based stream (:mod:`mixsig.engine.philox`; on numba's threads when the step runs on
        them, :attr:`parallel` or the measured choice, else on one), unless the kernel draws them itself
        (:attr:`counter_noise`), and flicker fluctuations instance by instance."""
        steps, dt = self.noise.shape[0], self.experiment.dt
        shot_kernels = self._noise_kernels(n)
        if shot_kernels:
            configure_threading()
            threaded = self.thread_choice.parallel if self.parallel is None else self.parallel
            for kernel, args in shot_kernels:
                call_with_threads(threaded, kernel, *args)
        if self.flicker:
            for i, (source, frng) in enumerate(zip(self.flicker_sources, self.flicker_rngs)):
                for step in range(steps):
                    self.noise[step, self.flicker_row:, i * self.n:(i + 1) * self.n] = source.step(1.0, dt, frng) * self.flicker_scale
        self.noise_used = 0

    def _route(self, fired, times, until):
        """Send the step's spikes through the router; keep the deliveries for the next step."""
        if not self.routed:
            return
        if fired.size == 0 and self.router.in_flight == 0 and self.router.broadcast_in_flight == 0:
            self.pending = (np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0, dtype=np.int64))
            return
        keys, owner, _ = self._feed(fired, times, until)
        self.pending = (keys, np.ones(keys.size), owner)

    def _feed(self, fired, times, until):
        """Feed the spikes of neurons ``fired`` (kernel index) at ``times`` (s) to the router and run
        it up to ``until``; return the deliveries' CAM keys, instances and arrival times (s)."""
        if not self.routed:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
        events = None  # no spike: the router only runs on
        if fired.size:
            instance, neuron = fired // self.n, self.neurons[fired % self.n]
            events = events_from_spikes(times, instance * self.n_board + neuron, self.sram, self.chip.n_cores,
                                        self.chip.neurons_per_core)
            self.emitted += np.bincount(events.src_chip // self.board.n_chips, minlength=self.n_instances)
        out = self.router.feed(events, until=until)
        keys, owner = delivery_keys(out.dst_chip, out.dst_core, out.tag, self.board.n_chips, self.chip.n_cores,
                                    self.chip.n_tags)
        return keys, owner, out.arrival_time

    def _record(self, fired, times):
        """Append spikes to the record: two growing arrays (16 bytes a spike, capacity doubled as needed)."""
        end = self.n_spikes + fired.size
        if end > self._spike_index.size:
            capacity = max(end, 2 * self._spike_index.size)
            self._spike_index = np.resize(self._spike_index, capacity)
            self._spike_time = np.resize(self._spike_time, capacity)
        self._spike_index[self.n_spikes:end] = fired
        self._spike_time[self.n_spikes:end] = times
        self.n_spikes = end

    @property
    def spike_record_nbytes(self):
        """Memory held by the spike record (allocated capacity), bytes."""
        return self._spike_index.nbytes + self._spike_time.nbytes

    def _sample(self, t):
        for name, samples in self.trace_samples.items():
            value = self.kernel.observe(name, self.syn, self.soma, self.soma_par)
            samples.append(value[self.recorded_columns])
        self.trace_times.append(t)

    # -- results -------------------------------------------------------------------------------

    def spikes(self):
        """All spikes so far as ``(instance id, global neuron, time s)`` arrays."""
        fired, times = self._spike_index[:self.n_spikes], self._spike_time[:self.n_spikes]
        return self.instances[fired // self.n], self.neurons[fired % self.n], times.copy()

    def router_statistics(self):
        """Per-instance event counts and per-link statistics, as ``build_dataset`` expects.

        Conservation ``emitted = delivered + dropped + in_flight`` holds per instance: events are
        counted when fed, when the destination chip's router fans them out to the broadcast stages
        of their destination cores, when a link drops them, and while a link holds them. The
        ``broadcast_*`` statistics count copies per core: ``offered = delivered + dropped +
        in_flight``.
        """
        stats = self.router.link_stats()
        chips, n_cores = self.board.n_chips, self.chip.n_cores
        total = chips * self.n_instances
        i = np.arange(self.n_instances)[:, None]
        c = np.arange(chips)[None, :]
        core_links = ((i * chips + c)[:, :, None] * n_cores + np.arange(n_cores)).reshape(self.n_instances, -1)
        chip_links = total * n_cores + (i * chips + c)
        mesh_links = (total * (n_cores + 1) + 4 * (i * chips + c)[:, :, None] + np.arange(4)).reshape(self.n_instances, -1)
        links = np.concatenate([core_links, chip_links, mesh_links], axis=1)
        dropped = stats.dropped[links].sum(axis=1)
        in_flight = stats.in_flight[links].sum(axis=1)
        if in_flight.sum() != self.router.in_flight or dropped.sum() != self.router.dropped:
            raise RuntimeError("router bookkeeping disagrees with its per-link counters")
        level_code = {name: k for k, name in enumerate(LEVELS)}
        first = links[0]
        flags = {"flag_values": np.arange(len(LEVELS), dtype=np.int64), "flag_meanings": " ".join(LEVELS)}

        def per_instance(name, value, long_name, units="1"):
            return name, (value, ("instance",), {"units": units, "long_name": long_name})

        def per_link(name, value, long_name, units="1"):
            return name, (value[links], ("instance", "link"), {"units": units, "long_name": long_name})

        energy = self._energy_statistics(stats) if self.chip.energy is not None else []
        delivered = self.router.delivered_per_chip().reshape(self.n_instances, chips).sum(axis=1)
        return dict(energy + self._broadcast_statistics() + self._delivery_statistics() + [
            per_instance("emitted", self.emitted.copy(), "address events sent into the router"),
            per_instance("delivered", delivered, "events fanned out to the broadcast stages of their destination cores"),
            per_instance("dropped", dropped, "events lost at a full FIFO (drop policy)"),
            per_instance("in_flight", in_flight, "events still inside the router at the end"),
            per_link("link_offered", stats.offered, "events that reached the link"),
            per_link("link_delivered", stats.delivered, "events the link handed to the next stage"),
            per_link("link_dropped", stats.dropped, "events the link lost"),
            per_link("link_stalled", stats.stalled, "events that found the link's stall FIFO full and waited upstream"),
            per_link("link_hold_max", np.where(np.isfinite(stats.hold_max), stats.hold_max, 0.0),
                     "longest time the link's server held a served event for a place in the full next FIFO", "s"),
            per_link("link_in_flight", stats.in_flight, "events the link holds at the end"),
            per_link("link_latency_mean", stats.latency_mean, "mean sojourn (wait + service + latency) at the link", "s"),
            per_link("link_latency_max", np.where(np.isfinite(stats.latency_max), stats.latency_max, np.nan),
                     "largest sojourn at the link", "s"),
            ("link_level", (np.array([level_code[k] for k in stats.kind[first]], dtype=np.int64), ("link",),
                            {"units": "1", "long_name": "router level of the link", **flags})),
            ("link_chip", (stats.chip[first] % chips, ("link",), {"units": "1", "long_name": "chip of the link"})),
            ("link_index", (stats.index[first], ("link",),
                            {"units": "1", "long_name": "core (core level) or direction +x -x +y -y (mesh level) of the link"})),
        ])

    def _delivery_statistics(self):
        """Exact delivery's out-of-order counters and the drawn delays of the delay synapses (CAM rows
        of simulated neurons whose connection selects a delay circuit), as router statistics."""
        out = []
        if self.event_times is not None:
            out += [
                ("exact_late", (self.event_times.late.copy(), ("instance",), {
                    "units": "1", "long_name": "pulses that started before a spike of their target already routed "
                                               "in the same round (exact delivery, resolved out of time order)"})),
                ("exact_clamped", (self.event_times.clamped.copy(), ("instance",), {
                    "units": "1", "long_name": "spikes fed to the router at its horizon, after their exact time "
                                               "(exact delivery)"})),
            ]
        if self.delays is None:
            return out
        compiled, dims = self.compiled, ("delay_synapse",)
        circuit = np.array([bool(name) for name in self.delay_names])[compiled.cam_connection]
        rows = np.flatnonzero(circuit & (self.cam_local >= 0))
        names = [name or "" for name in self.delay_names]
        nominal = np.array([self.chip.delays[n].delay if n else 0.0 for n in names])[compiled.cam_connection[rows]]
        sigma = np.array([self.chip.delays[n].sigma if n else 0.0 for n in names])[compiled.cam_connection[rows]]
        return out + [
            ("synapse_delay", (self.delays[:, rows], ("instance",) + dims, {
                "units": "s", "long_name": "delay of the synapse's delay circuit (drawn with device mismatch)"})),
            ("delay_synapse_neuron", (compiled.cam_neuron[rows].astype(np.int64), dims, {
                "units": "1", "long_name": "neuron of the delay synapse"})),
            ("delay_synapse_source", (compiled.cam_source[rows].astype(np.int64), dims, {
                "units": "1", "long_name": "source id of the delay synapse (a neuron, or the neuron count plus an input channel)"})),
            ("delay_synapse_connection", (compiled.cam_connection[rows].astype(np.int64), dims, {
                "units": "1", "long_name": "index of the connection that made the delay synapse"})),
            ("delay_synapse_nominal", (nominal, dims, {
                "units": "s", "long_name": "nominal delay of the synapse's delay circuit (chip config [delays])"})),
            ("delay_synapse_sigma", (sigma, dims, {
                "units": "1", "long_name": "log-normal spread of the delay circuit before mismatch_scale (chip config [delays])"})),
        ]

    def _broadcast_statistics(self):
        """The ``broadcast_*`` router statistics: the destination-core broadcast stages, per core."""
        stats = self.router.broadcast_stats()
        dims = ("instance", "board_core")

        def per_core(name, value, long_name, units="1"):
            return f"broadcast_{name}", (value.reshape(self.n_instances, -1), dims, {"units": units, "long_name": long_name})

        return [
            per_core("offered", stats.offered, "event copies that reached the core's broadcast stage"),
            per_core("delivered", stats.delivered, "event copies broadcast into the core and delivered to its synapses"),
            per_core("dropped", stats.dropped, "event copies lost at the full FIFO of the broadcast stage (drop policy)"),
            per_core("stalled", stats.stalled, "event copies that found the broadcast stage's FIFO full and waited (stall)"),
            per_core("in_flight", stats.in_flight, "event copies in the broadcast stage at the end"),
            per_core("wait_mean", stats.wait_mean, "mean wait for the core's broadcast (CAM search)", "s"),
            per_core("wait_max", np.where(np.isfinite(stats.wait_max), stats.wait_max, np.nan),
                     "longest wait for the core's broadcast (CAM search)", "s"),
            per_core("latency_mean", stats.latency_mean, "mean sojourn (wait + search + latency) in the broadcast stage", "s"),
        ]

    def operation_counts(self, stats=None):
        """Event-driven operations so far, per instance and core (:data:`mixsig.aer.energy.OPERATIONS`).

        Parameters
        ----------
        stats : mixsig.aer.router.LinkStats, optional
            The router's link statistics (default: read now).

        Returns
        -------
        per_core : ndarray of int64, shape (instance, chips * cores, 4)
            Spikes generated, events encoded, events broadcast into the core and synaptic events,
            per core (``core`` coordinate numbering), in :data:`mixsig.aer.energy.CORE_OPERATIONS` order.
        per_chip : ndarray of int64, shape (instance, chips, 2)
            Events served by the chip router and mesh hops leaving the chip.
        """
        stats = self.router.link_stats() if stats is None else stats
        chips, n_cores, n_i = self.board.n_chips, self.chip.n_cores, self.n_instances
        n_core = chips * n_cores
        fired = self._spike_index[:self.n_spikes]
        core = self.global_core[self.neurons[fired % self.n]]
        spikes = np.bincount((fired // self.n) * n_core + core, minlength=n_i * n_core).reshape(n_i, n_core)
        total = chips * n_i
        encoded = stats.accepted[:total * n_cores].reshape(n_i, n_core)
        received, matched = (x.reshape(n_i, n_core) for x in self.router.receptions())
        routed = stats.accepted[total * n_cores:total * (n_cores + 1)].reshape(n_i, chips)
        hops = stats.accepted[total * (n_cores + 1):].reshape(n_i, chips, 4).sum(axis=2)
        return np.stack([spikes, encoded, received, matched], axis=2), np.stack([routed, hops], axis=2)

    def _energy_statistics(self, stats):
        """The ``energy_*`` and ``power_*`` router statistics (:mod:`mixsig.aer.energy`)."""
        params, duration = self.chip.energy, self.step_index * self.experiment.dt
        per_core, per_chip = self.operation_counts(stats)
        by_name = dict(zip(CORE_OPERATIONS, np.moveaxis(per_core.sum(axis=1), 1, 0)))
        by_name.update(zip(("route_chip", "route_mesh"), np.moveaxis(per_chip.sum(axis=1), 1, 0)))
        counts = np.stack([by_name[name] for name in OPERATIONS], axis=1)
        by_operation = energies(counts, params)
        core_energy = per_core @ np.array([getattr(params, name) for name in CORE_OPERATIONS])
        total = by_operation.sum(axis=1)
        rate = 1.0 / duration if duration > 0 else 0.0
        flags = {"flag_values": np.arange(len(OPERATIONS), dtype=np.int64), "flag_meanings": " ".join(OPERATIONS)}
        per_op = ("instance", "operation")
        per_core_dims = ("instance", "board_core")
        return [
            ("energy_operation_count", (counts, per_op, {"units": "1", "long_name": "event-driven operations of each kind"})),
            ("energy_operation", (by_operation, per_op, {"units": "J", "long_name": "dynamic energy of each kind of operation"})),
            ("energy_total", (total, ("instance",), {"units": "J", "long_name": "dynamic energy of the chip instance"})),
            ("power_total", (total * rate, ("instance",), {"units": "W", "long_name": "mean dynamic power of the chip instance"})),
            ("energy_core", (core_energy, per_core_dims, {
                "units": "J", "long_name": "dynamic energy of the operations in each core (spike, encode, broadcast, synaptic event)"})),
            ("power_core", (core_energy * rate, per_core_dims, {
                "units": "W", "long_name": "mean dynamic power of the operations in each core"})),
            ("energy_per_operation", (params.per_operation, ("operation",), {
                "units": "J", "long_name": "energy of one operation (chip config [energy])",
                "placeholder": int(params.placeholder)})),
            ("energy_operation_kind", (np.arange(len(OPERATIONS), dtype=np.int64), ("operation",),
                                       {"units": "1", "long_name": "kind of operation", **flags})),
        ]

    def dataset(self, command="mixsig.run", run_attributes=None):
        """The results so far as a ``mixsig-1`` :class:`xarray.Dataset` (see ``docs/dataset.md``).

        Parameters
        ----------
        command : str
            What produced the data, for the ``history`` attribute.
        run_attributes : dict, optional
            :func:`mixsig.io.provenance.run_provenance` of this simulation's experiment, chip and
            device model, when already made (it writes the experiment as TOML: 0.3 CPU-s for ref1024's
            network; :func:`run` makes it once for all its groups).
        """
        from mixsig.io import build_dataset
        from mixsig.io.provenance import run_provenance

        exp, chip = self.experiment, self.chip
        spike_instances, spike_neurons, spike_times = self.spikes()
        seeds = [np.random.SeedSequence(exp.seed, spawn_key=(int(i),)).generate_state(1, np.uint64)[0]
                 for i in self.instances]
        traces = {}
        if self.trace_samples and self.trace_times:
            for name, samples in self.trace_samples.items():
                units, long_name = TRACEABLE[name]
                traces[name] = (np.stack(samples, axis=-1), {"units": units, "long_name": long_name})
        parameters = None
        if exp.record.parameters:
            names = sorted(n for n in self.initial_values if self.mismatch is not None and n in self.mismatch[0])
            parameters = {name: (self.initial_values[name], chip.bias_attributes(name)) for name in names}
        if self.scaled:
            parameters = dict(parameters or {})
            parameters["homeostasis.gain"] = (self.homeostatic_gain, {
                "units": "1", "long_name": "homeostatic gain of the excitatory weights at the end of the run"})
        model = self.model
        provenance = {
            **(run_provenance(exp, chip, model) if run_attributes is None else run_attributes),
            "command": command,
            "title": f"mixsig {__version__} run of {os.path.basename(exp.source)}",
            "duration": float(self.step_index * exp.dt),
            "chip_name": chip.name,
            "board": f"{self.board.nx} x {self.board.ny}",
            "device_model": "none" if model is None else model.name,
            "noise": self.noisy,
            "shot_noise_generator": philox.GENERATOR if self.shot else "none",
            "mismatch_scale": self.mismatch_scale,
            "drift": bool(self.model is not None and exp.drift),
            "integrator": exp.integrator,
            "kernel": self.kernel.name,
            "delivery": exp.delivery,
            "neuron_model": chip.neuron_model,
            "acceleration": chip.acceleration,
            "trims": os.path.basename(exp.trims) if exp.trims else ("<in memory>" if self.trims is not None else "none"),
        }
        ds = build_dataset(
            instances=self.instances, seeds=np.array(seeds, dtype=np.uint64), neurons=self.neurons,
            cores=self.global_core[self.neurons], chips=self.chip_of[self.neurons],
            spike_times=spike_times, spike_neurons=spike_neurons, spike_instances=spike_instances,
            provenance=provenance, traces=traces or None,
            recorded_neurons=self.recorded if traces else (), trace_times=self.trace_times if traces else (),
            parameters=parameters,
            router_statistics=self.router_statistics() if exp.record.router else None,
            populations=self.populations(),
        )
        if chip.acceleration != 1.0 and "time" in ds.coords:
            ds = ds.assign_coords(time_hardware=("time", ds["time"].values / chip.acceleration, {
                "units": "s", "long_name": f"hardware time of the sample (model time / {chip.acceleration:g})"}))
        return ds

    def populations(self):
        """Neuron ids of each population of the network, in the network's order.

        Returns
        -------
        dict of str to ndarray of int64
        """
        compiled, ptr = self.compiled, self.compiled.population_ptr
        return {name: compiled.population_neuron[ptr[k]:ptr[k + 1]] for k, name in enumerate(compiled.population_name)}


def run(experiment, instances=None, progress=None, command="mixsig.run", group_neurons=GROUP_NEURONS):
    """Simulate an experiment and return its ``mixsig-1`` dataset.

    Instances beyond ``group_neurons`` simulated neurons run as groups, one simulation each
    through the whole duration, whose datasets are merged (:mod:`mixsig.engine.groups`: a group's
    tables and states stay in cache); the dataset is the one a single simulation of every instance
    gives, bit for bit.

    Parameters
    ----------
    experiment : mixsig.experiment.Experiment
    instances : sequence of int, optional
        Instance indices (default all ``experiment.instances``).
    progress : bool, optional
        tqdm progress bar (default: on a terminal or in a Jupyter kernel).
    command : str
        Recorded in the dataset's history.
    group_neurons : int
        Most simulated neurons per group (:data:`mixsig.engine.groups.GROUP_NEURONS`).

    Returns
    -------
    xarray.Dataset
    """
    network = experiment.build_network()
    neurons = sum(population.size for population in network.populations.values())
    n_instances = experiment.instances if instances is None else len(instances)
    if n_instances * neurons > group_neurons:
        _budgeted_chip(experiment, network, n_instances)  # the whole run's budget, before it is split into groups
    ids = np.arange(experiment.instances) if instances is None else np.asarray(instances, dtype=np.int64)
    groups = instance_groups(ids, neurons, group_neurons)
    if len(groups) == 1:
        simulation = Simulation(experiment, instances)
        simulation.advance(experiment.duration, progress=progress)
        return simulation.dataset(command=command)
    from mixsig.io import combine
    from mixsig.io.provenance import run_provenance

    datasets, attributes = [], None
    with counting(len(groups), "group", show=progress) as done:
        for group in groups:
            simulation = Simulation(experiment, group)
            simulation.advance(experiment.duration, progress=False)
            if attributes is None:
                attributes = run_provenance(simulation.experiment, simulation.chip, simulation.model)
            datasets.append(simulation.dataset(command=command, run_attributes=attributes))
            done()
    combined = combine(datasets)
    combined.attrs["history"] = datasets[0].attrs["history"]  # one run's, not a combination's
    return combined
