"""The single-neuron job (soma <- AMPA DPI <- Poisson input) and its ``mixsig run`` front end."""

import dataclasses

import numpy as np
import pytest

from mixsig.circuits import dpi, soma, synapses
from mixsig.cli import main
from mixsig.engine.single_neuron import SingleNeuronJob, run_single_neuron, simulate
from mixsig.engine.stimuli import bin_times
from mixsig.errors import ConfigError

JOB = SingleNeuronJob(duration=0.5, trains=3, seed=7)


def _reference(job, input_times):
    """Per-step loop through the circuits' public vectorised ``step`` functions (four DPIs, soma)."""
    n_steps = int(round(job.duration / job.dt))
    shape = (1, len(input_times))
    arrivals = np.stack([bin_times(t, job.dt, n_steps) for t in input_times], axis=1)
    syn, neu = synapses.initial_state(job.synapse, shape), soma.initial_state(job.neuron, shape)
    times = [[] for _ in input_times]
    for n in range(n_steps):
        i_w = np.zeros((4,) + shape)
        i_w[0] = arrivals[n][None, :] * job.i_w
        syn, syn_out = synapses.step(syn, i_w, neu.i_mem, job.synapse, job.dt)
        neu, neu_out = soma.step(neu, syn_out.i_syn_net, syn_out.i_shunt, job.neuron, job.dt)
        for k in np.flatnonzero(neu_out.spiked[0]):
            times[k].append(n * job.dt + neu_out.spike_offset[0, k])
    return [np.array(t) for t in times]


def test_compiled_loop_equals_the_circuit_step_functions():
    result = run_single_neuron(JOB)
    expected = _reference(JOB, result.input_times)
    assert sum(t.size for t in expected) > 20
    for got, want in zip(result.spike_times, expected):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_no_interval_below_the_refractory_period():
    result = run_single_neuron(dataclasses.replace(JOB, rate=2000.0, i_w=300e-9))
    isi = np.concatenate([np.diff(t) for t in result.spike_times])
    assert isi.size > 100
    assert isi.min() >= JOB.neuron.t_ref * (1 - 1e-9)


def test_seeded_and_silent_without_input():
    a, b = run_single_neuron(JOB), run_single_neuron(JOB)
    for x, y in zip(a.spike_times, b.spike_times):
        np.testing.assert_array_equal(x, y)
    other = run_single_neuron(dataclasses.replace(JOB, seed=8))
    assert not all(x.size == y.size and np.array_equal(x, y) for x, y in zip(a.spike_times, other.spike_times))
    silent = run_single_neuron(dataclasses.replace(JOB, rate=0.0))
    assert all(t.size == 0 for t in silent.spike_times)
    # With no input the AMPA current stays at the dark current.
    np.testing.assert_allclose(silent.i_syn_mean, JOB.synapse.ampa.i_0, rtol=1e-12)


def test_mean_current_of_an_isolated_pulse_is_its_charge():
    # One pulse, then decay for many time constants: the time-averaged current is the pulse area
    # above the dark-current baseline over the duration, from the exact DPI equation
    # Q = (Ig/Itau) Iw tp - Ig tp - tau Ig ln(I(tp)/I0) plus the closed-form decay tail.
    job = dataclasses.replace(JOB, duration=0.4, trains=1)
    spikes, mean = simulate(job, [np.array([0.0])])
    s = job.synapse.ampa
    i_end, _ = dpi.dpi_advance(s.i_0, job.i_w, s.t_pulse, s.i_tau, s.i_gain, s.c_syn, s.kappa, s.u_t, s.i_0)
    area_pulse = (s.i_gain / s.i_tau) * job.i_w * s.t_pulse - s.i_gain * s.t_pulse - s.tau * s.i_gain * np.log(i_end / s.i_0)
    # Decay from i_end to the floor i_0: area tau (i_end - i_0), plus i_0 for the rest of the run.
    t_floor = s.tau * np.log(i_end / s.i_0)
    charge = area_pulse + s.tau * (i_end - s.i_0) + s.i_0 * (job.duration - s.t_pulse - t_floor)
    assert mean[0] == pytest.approx(charge / job.duration, rel=1e-6)


def test_invalid_job_lists_every_problem():
    with pytest.raises(ConfigError) as error:
        run_single_neuron(SingleNeuronJob(rate=-1.0, duration=0.0, trains=0, integrator="euler"))
    message = str(error.value)
    for key in ("rate", "duration", "trains", "integrator"):
        assert f"{key} =" in message


def test_cli_run_prints_rate_and_time_constants(capsys):
    assert main(["neuron", "--duration", "0.3", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    for word in ("rate", "tau_ampa", "tau_mem", "t_ref"):
        assert word in out


def test_cli_user_error_exits_2_without_traceback(capsys):
    assert main(["neuron", "--duration", "-1"]) == 2
    err = capsys.readouterr().err
    assert "duration" in err and "Traceback" not in err
