"""Corpus of malformed inputs: every one is refused with a ConfigError (API) or exit status 2 (CLI).

Each row of the tables below is one malformed input (experiment TOML, chip TOML, calibration
TOML and netCDF, AEDAT recording, command-line arguments of every verb). The checks are the
acceptance bar of issue 16:

* the API raises :class:`mixsig.errors.ConfigError` (never another exception), whose problems
  each name a source, a key and an expectation, one of them the key the row names;
* the message is short (long values are summarised), never shows a foreign file's bytes, and
  the error survives pickling (as it must when raised in a worker);
* nothing is written next to the inputs;
* the CLI exits with status 2 and prints no traceback.

Most rows go through the Python API (fast); the CLI rows call ``mixsig.cli.main`` in-process,
and a representative subset runs ``python -m mixsig.cli`` in subprocesses.
"""

import math
import os
import pickle
import subprocess
import sys

import netCDF4
import numpy as np
import pytest

from malformed import (BASE_EXPERIMENT, DELETE, MARKER, REPO, base_calibration, base_chip, dumps, mutate, special,
                       write)
from mixsig import ensemble
from mixsig.aer.aedat import read_aedat, write_aedat
from mixsig.chip import load_chip
from mixsig.cli import main
from mixsig.device import load_device_model
from mixsig.device.calibration import write_empirical_tables
from mixsig.engine.simulation import run
from mixsig.errors import MAX_VALUE_CHARS, ConfigError
from mixsig.experiment import load_experiment

NAN, INF = math.nan, math.inf
MAX_MESSAGE = 8000
"""Longest accepted message, characters (the audit found 4.1 MB)."""


def _check_error(error, key, file=None):
    assert isinstance(error, ConfigError), f"{type(error).__name__}: {error}"
    message = str(error)
    assert error.problems and len(message) <= MAX_MESSAGE
    for problem in error.problems:
        assert problem.source and problem.key and problem.expected
        assert len(repr(problem.value)) <= MAX_VALUE_CHARS or "items)" in str(problem) or "characters)" in str(problem)
    keys = [problem.key for problem in error.problems]
    assert any(key in k for k in keys), f"no problem keyed {key!r}: {message}"
    if file is not None:
        assert any(file in problem.source for problem in error.problems), f"{file!r} not named: {message}"
    assert MARKER.decode() not in message
    assert "Traceback" not in message
    clone = pickle.loads(pickle.dumps(error))
    assert str(clone) == message and list(map(str, clone.problems)) == list(map(str, error.problems))


def _refused(action, folder, key, file=None):
    before = sorted(os.listdir(folder))
    with pytest.raises(Exception) as info:
        action()
    _check_error(info.value, key, file)
    assert sorted(os.listdir(folder)) == before, "something was written"


# ---------------------------------------------------------------------------------------------
# Experiment files: (id, changes to BASE_EXPERIMENT, key named in the problem)

EXPERIMENT_CASES = [
    *[(f"t_since_program={v!r}", {"t_since_program": v}, "t_since_program") for v in (-1.0, INF, NAN, "1 day")],
    *[(f"duration={v!r}", {"duration": v}, "duration") for v in (INF, -INF, NAN, 0.0, -1.0, "1", True, [1.0])],
    *[(f"dt={v!r}", {"dt": v}, "dt") for v in (0.0, -1e-4, INF, NAN, 2.0, "x", False)],
    *[(f"instances={v!r}", {"instances": v}, "instances") for v in (0, -1, 1.5, "2", True, [2])],
    *[(f"seed={v!r}", {"seed": v}, "seed") for v in (-1, 2**64, 2**70, 1.5, "0", True)],
    *[(f"temperature={v!r}", {"temperature": v}, "temperature")
      for v in (INF, -INF, NAN, 0.0, -5.0, 1.0, 100.0, 1e4, "300", True, [], [[0.0, 300.0], [0.0, 310.0]],
                [[0.0, NAN]], [[0.0, INF]], [[-1.0, 300.0]], [[0.0]], [[0.0, 300.0], [1.0, 1.0]], [["a", 300.0]])],
    *[(f"board={v!r}", {"board": v}, "board") for v in ([0, 1], [1], [1, 1, 1], [-1, 2], [1.5, 1], "1x1", [True, 1])],
    *[(f"noise={v!r}", {"noise": v}, "noise") for v in (1, "yes")],
    *[(f"delivery={v!r}", {"delivery": v}, "delivery") for v in ("arrival", 1, True)],
    ("delivery exact with the fast integrator", {"delivery": "exact", "integrator": "fast"}, "delivery"),
    *[(f"mismatch_scale={v!r}", {"mismatch_scale": v}, "mismatch_scale") for v in (-1.0, INF, NAN, 3.0, "1")],
    ("unknown top-level key", {"foo": 1}, "foo"),
    ("chip not a string", {"chip": 5}, "chip"),
    ("trims not a string", {"trims": 5}, "trims"),
    ("device_model not a string", {"device_model": 5}, "device_model"),
    *[(f"bias soma.i_tau={v!r}", {"biases": [{"soma.i_tau": v}]}, "soma.i_tau") for v in (NAN, INF, -INF, "fast", True)],
    ("bias core -1", {"biases": [{"core": -1, "soma.i_tau": 1e-11}]}, "core"),
    ("bias without namespace", {"biases": [{"i_tau": 1e-11}]}, "i_tau"),
    ("bias entry not a table", {"biases": [1.0]}, "biases[0]"),
    *[(f"dc amplitude={v!r}", {"dc": [{"amplitude": v, "population": "p"}]}, "dc[0].amplitude")
      for v in (NAN, INF, -INF, 5.0, -2.0, "1e-9")],
    ("dc without amplitude", {"dc": [{"population": "p"}]}, "dc[0].amplitude"),
    *[(f"dc start={v!r}", {"dc": [{"amplitude": 1e-10, "population": "p", "start": v}]}, "dc[0].start")
      for v in (-1.0, NAN, INF)],
    *[(f"dc stop={v!r}", {"dc": [{"amplitude": 1e-10, "population": "p", "start": 0.01, "stop": v}]}, "dc[0].stop")
      for v in (NAN, 0.0, 0.005, -INF)],
    ("dc without target", {"dc": [{"amplitude": 1e-10}]}, "dc[0]"),
    ("dc with two targets", {"dc": [{"amplitude": 1e-10, "population": "p", "core": 0}]}, "dc[0]"),
    ("dc unknown population", {"dc": [{"amplitude": 1e-10, "population": "zz"}]}, "dc[0].population"),
    ("dc negative neuron", {"dc": [{"amplitude": 1e-10, "neurons": [-1]}]}, "dc[0].neurons"),
    ("dc unknown key", {"dc": [{"amplitude": 1e-10, "population": "p", "when": 1}]}, "dc[0].when"),
    ("dc not a table", {"dc": [3]}, "dc[0]"),
    ("record unknown trace", {"record": {"traces": ["foo"], "neurons": [0]}}, "record.traces"),
    *[(f"record interval={v!r}", {"record": {"interval": v}}, "record.interval") for v in (0.0, NAN, INF, -1e-3, 1.5e-4)],
    ("record traces without neurons", {"record": {"traces": ["i_mem"]}}, "record.neurons"),
    ("record unknown key", {"record": {"every": 1}}, "record.every"),
    ("record router not bool", {"record": {"router": "yes"}}, "record.router"),
    *[(f"population size={v!r}", {"populations.p.size": v}, "populations.p") for v in (0, -1, "a", 1.5, True)],
    ("input size beyond the channel limit", {"inputs.x.size": 2**40}, "inputs.x.size"),
    ("population unknown key", {"populations.p.colour": "red"}, "populations.p"),
    ("population not a table", {"populations": {"p": 3}}, "populations.p"),
    ("populations not a table", {"populations": [1, 2]}, "populations"),
    *[(f"poisson rate={v!r}", {"inputs.x.rate": v}, "inputs.x") for v in (NAN, INF, -1.0, "fast")],
    ("input kind unknown", {"inputs.x.kind": "sine"}, "inputs.x"),
    ("input size 0", {"inputs.x.size": 0}, "inputs.x"),
    *[(f"regular rate={v!r}", {"inputs.x": {"size": 2, "kind": "regular", "rate": v}}, "inputs.x.rate")
      for v in (INF, NAN, 0.0, -5.0, 1e12, "fast")],
    *[(f"regular phase={v!r}", {"inputs.x": {"size": 2, "kind": "regular", "rate": 10.0, "phase": v}}, "inputs.x.phase")
      for v in (NAN, INF, -1.0)],
    ("aedat input without file", {"inputs.x": {"size": 2, "kind": "aedat"}}, "inputs.x.file"),
    ("connection unknown pre", {("connections", 0, "pre"): "nobody"}, "connections[0]"),
    ("connection unknown rule", {("connections", 0, "rule"): "some"}, "connections[0]"),
    *[(f"connection p={v!r}", {("connections", 0, "rule"): "probability", ("connections", 0, "p"): v}, "connections[0]")
      for v in (1.5, NAN, -0.1, INF)],
    *[(f"weight_mask={v!r}", {("connections", 0, "weight_mask"): v}, "connections[0]") for v in (0, -1, 1.5)],
    ("syn_type unknown", {("connections", 0, "syn_type"): "glutamate"}, "connections[0]"),
    ("pairs out of range", {("connections", 0, "rule"): "pairs", ("connections", 0, "pairs"): [[0, 9]]}, "connections[0]"),
    ("connection not a table", {"connections": [1]}, "connections[0]"),
    ("mapping not a table", {"mapping": 3}, "mapping"),
    ("mapping unknown key", {"mapping": {"layers": 1}}, "mapping.layers"),
    ("mapping nodes not lists", {"mapping": {"nodes": {"a": 3}}}, "mapping.nodes.a"),
]

RUN_CASES = [  # valid files that the simulation refuses before allocating or stepping
    ("bias wrong units (nA as A)", {"biases": [{"soma.i_tau": 5.5}]}, "soma.i_tau"),
    ("capacitor wrong units (pF as F)", {"biases": [{"soma.c_mem": 3.0}]}, "soma.c_mem"),
    ("bias negative", {"biases": [{"ampa.i_tau": -1e-11}]}, "ampa.i_tau"),
    ("bias voltage 100 V", {"biases": [{"soma.v_ref": 100.0}]}, "soma.v_ref"),
    ("switch 0.5", {"biases": [{"stp.enable_ampa": 0.5}]}, "stp.enable_ampa"),
    ("bias unknown to the chip", {"biases": [{"soma.i_foo": 1e-12}]}, "soma.i_foo"),
    ("trim file missing", {"trims": "missing.nc"}, "(file)"),
    ("trim file an experiment", {"trims": "exp.toml"}, "codes"),
    ("bias core beyond the chip", {"biases": [{"core": 9, "soma.i_tau": 1e-11}]}, "soma.i_tau"),
    ("dc neuron beyond the board", {"dc": [{"amplitude": 1e-10, "neurons": [99999]}]}, "dc[0].neurons"),
    ("record neuron beyond the board", {"record": {"traces": ["i_mem"], "neurons": [99999]}}, "record.neurons"),
    ("population larger than the chip", {"populations.p.size": 10**9}, ""),
    ("chip shipped name unknown", {"chip": "dynapse9"}, "(name)"),
    ("chip file missing", {"chip": "missing-chip.toml"}, "(file)"),
    ("device model unknown", {"device_model": "generic_7nm"}, "(name)"),
    ("device model file missing", {"device_model": "missing-cal.toml"}, "(file)"),
    ("instances beyond memory", {"instances": 10**9}, "(memory)"),
    ("board beyond memory", {"board": [4000, 4000]}, "(memory)"),
    ("poisson rates beyond memory", {"inputs.x.rate": 1e15}, "(memory)"),
    ("all-to-all from a huge input", {"inputs.x.size": 2**20, ("connections", 0, "rule"): "all_to_all"}, "(memory)"),
    ("traces beyond memory", {"duration": 1e6, "record": {"traces": ["i_mem"], "neurons": [0, 1], "interval": 1e-4}},
     "(memory)"),
    ("digital chip with a device model", {"chip": "digital_lif", "dt": 1e-3}, "device_model"),
    ("digital chip state wider than float64", {"chip": "digital_lif", "dt": 1e-3, "device_model": "none",
                                               "biases": [{"lif.state_bits": 60.0}]}, "biases"),
    ("digital chip with a DPI bias", {"chip": "digital_lif", "dt": 1e-3, "device_model": "none",
                                      "biases": [{"ampa.i_tau": 1e-11}]}, "ampa.i_tau"),
]


@pytest.mark.parametrize("changes, key", [case[1:] for case in EXPERIMENT_CASES], ids=[c[0] for c in EXPERIMENT_CASES])
def test_experiment_file_is_refused(tmp_path, monkeypatch, changes, key):
    monkeypatch.chdir(tmp_path)
    path = write(tmp_path / "exp.toml", dumps(mutate(BASE_EXPERIMENT, changes)))
    _refused(lambda: load_experiment(path), tmp_path, key, "exp.toml")


@pytest.mark.parametrize("changes, key", [case[1:] for case in RUN_CASES], ids=[c[0] for c in RUN_CASES])
def test_experiment_run_is_refused_before_simulating(tmp_path, monkeypatch, changes, key):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MIXSIG_MEMORY_LIMIT", "128M")
    path = write(tmp_path / "exp.toml", dumps(mutate(BASE_EXPERIMENT, changes)))
    _refused(lambda: run(load_experiment(path)), tmp_path, key)


EXPERIMENT_TEXT_CASES = [
    ("unterminated string", 'duration = "0.1\n', "(syntax)"),
    ("table twice", "[populations.p]\nsize = 1\n[populations.p]\nsize = 2\n", "(syntax)"),
    ("bare key without value", "duration =\n", "(syntax)"),
    ("dotted bias key unquoted", "[[biases]]\nsoma.i_tau = 1e-11\n", "biases[0].soma"),
    ("invalid UTF-8", b'chip = "' + MARKER + b'\xff"\n', "(encoding)"),
    ("binary garbage", b"\x00\x01" + MARKER + bytes(range(256)), ""),
    ("NUL inside", b"duration = 0.1\x00\n" + MARKER, "(syntax)"),
]


@pytest.mark.parametrize("content, key", [case[1:] for case in EXPERIMENT_TEXT_CASES],
                         ids=[c[0] for c in EXPERIMENT_TEXT_CASES])
def test_experiment_text_is_refused(tmp_path, content, key):
    path = write(tmp_path / "exp.toml", content)
    _refused(lambda: load_experiment(path), tmp_path, key, "exp.toml")


@pytest.mark.parametrize("field, package", [("chip", "chip_configs"), ("device_model", "device_models")])
@pytest.mark.parametrize("kind", ["fifo", "folder", "sparse", "devzero", "garbage", "badutf8"])
def test_referenced_file_that_is_not_a_usable_file_is_refused(tmp_path, monkeypatch, field, package, kind):
    monkeypatch.chdir(tmp_path)
    special(tmp_path, kind, "ref.toml")
    path = write(tmp_path / "exp.toml", dumps(mutate(BASE_EXPERIMENT, {field: "ref.toml"})))
    _refused(lambda: run(load_experiment(path)), tmp_path, "", "ref.toml")


# ---------------------------------------------------------------------------------------------
# Chip configs: (id, changes to chip_configs/tiny.toml, key named in the problem)

CHIP_CASES = [
    ("delays not a table", {"delays": 5}, "delays"),
    *[(f"delay {v!r}", {"delays": {"d": {"delay": v}}}, "delays.d.delay") for v in (0.0, -1e-3, 2.0, NAN, INF, "1 ms")],
    *[(f"delay sigma {v!r}", {"delays": {"d": {"delay": 1e-3, "sigma": v}}}, "delays.d.sigma") for v in (-0.1, 3.0, NAN)],
    ("delay unknown key", {"delays": {"d": {"delay": 1e-3, "jitter": 0.1}}}, "delays.d.jitter"),
    ("delay placeholder not a bool", {"delays": {"d": {"delay": 1e-3, "placeholder": 1}}}, "delays.d.placeholder"),
    ("crossbar v_read 0", {"crossbar": {"device_model": "pcm_ibm", "v_read": 0.0}}, "crossbar.v_read"),
    ("crossbar weights beyond the conductance range", {"crossbar": {"device_model": "pcm_ibm", "v_read": 1e-5}},
     "crossbar.v_read"),
    ("crossbar unknown key", {"crossbar": {"device_model": "pcm_ibm", "v_read": 0.2, "v_write": 1.0}}, "crossbar.v_write"),
    ("crossbar adc_bits 0", {"crossbar": {"device_model": "pcm_ibm", "v_read": 0.2, "adc_bits": 0}}, "crossbar.adc_bits"),
    ("crossbar dac_bits a float", {"crossbar": {"device_model": "pcm_ibm", "v_read": 0.2, "dac_bits": 8.0}},
     "crossbar.dac_bits"),
    ("crossbar negative wire resistance", {"crossbar": {"device_model": "pcm_ibm", "v_read": 0.2, "r_wire": -1.0}},
     "crossbar.r_wire"),
    ("crossbar model not a crossbar", {"crossbar": {"device_model": "generic_180nm", "v_read": 0.2}},
     "crossbar.device_model"),
    *[(f"n_cores={v!r}", {"chip.n_cores": v}, "chip.n_cores") for v in (0, 17, -1, "4", 1.5, True, 10**9)],
    *[(f"neurons_per_core={v!r}", {"chip.neurons_per_core": v}, "chip.neurons_per_core") for v in (0, 10**6, NAN)],
    *[(f"cam_per_neuron={v!r}", {"chip.cam_per_neuron": v}, "chip.cam_per_neuron") for v in (0, 10**5)],
    *[(f"sram_per_neuron={v!r}", {"chip.sram_per_neuron": v}, "chip.sram_per_neuron") for v in (0, 10**4)],
    *[(f"n_tags={v!r}", {"chip.n_tags": v}, "chip.n_tags") for v in (0, 2**40)],
    *[(f"max_hop={v!r}", {"chip.max_hop": v}, "chip.max_hop") for v in (-1, 63)],
    *[(f"weight_bits={v!r}", {"chip.weight_bits": v}, "chip.weight_bits") for v in (0, 17, 60)],
    ("weight_bits 2 with per_type", {"chip.weight_scheme": "per_type"}, "chip.weight_bits"),
    ("weight_scheme unknown", {"chip.weight_scheme": "bits"}, "chip.weight_scheme"),
    *[(f"acceleration={v!r}", {"chip.acceleration": v}, "chip.acceleration") for v in (0.0, -1000.0, NAN, "1000")],
    ("neuron_model unknown", {"chip.neuron_model": "hodgkin_huxley"}, "chip.neuron_model"),
    *[(f"capmem bits={v!r}", {"capmem.bits": v, "capmem.range": {"soma.i_tau": [1e-12, 1e-10]}}, "capmem.bits")
      for v in (0, 17, 2.5)],
    ("capmem range inverted", {"capmem.bits": 10, "capmem.range": {"soma.i_tau": [1e-10, 1e-12]}}, "capmem.range"),
    ("capmem range of an unknown bias", {"capmem.bits": 10, "capmem.range": {"soma.foo": [0.0, 1.0]}}, "capmem.range"),
    ("capmem range without the nominal", {"capmem.bits": 10, "capmem.range": {"soma.i_tau": [1e-9, 1e-8]}},
     "biases.soma.i_tau"),
    ("name not a string", {"chip.name": 5}, "chip.name"),
    ("unknown chip key", {"chip.colour": "red"}, "chip.colour"),
    ("chip section missing", {"chip": DELETE}, "chip."),
    ("chip section not a table", {"chip": 3}, "chip"),
    ("device_model not a string", {"chip.device_model": 5}, "chip.device_model"),
    *[(f"router latency={v!r}", {"router.core.latency": v}, "router.core.latency") for v in (NAN, -1e-9, INF, "1ns")],
    *[(f"router service_time={v!r}", {"router.chip.service_time": v}, "router.chip.service_time") for v in (NAN, -1.0)],
    *[(f"fifo_depth={v!r}", {"router.mesh.fifo_depth": v}, "router.mesh.fifo_depth") for v in (0, 10**6, 1.5, -4)],
    ("policy unknown", {"router.core.policy": "queue"}, "router.core.policy"),
    ("placeholder not bool", {"router.core.placeholder": "yes"}, "router.core.placeholder"),
    ("router level unknown", {"router.bus": {"latency": 1e-9}}, "router.bus"),
    ("router level missing", {"router.mesh": DELETE}, "router.mesh"),
    ("broadcast stage not a table", {"router.broadcast": 1e-8}, "router.broadcast"),
    ("arbiter unknown", {"router.core.arbiter": "lottery"}, "router.core.arbiter"),
    *[(f"arbitration_delay={v!r}", {"router.core.arbitration_delay": v}, "router.core.arbitration_delay")
      for v in (NAN, -1e-9, "1ns")],
    ("arbiter on the chip level", {"router.chip.arbiter": "tree"}, "router.chip.arbiter"),
    ("broadcast stage service_time < 0", {"router.broadcast": {"latency": 0.0, "service_time": -1e-9, "fifo_depth": 4,
                                                               "policy": "drop"}}, "router.broadcast.service_time"),
    *[(f"board nx={v!r}", {"board.nx": v}, "board.nx") for v in (0, -1, 1.5)],
    ("board unknown key", {"board.nz": 2}, "board.nz"),
    *[(f"bias soma.i_tau={v!r}", {("biases", "soma", "i_tau"): v}, "biases.soma.i_tau")
      for v in (NAN, INF, -1e-12, 0.0, 5.5, "fast")],
    ("capacitor 3 F", {("biases", "soma", "c_mem"): 3.0}, "biases.soma.c_mem"),
    ("voltage 100 V", {("biases", "soma", "v_ref"): 100.0}, "biases.soma.v_ref"),
    ("pulse 1 day", {("biases", "ampa", "t_pulse"): 1e7}, "biases.ampa.t_pulse"),
    ("bias missing", {("biases", "soma", "i_gain"): DELETE}, "biases.soma.i_gain"),
    ("bias unknown", {("biases", "soma", "i_foo"): 1e-12}, "biases.soma.i_foo"),
    ("switch 0.5", {("biases", "stp", "enable_ampa"): 0.5}, "biases.stp.enable_ampa"),
    ("coarse/fine incomplete", {("biases", "soma", "i_tau"): {"coarse": 1, "fine": 3}}, "biases.soma.i_tau"),
    ("coarse/fine bad type", {("biases", "soma", "i_tau"): {"coarse": 1, "fine": 3, "type": "X"}}, "biases.soma.i_tau"),
    ("coarse/fine out of range", {("biases", "soma", "i_tau"): {"coarse": 99, "fine": 3, "type": "N"}},
     "biases.soma.i_tau"),
    ("core_biases beyond n_cores", {"core_biases.7": {"soma": {"i_dc": 1e-10}}}, "core_biases.7"),
    ("core_biases key not a core", {"core_biases.x": {"soma": {"i_dc": 1e-10}}}, "core_biases.x"),
    ("core bias NaN", {("core_biases", "1", "soma", "i_dc"): NAN}, "core_biases.1.soma.i_dc"),
    ("unknown section", {"wiring": {"a": 1}}, "wiring"),
    ("core_biases not a table", {"core_biases": 1}, "core_biases"),
    ("device model for coarse/fine missing", {"chip.device_model": "missing-cal.toml",
                                              ("biases", "soma", "i_tau"): {"coarse": 1, "fine": 3, "type": "N"}},
     "chip.device_model"),
]


@pytest.mark.parametrize("changes, key", [case[1:] for case in CHIP_CASES], ids=[c[0] for c in CHIP_CASES])
def test_chip_config_is_refused(tmp_path, changes, key):
    path = write(tmp_path / "chip.toml", dumps(mutate(base_chip(), changes)))
    _refused(lambda: load_chip(path), tmp_path, key, "chip.toml")


# ---------------------------------------------------------------------------------------------
# Calibration files: (id, changes to device_models/generic_180nm.toml, key named in the problem)

CALIBRATION_CASES = [
    *[(f"a_vt={v!r}", {"technology.a_vt": v}, "technology.a_vt") for v in (NAN, INF, -1e-9, 0.0, "5 mV um")],
    *[(f"kappa_n={v!r}", {"technology.kappa_n": v}, "technology.kappa_n") for v in (1.5, 0.0, NAN)],
    *[(f"t_nominal={v!r}", {"temperature.t_nominal": v}, "temperature.t_nominal") for v in (0.0, NAN, -300.0)],
    ("dvt_dt NaN", {"temperature.dvt_dt": NAN}, "temperature.dvt_dt"),
    ("bias mode unknown", {"temperature.bias": "fixed_voltage"}, "temperature.bias"),
    ("i_spec negative", {"temperature.i_spec": -1e-7}, "temperature.i_spec"),
    ("ageing rate NaN", {"ageing.rate": NAN}, "ageing.rate"),
    ("ageing spread negative", {"ageing.spread": -1e-3}, "ageing.spread"),
    ("ageing tau 0", {"ageing.tau": 0.0}, "ageing.tau"),
    ("shot not bool", {"noise.shot": "yes"}, "noise.shot"),
    ("k_f negative", {"noise.k_f": -1.0}, "noise.k_f"),
    ("f_min 0", {"noise.f_min": 0.0}, "noise.f_min"),
    ("f_max below f_min", {"noise.f_min": 10.0, "noise.f_max": 1.0}, "noise.f_max"),
    ("f_max inf", {"noise.f_max": INF}, "noise.f_max"),
    ("fine_max 0", {"bias_generator.fine_max": 0}, "bias_generator.fine_max"),
    ("i_min empty", {"bias_generator.n.i_min": []}, "bias_generator.n.i_min"),
    ("i_min NaN", {"bias_generator.n.i_min": [NAN]}, "bias_generator.n.i_min"),
    ("i_max below i_min", {"bias_generator.n.i_min": [1e-9], "bias_generator.n.i_max": [1e-10]}, "bias_generator.n.i_max"),
    ("bias generator without tables", {"bias_generator": {"fine_max": 255}}, "bias_generator.n"),
    ("parameter unknown block", {("parameters", "brain.i_tau"): {"source": "bias"}}, "parameters.brain.i_tau"),
    ("parameter source unknown", {("parameters", "soma.i_tau", "source"): "resistor"}, "parameters.soma.i_tau.source"),
    ("parameter distribution unknown", {("parameters", "soma.i_tau", "distribution"): "gauss"},
     "parameters.soma.i_tau.distribution"),
    *[(f"cv={v!r}", {("parameters", "soma.i_dc", "distribution"): "cv", ("parameters", "soma.i_dc", "cv"): v},
       "parameters.soma.i_dc.cv") for v in (-0.1, NAN, INF, 0.0)],
    *[(f"w={v!r}", {("parameters", "soma.i_tau", "w"): v}, "parameters.soma.i_tau.w") for v in (0.0, NAN, -1e-6)],
    ("spread negative", {("parameters", "soma.i_tau", "spread"): {"chip": -0.1}}, "parameters.soma.i_tau.spread.chip"),
    ("spread level unknown", {("parameters", "soma.i_tau", "spread"): {"wafer": 0.1}}, "parameters.soma.i_tau.spread.wafer"),
    ("capacitor with a transistor", {("parameters", "soma.c_mem", "transistor"): "n"}, "parameters.soma.c_mem.transistor"),
    ("parameter not a table", {("parameters", "soma.i_tau"): 0.1}, "parameters.soma.i_tau"),
    ("unknown top-level section", {"process": {"node": 180}}, "process"),
    ("model name missing", {"model.name": DELETE}, "model.name"),
    ("tables file missing", {"tables": {"file": "missing.nc"}}, "tables.file"),
]


@pytest.mark.parametrize("changes, key", [case[1:] for case in CALIBRATION_CASES], ids=[c[0] for c in CALIBRATION_CASES])
def test_calibration_file_is_refused(tmp_path, changes, key):
    path = write(tmp_path / "cal.toml", dumps(mutate(base_calibration(), changes)))
    _refused(lambda: load_device_model(path), tmp_path, key, "cal.toml")


CROSSBAR_CASES = [
    ("conductance range inverted", {"conductance.g_min": 30e-6}, "conductance.g_max"),
    *[(f"g_max={v!r}", {"conductance.g_max": v}, "conductance.g_max") for v in (0.0, NAN, INF, "25 uS")],
    *[(f"levels={v!r}", {"conductance.levels": v}, "conductance.levels") for v in (1, 0, 2.5)],
    ("nu below zero", {"drift.nu_mu_min": -0.01}, "drift.nu_mu_min"),
    ("nu spread below zero", {"drift.nu_s_min": -0.01}, "drift.nu_s_min"),
    ("nu range inverted", {"drift.nu_mu_max": 0.01}, "drift.nu_mu_max"),
    ("t0 zero", {"drift.t0": 0.0}, "drift.t0"),
    ("max_iterations zero", {"programming.max_iterations": 0}, "programming.max_iterations"),
    ("p_switch zero", {"programming.p_switch": 0.0}, "programming.p_switch"),
    ("stuck fractions above one", {"faults.stuck_on": 0.7, "faults.stuck_off": 0.7}, "faults"),
    ("kind not crossbar", {"model.kind": "cmos"}, "model.kind"),
    ("unknown crossbar key", {"faults.stuck_sometimes": 0.1}, "faults.stuck_sometimes"),
    ("crossbar section missing", {"read_noise": DELETE}, "read_noise"),
]


@pytest.mark.parametrize("changes, key", [case[1:] for case in CROSSBAR_CASES], ids=[c[0] for c in CROSSBAR_CASES])
def test_crossbar_model_is_refused(tmp_path, changes, key):
    from mixsig.device.crossbar import load_crossbar_model

    path = write(tmp_path / "xbar.toml", dumps(mutate(base_calibration("pcm_ibm"), changes)))
    _refused(lambda: load_crossbar_model(path), tmp_path, key, "xbar.toml")


def _tables(**tables):
    return lambda path: write_empirical_tables(path, tables)


def _raw_variables(**variables):
    def build(path):
        with netCDF4.Dataset(path, "w") as dataset:
            for name, values in variables.items():
                dataset.createDimension(f"{name}_n", len(values))
                dataset.createVariable(name, "f8", (f"{name}_n",))[:] = values
    return build


NETCDF_CASES = [
    ("cdf not increasing", _tables(t=([0.0, 0.6, 0.5, 1.0], [-1.0, 0.0, 0.5, 1.0])), "t_cdf"),
    ("cdf not ending at 1", _tables(t=([0.0, 0.5, 0.9], [-1.0, 0.0, 1.0])), "t_cdf"),
    ("cdf NaN", _tables(t=([0.0, NAN, 1.0], [-1.0, 0.0, 1.0])), "t_cdf"),
    ("value NaN", _tables(t=([0.0, 0.5, 1.0], [-1.0, NAN, 1.0])), "t_value"),
    ("value inf", _tables(t=([0.0, 0.5, 1.0], [-INF, 0.0, 1.0])), "t_value"),
    ("value not increasing", _tables(t=([0.0, 0.5, 1.0], [1.0, 0.0, 2.0])), "t_value"),
    ("one point", _tables(t=([0.0], [0.0])), "t_value"),
    ("lengths differ", _raw_variables(t_cdf=[0.0, 0.5, 1.0], t_value=[0.0, 1.0]), "t_value"),
    ("value missing", _raw_variables(t_cdf=[0.0, 1.0]), "t_value"),
    ("variable misnamed", _raw_variables(t_quantile=[0.0, 1.0]), "t_quantile"),
    ("garbage bytes", lambda path: special(path.parent, "garbage", path.name), "(file)"),
    ("truncated", lambda path: (_tables(t=([0.0, 0.5, 1.0], [-1.0, 0.0, 1.0]))(path),
                                path.write_bytes(path.read_bytes()[:100])), "(file)"),
    ("empty", lambda path: path.write_bytes(b""), "(file)"),
    ("FIFO", lambda path: special(path.parent, "fifo", path.name), "tables.file"),
    ("folder", lambda path: special(path.parent, "folder", path.name), "tables.file"),
]


@pytest.mark.parametrize("build, key", [case[1:] for case in NETCDF_CASES], ids=[c[0] for c in NETCDF_CASES])
def test_calibration_tables_are_refused(tmp_path, build, key):
    text = (REPO / "device_models" / "empirical_demo.toml").read_text()
    path = write(tmp_path / "cal.toml", text)
    build(tmp_path / "empirical_demo.nc")
    _refused(lambda: load_device_model(path), tmp_path, key, "cal.toml")


# ---------------------------------------------------------------------------------------------
# AEDAT 2.0 recordings, read directly and as an experiment's input

_RECORD = np.dtype([("address", ">u4"), ("timestamp", ">i4")])


def _events(addresses, stamps):
    records = np.zeros(len(addresses), dtype=_RECORD)
    records["address"], records["timestamp"] = addresses, stamps
    return records.tobytes()


AEDAT_CASES = [
    ("no magic line", b"#" + MARKER + b"\n" + _events([0], [1]), "header line 1"),
    ("no header at all", MARKER + _events([0, 1], [1, 2]), "header line 1"),
    ("header not ASCII", b"#!AER-DAT2.0\n#\xff" + MARKER + b"\n", "header line 2"),
    ("header without line end", b"#!AER-DAT2.0\n#" + MARKER, "header line 2"),
    ("truncated record", b"#!AER-DAT2.0\n" + _events([0, 1], [1, 2])[:-3], "record 1"),
    ("timestamps going back", b"#!AER-DAT2.0\n" + _events([0, 1, 0], [10, 5, 20]), "record 1.timestamp"),
    ("empty file", b"", "header line 1"),
    ("text file", b"hello " + MARKER + b"\n", "header line 1"),
]


@pytest.mark.parametrize("content, key", [case[1:] for case in AEDAT_CASES], ids=[c[0] for c in AEDAT_CASES])
def test_aedat_file_is_refused(tmp_path, content, key):
    path = write(tmp_path / "in.aedat", content)
    _refused(lambda: read_aedat(path), tmp_path, key, "in.aedat")


UNUSABLE = ("fifo", "folder", "sparse", "missing", "devzero")
FILE_CASES = [(what, loader, name, kind)
              for what, loader, name, kinds in (
                  ("experiment", load_experiment, "exp.toml", UNUSABLE + ("garbage", "badutf8")),
                  ("chip", load_chip, "chip.toml", UNUSABLE + ("garbage", "badutf8")),
                  ("calibration", load_device_model, "cal.toml", UNUSABLE + ("garbage", "badutf8")),
                  ("aedat", read_aedat, "in.aedat", UNUSABLE))
              for kind in kinds]


@pytest.mark.parametrize("loader, name, kind", [case[1:] for case in FILE_CASES],
                         ids=[f"{c[0]}-{c[3]}" for c in FILE_CASES])
def test_file_that_is_not_a_usable_file_is_refused(tmp_path, loader, name, kind):
    path = special(tmp_path, kind, name)
    _refused(lambda: loader(path), tmp_path, "", name)


AEDAT_INPUT_CASES = [
    ("address beyond the channels", lambda p: write_aedat(p, np.array([5], dtype=np.uint32), np.array([10])), "address"),
    ("garbage", lambda p: special(p.parent, "garbage", p.name), "header line 1"),
    ("FIFO", lambda p: special(p.parent, "fifo", p.name), "(file)"),
    ("missing", lambda p: None, "(file)"),
    ("folder", lambda p: special(p.parent, "folder", p.name), "(file)"),
]


@pytest.mark.parametrize("build, key", [case[1:] for case in AEDAT_INPUT_CASES], ids=[c[0] for c in AEDAT_INPUT_CASES])
def test_aedat_input_of_an_experiment_is_refused(tmp_path, build, key):
    build(tmp_path / "in.aedat")
    exp = mutate(BASE_EXPERIMENT, {"inputs.x": {"size": 2, "kind": "aedat", "file": "in.aedat"}})
    path = write(tmp_path / "exp.toml", dumps(exp))
    _refused(lambda: load_experiment(path), tmp_path, key, "in.aedat")


DVS_INPUT_CASES = [
    ("unknown camera", {"camera": "atis"}, "inputs.x.camera", None),
    ("polarity", {"polarity": "up"}, "inputs.x.polarity", None),
    ("downsample 0", {"downsample": 0}, "inputs.x.downsample", None),
    ("roi outside the sensor", {"roi": [120, 0, 16, 16]}, "inputs.x.roi", None),
    ("size not the channel count", {"size": 5}, "inputs.x.size", None),
    ("tonic without sensor", {"camera": "tonic", "file": "in.npy"}, "inputs.x.sensor", None),
    ("tonic file not npy", {"camera": "tonic", "file": "in.npy", "sensor": [4, 4]}, "(file)", b"garbage " + MARKER),
    ("tonic array without p", {"camera": "tonic", "file": "in.npy", "sensor": [4, 4]}, "fields",
     np.zeros(3, dtype=[("t", "<i8"), ("x", "<i8")])),
    ("tonic pixel outside", {"camera": "tonic", "file": "in.npy", "sensor": [4, 4]}, "event 0.x",
     np.array([(0, 9, 0, 1)], dtype=[("t", "<i8"), ("x", "<i8"), ("y", "<i8"), ("p", "<i8")])),
    ("DVS128 file missing", {"file": "missing.aedat"}, "(file)", None),
]


@pytest.mark.parametrize("change, key, content", [case[1:] for case in DVS_INPUT_CASES],
                         ids=[c[0] for c in DVS_INPUT_CASES])
def test_dvs_input_of_an_experiment_is_refused(tmp_path, change, key, content):
    if isinstance(content, np.ndarray):
        np.save(tmp_path / "in.npy", content)
    elif content is not None:
        write(tmp_path / "in.npy", content)
    write_aedat(tmp_path / "in.aedat", np.array([0], dtype=np.uint32), np.array([0]))
    exp = mutate(BASE_EXPERIMENT, {"inputs.x": {"kind": "dvs", "camera": "dvs128", "file": "in.aedat", **change}})
    path = write(tmp_path / "exp.toml", dumps(exp))
    _refused(lambda: load_experiment(path), tmp_path, key)


# ---------------------------------------------------------------------------------------------
# Command line of every verb, in-process: exit status 2, no traceback, nothing written

CLI_CASES = [
    ("no verb", []),
    ("unknown verb", ["simulate"]),
    *[(f"run --duration {v}", ["run", "exp.toml", "--duration", v]) for v in ("inf", "nan", "0", "-1", "-inf", "1s")],
    *[(f"run --instances {v}", ["run", "exp.toml", "--instances", v]) for v in ("0", "-1", "two", "1.5")],
    *[(f"run --seed {v}", ["run", "exp.toml", "--seed", v]) for v in ("-1", str(2**64), "x")],
    *[(f"run --workers {v}", ["run", "exp.toml", "--workers", v]) for v in ("0", "-2", "many")],
    ("run missing experiment", ["run", "missing.toml"]),
    ("run experiment is a folder", ["run", "."]),
    ("run experiment is /dev/zero", ["run", "/dev/zero"]),
    ("run unknown option", ["run", "exp.toml", "--fast"]),
    ("run --set unknown key", ["run", "exp.toml", "--set", "speed=3"]),
    ("run --set NaN duration", ["run", "exp.toml", "--set", "duration=nan"]),
    ("run --from-dataset missing", ["run", "--from-dataset", "missing.nc"]),
    ("inspect missing", ["inspect", "missing.nc"]),
    ("inspect no file", ["inspect"]),
    ("inspect a TOML file", ["inspect", "exp.toml"]),
    ("inspect a FIFO", ["inspect", "fifo.nc"]),
    ("inspect a folder", ["inspect", "."]),
    ("inspect /dev/zero", ["inspect", "/dev/zero"]),
    ("plot a FIFO", ["plot", "fifo.nc"]),
    ("combine a FIFO", ["combine", "fifo.nc", "-o", "out.nc"]),
    ("run --from-dataset a FIFO", ["run", "--from-dataset", "fifo.nc"]),
    ("plot missing", ["plot", "missing.nc"]),
    ("combine missing shard", ["combine", "missing.nc", "-o", "out.nc"]),
    ("combine without output", ["combine", "exp.toml"]),
    ("export missing", ["export", "missing.nc", "--to", "neo", "-o", "out.mat"]),
    ("export a FIFO", ["export", "fifo.nc", "--to", "nwb", "-o", "out.nwb"]),
    ("export a TOML file", ["export", "exp.toml", "--to", "aedat", "-o", "out.aedat"]),
    ("export --to unknown", ["export", "missing.nc", "--to", "hdf5", "-o", "out.h5"]),
    ("export without --to", ["export", "missing.nc", "-o", "out.mat"]),
    ("export --instance not an integer", ["export", "missing.nc", "--to", "neo", "-o", "out.mat", "--instance", "x"]),
    ("validate missing folder", ["validate", "--dir", "missing", "--report", "r.md"]),
    ("validate folder is a file", ["validate", "--dir", "exp.toml", "--report", "r.md"]),
    ("study unknown kind", ["study", "wave"]),
    *[(f"study --instances {v}", ["study", "characterize", "--instances", v]) for v in ("0", "-3")],
    *[(f"study --sizes {v}", ["study", "characterize", "--sizes", v]) for v in ("a,b", "0", "-4")],
    *[(f"study --temperatures {v}", ["study", "characterize", "--temperatures", v]) for v in ("inf", "nan", "-1", "x")],
    *[(f"study --duration {v}", ["study", "characterize", "--duration", v]) for v in ("inf", "nan", "0", "-1")],
    ("study --encoding with characterize", ["study", "characterize", "--encoding", "nef"]),
    ("study --enob-convention unknown", ["study", "characterize", "--enob-convention", "bits"]),
    ("study --device-model missing", ["study", "population", "--device-model", "missing-cal.toml"]),
    *[(f"study --tau-h {v}", ["study", "homeostasis", "--tau-h", v]) for v in ("nan", "inf", "-1")],
    *[(f"study --time-scale {v}", ["study", "homeostasis", "--time-scale", v]) for v in ("inf", "nan", "0")],
    ("study --seed negative", ["study", "population", "--seed", "-1"]),
    *[(f"study router --loads {v}", ["study", "router", "--loads", v]) for v in ("inf", "nan", "0", "-1", "x")],
    *[(f"study router --fifo-depths {v}", ["study", "router", "--fifo-depths", v]) for v in ("0", "70000", "a")],
    *[(f"study router --events {v}", ["study", "router", "--events", v]) for v in ("0", "-5")],
    *[(f"study router --burst-size {v}", ["study", "router", "--burst-size", v]) for v in ("0", "100000")],
    ("study router --patterns unknown", ["study", "router", "--patterns", "burst,storm"]),
    ("study router --policies repeated", ["study", "router", "--policies", "drop,drop"]),
    ("study router --chips missing", ["study", "router", "--chips", "missing-chip.toml"]),
    *[(f"study router {o}", ["study", "router", o, v]) for o, v in (("--task", "synapses"), ("--trim-bits", "6"),
                                                                    ("--times", "1"))],
    ("study --loads with population", ["study", "population", "--loads", "0.5"]),
    ("study characterize --chips missing", ["study", "characterize", "--chips", "missing-chip.toml"]),
    ("study characterize --trims missing", ["study", "characterize", "--chips", "digital_lif", "--trims", "missing.nc"]),
    ("study characterize --trims not a trim file", ["study", "characterize", "--chips", "digital_lif", "--trims", "exp.toml"]),
    ("study characterize --trims a FIFO", ["study", "characterize", "--chips", "digital_lif", "--trims", "fifo.nc"]),
    ("study characterize --trim-bits 0", ["study", "characterize", "--chips", "digital_lif", "--trim-bits", "0"]),
    *[(f"study {kind} --trims", ["study", kind, "--trims", "t.nc"]) for kind in ("substrates", "population", "router")],
    *[(f"neuron --rate {v}", ["neuron", "--rate", v]) for v in ("inf", "nan", "-1", "1e12")],
    *[(f"neuron --duration {v}", ["neuron", "--duration", v]) for v in ("inf", "nan", "0", "-2")],
    *[(f"neuron --trains {v}", ["neuron", "--trains", v]) for v in ("0", "1000000000")],
    *[(f"neuron --seed {v}", ["neuron", "--seed", v]) for v in ("-1", str(2**64))],
    ("map missing", ["map", "missing.nir"]),
    ("map a TOML file", ["map", "exp.toml", "-o", "out.toml"]),
    ("map a folder", ["map", ".", "-o", "out.toml"]),
    ("map a FIFO", ["map", "fifo.nc", "-o", "out.toml"]),
]


@pytest.fixture
def cli_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "exp.toml", dumps(BASE_EXPERIMENT))
    special(tmp_path, "fifo", "fifo.nc")  # a dataset path that would block a plain open()
    return tmp_path


@pytest.mark.parametrize("argv", [case[1] for case in CLI_CASES], ids=[c[0] for c in CLI_CASES])
def test_command_line_is_refused(cli_folder, capsys, argv):
    before = sorted(os.listdir(cli_folder))
    try:
        status = main(argv)
    except SystemExit as exit:  # argparse usage errors
        status = exit.code
    captured = capsys.readouterr()
    assert status == 2, captured.err
    assert "Traceback" not in captured.err and captured.err.strip()
    assert len(captured.err) <= MAX_MESSAGE
    assert sorted(os.listdir(cli_folder)) == before


def test_unreachable_scheduler_is_named(cli_folder, capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(ensemble, "SCHEDULER_TIMEOUT", "1s")
    assert main(["run", "exp.toml", "--scheduler", "tcp://127.0.0.1:9"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler = 'tcp://127.0.0.1:9'" in err and "reachable dask scheduler" in err


SUBPROCESS_CASES = [
    ["run", "exp.toml", "--duration", "inf"],
    ["run", "exp.toml", "--seed", str(2**64)],
    ["run", "bad.toml"],
    ["run", "/dev/zero"],
    ["neuron", "--rate", "nan"],
    ["study", "characterize", "--temperatures", "inf"],
]


@pytest.mark.parametrize("argv", SUBPROCESS_CASES, ids=[" ".join(a) for a in SUBPROCESS_CASES])
def test_command_line_in_a_fresh_process(cli_folder, argv):
    write(cli_folder / "bad.toml", dumps(mutate(BASE_EXPERIMENT, {"temperature": NAN, "dt": 0.0})))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    before = sorted(os.listdir(cli_folder))
    done = subprocess.run([sys.executable, "-m", "mixsig.cli", *argv], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and done.stderr.strip()
    assert sorted(os.listdir(cli_folder)) == before
