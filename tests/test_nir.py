"""NIR mapper: graphs built with the ``nir`` package, mapped onto shipped chips.

Expected values come from closed forms (``tau = C U_T / (kappa I_tau)``, the charge
translation of docs/nir.md) or from a second, directly built chip network; never from the mapper.
"""

import numpy as np
import pytest

from mixsig import Experiment, run
from mixsig.chip import load_chip
from mixsig.chip.operating_point import core_circuits
from mixsig.device.biasgen import BiasGenerator
from mixsig.errors import ConfigError
from mixsig.mapping import fit_ladder, map_nir, simulate_nir, to_nir

nir = pytest.importorskip("nir")


def cuba(n, tau_mem=20e-3, tau_syn=5e-3, v_threshold=1.0):
    ones = np.ones(n)
    return nir.CubaLIF(tau_syn=tau_syn * ones, tau_mem=tau_mem * ones, r=ones, v_leak=0 * ones,
                       v_threshold=v_threshold * ones)


def feed_forward(w1, w2):
    return nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([w1.shape[1]])), "fc1": nir.Linear(weight=w1),
               "hid": cuba(w1.shape[0]), "fc2": nir.Linear(weight=w2), "out_lif": cuba(w2.shape[0]),
               "out": nir.Output(output_type=np.array([w2.shape[0]]))},
        edges=[("in", "fc1"), ("fc1", "hid"), ("hid", "fc2"), ("fc2", "out_lif"), ("out_lif", "out")])


def cam_rows(mapping):
    """Nonzero weights as realised CAM entries: {(pre node, pre index, post node, post index): syn type}."""
    from mixsig.chip import Board, compile_network

    exp = mapping.experiment
    compiled = compile_network(Board(load_chip(exp.chip), *exp.board), exp.build_network(), seed=0)
    where = {int(g): (node, i) for node, neurons in mapping.neurons.items() for i, g in enumerate(neurons)}
    rows = {}
    for source, neuron, kind in zip(compiled.cam_source, compiled.cam_neuron, compiled.cam_syn_type):
        pre = where.get(int(source), ("in", int(source) - compiled.n_neurons))
        rows[(*pre, *where[int(neuron)])] = int(kind)
    return rows


def test_feed_forward_connectivity_and_signs():
    rng = np.random.default_rng(1)
    w1 = rng.choice([-0.2, 0.0, 0.1, 0.3], size=(6, 5))
    w2 = rng.choice([-0.4, 0.0, 0.2], size=(3, 6))
    mapping = map_nir(feed_forward(w1, w2), device_model="none")
    expected = {("in", j, "hid", i): 0 if w1[i, j] > 0 else 2 for i, j in zip(*np.nonzero(w1))}
    expected.update({("hid", j, "out_lif", i): 0 if w2[i, j] > 0 else 2 for i, j in zip(*np.nonzero(w2))})
    assert cam_rows(mapping) == expected  # every nonzero weight, AMPA (0) if positive, GABA (2) if negative
    report = mapping.report
    assert report.synapses == np.count_nonzero(w1) + np.count_nonzero(w2) and report.dropped == 0
    assert report.resources["neurons"] == (9, 1024)
    assert report.resources["cam_per_neuron"][0] == max(np.count_nonzero(w1, axis=1).max(), np.count_nonzero(w2, axis=1).max())
    assert "mapped onto dynapse2" in mapping.experiment.mapping["report"]


def test_time_constants_follow_the_closed_form_within_a_bias_step():
    chip = load_chip("dynapse2")
    soma, syn = core_circuits(chip, 0)
    generator = BiasGenerator.from_model(chip.device_model)
    mapping = map_nir(feed_forward(np.full((2, 2), 0.1), np.full((2, 2), 0.1)), device_model="none")
    biases = {name: value for core, name, value in mapping.experiment.biases if core == 0}
    for name, c, tau in (("soma.i_tau", soma.c_mem, 20e-3), ("ampa.i_tau", syn.ampa.c_syn, 5e-3)):
        ideal = c * soma.u_t / (soma.kappa * tau)
        coarse, _ = generator.coarse_fine(ideal, "n")
        assert abs(biases[name] - ideal) <= 0.5 * generator.step(coarse, "n") * (1 + 1e-12)
    assert biases["soma.i_fb_0"] == 0.0 and biases["soma.i_w_ahp"] == 0.0


def test_recurrent_graph_maps_its_loop():
    w_in = np.array([[0.3, 0.0], [0.0, 0.3], [0.2, 0.2]])
    w_rec = np.array([[0.0, -0.5, 0.1], [-0.5, 0.0, 0.1], [0.1, 0.1, 0.0]])
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([2])), "fc": nir.Linear(weight=w_in), "rnn": cuba(3),
               "rec": nir.Linear(weight=w_rec), "out": nir.Output(output_type=np.array([3]))},
        edges=[("in", "fc"), ("fc", "rnn"), ("rnn", "rec"), ("rec", "rnn"), ("rnn", "out")])
    mapping = map_nir(graph, device_model="none")
    rows = cam_rows(mapping)
    recurrent = {key: kind for key, kind in rows.items() if key[0] == "rnn"}
    assert recurrent == {("rnn", j, "rnn", i): 0 if w_rec[i, j] > 0 else 2 for i, j in zip(*np.nonzero(w_rec))}
    exported = to_nir(mapping.experiment)
    assert ("rnn", "rnn->rnn") in exported.edges and ("rnn->rnn", "rnn") in exported.edges
    back = exported.nodes["rnn->rnn"].weight
    assert np.array_equal(np.sign(back), np.sign(w_rec))
    np.testing.assert_allclose(back, w_rec, rtol=0.25)  # within the 4-bit quantisation of this core


def test_fan_in_beyond_the_cam_is_a_clear_error():
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([65])), "fc": nir.Linear(weight=np.full((1, 65), 0.05)),
               "lif": nir.LIF(tau=np.array([0.02]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1)),
               "out": nir.Output(output_type=np.array([1]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    with pytest.raises(ConfigError) as error:
        map_nir(graph)
    text = str(error.value)
    assert "cam_per_neuron" in text and "65 CAM entries" in text and "exceeded by 1" in text


def test_more_neurons_than_the_board_holds_is_a_clear_error():
    ones = np.ones(1100)
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([2])), "w": nir.Linear(weight=np.full((1100, 2), 0.1)),
                                "lif": nir.LIF(tau=0.02 * ones, r=ones, v_leak=0 * ones, v_threshold=ones)},
                         edges=[("in", "w"), ("w", "lif")])
    with pytest.raises(ConfigError, match="neurons_per_core.*at most 1024 neurons.*exceeded by 76 neurons"):
        map_nir(graph)
    assert len(map_nir(graph, board=(2, 1), device_model="none").neurons["lif"]) == 1100


def test_more_parameter_sets_than_cores_are_merged_and_reported():
    taus = {"a": 10e-3, "b": 12e-3, "c": 40e-3}  # tiny chip: 2 cores; the nearest two (a, b) share one
    nodes = {"in": nir.Input(input_type=np.array([2]))}
    edges = []
    for name, tau in taus.items():
        nodes[f"w{name}"] = nir.Linear(weight=np.full((2, 2), 0.1))
        nodes[name] = cuba(2, tau_mem=tau)
        edges += [("in", f"w{name}"), (f"w{name}", name)]
    mapping = map_nir(nir.NIRGraph(nodes=nodes, edges=edges), chip="tiny", device_model="none")
    cores = {core.layers: core for core in mapping.report.cores}
    assert set(cores) == {("a", "b"), ("c",)}
    assert cores[("a", "b")].merged_error == pytest.approx(np.sqrt(12 / 10) - 1, rel=1e-9)  # geometric mean
    assert cores[("c",)].merged_error == 0.0
    assert "merged parameters" in str(mapping.report)
    with pytest.raises(ConfigError, match="n_cores"):
        map_nir(nir.NIRGraph(nodes=nodes, edges=edges), chip="tiny", merge=False)


def test_chips_without_the_silicon_neuron_are_refused():
    graph = feed_forward(np.full((2, 2), 0.1), np.full((2, 2), 0.1))
    with pytest.raises(ConfigError, match="neuron_model 'digital_lif'"):
        map_nir(graph, chip="digital_lif")
    with pytest.raises(ConfigError, match="neuron_model 'adex'"):
        to_nir(Experiment(chip="brainscales2", device_model="none", network={"populations": {"p": {"size": 2}}}))


def test_dynapse1_weights_are_one_level_per_type():
    """SE1: 1-bit entries; each type's current is the least-squares level of its weights."""
    w1 = np.array([[0.1, 0.3], [0.2, -0.2]])
    mapping = map_nir(feed_forward(w1, np.full((2, 2), 0.1)), chip="dynapse1", device_model="none")
    exp = mapping.experiment
    tables = exp.network["connections"]
    assert {c["weight_mask"] for c in tables} == {1}
    assert {(c["pre"], c["syn_type"]) for c in tables} == {("in", "ampa"), ("in", "gaba"), ("hid", "ampa")}
    assert sum(len(c["pairs"]) for c in tables if c["pre"] == "in") == 3
    chip = load_chip("dynapse1")
    soma, syn = core_circuits(chip, 0)
    generator = BiasGenerator.from_model(chip.device_model)
    biases = {name: value for core, name, value in exp.biases if core == 0}
    a_mem = soma.kappa * biases["soma.i_gain"] / (soma.c_mem * soma.u_t)
    charge = biases["ampa.i_gain"] / biases["ampa.i_tau"] * syn.ampa.t_pulse
    targets = soma.i_spkthr / 20e-3 * np.array([0.1, 0.3, 0.2]) / (a_mem * charge)  # I_u a |W| / (A_mem G t)
    # Brute force: the level c minimising sum_k min(t_k^2, (t_k - c)^2) (a weight may be dropped).
    levels = np.linspace(0, 2 * targets.max(), 200001)
    best = levels[np.argmin(np.minimum(targets[:, None] ** 2, (targets[:, None] - levels) ** 2).sum(axis=0))]
    coarse, _ = generator.coarse_fine(best, "n")
    assert abs(biases["synapse.i_w_ampa"] - best) <= 0.5 * generator.step(coarse, "n") + levels[1]
    assert mapping.report.dropped == 1  # 0.1 is nearer to no synapse than to the level of 0.2 and 0.3


def test_unsupported_node_is_named():
    graph = nir.NIRGraph(nodes={"in": nir.Input(input_type=np.array([2])), "x": nir.Scale(scale=np.ones(2)),
                                "out": nir.Output(output_type=np.array([2]))},
                         edges=[("in", "x"), ("x", "out")])
    with pytest.raises(ConfigError, match="nodes.x"):
        map_nir(graph)


def test_least_squares_ladder_recovers_an_exact_ladder():
    ladder = np.array([0.9e-9, 2.3e-9, 3.7e-9, 8.2e-9])  # not binary; every mask sum distinct
    masks = np.arange(1, 16).repeat(3)
    targets = ((masks[:, None] >> np.arange(4)) & 1) @ ladder
    currents, found = fit_ladder(targets, 4)
    np.testing.assert_allclose(currents, ladder, rtol=1e-10)
    assert np.array_equal(found, masks)


def test_representable_weights_give_the_directly_built_network():
    """Mismatch off, weights on the chip's ladder: the mapped run equals the chip network built by hand."""
    chip = load_chip("dynapse2")
    soma, syn = core_circuits(chip, 0)
    generator = BiasGenerator.from_model(chip.device_model)
    i_gain = float(generator.current(3, 40, "n"))  # a representable soma gain, A
    i_tau_syn = float(generator.current(0, 40, "n"))  # tau_syn 4.6 ms
    tau_syn = syn.ampa.c_syn * syn.ampa.u_t / (syn.ampa.kappa * i_tau_syn)  # representable by construction
    g_syn = float(generator.current(*generator.coarse_fine(i_tau_syn * syn.ampa.i_gain / syn.ampa.i_tau, "n"), "n")) / i_tau_syn
    a_mem = soma.kappa * i_gain / (soma.c_mem * soma.u_t)
    tau_mem = 20e-3
    ladder = np.array([chip.biases[f"synapse.i_w_{b}"][0] for b in range(4)])
    rng = np.random.default_rng(3)
    masks = rng.integers(1, 16, size=(4, 6))
    masks[0, 0] = 15  # the largest weight sits on the top of the ladder
    signs = rng.choice([-1, 1], size=masks.shape, p=[0.2, 0.8])
    signs[0, 0] = 1
    current = ((masks[..., None] >> np.arange(4)) & 1) @ ladder
    # I_w = I_u a |W| / (A_mem G_syn t_pulse) with I_u = i_spkthr (v_threshold 1), a = 1 / tau_mem.
    weight = signs * current * a_mem * g_syn * syn.ampa.t_pulse * tau_mem / soma.i_spkthr
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([6])), "fc": nir.Linear(weight=weight),
               "lif": cuba(4, tau_mem=tau_mem, tau_syn=tau_syn), "out": nir.Output(output_type=np.array([4]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    spikes = [np.sort(rng.uniform(0, 0.3, 100)).tolist() for _ in range(6)]
    fields = dict(device_model="none", duration=0.3, integrator="exact")
    mapping = map_nir(graph, inputs={"in": {"kind": "spike_array", "spike_times": spikes}}, weight_ladder="chip", **fields)
    assert mapping.report.weight_max_error < 1e-12
    biases = {name: value for _, name, value in mapping.experiment.biases}
    assert biases["soma.i_gain"] == pytest.approx(i_gain, rel=1e-12)
    assert biases["ampa.i_tau"] == pytest.approx(i_tau_syn, rel=1e-12)
    # The same chip network by hand: one population on core 0, a connection per (type, mask).
    connections = [{"pre": "in", "post": "lif", "rule": "pairs", "pairs": [[j, i]], "weight_mask": int(masks[i, j]),
                    "syn_type": "ampa" if signs[i, j] > 0 else "gaba"} for i in range(4) for j in range(6)]
    direct = Experiment(biases=mapping.experiment.biases, network={
        "populations": {"lif": {"size": 4, "core": 0}},
        "inputs": {"in": {"size": 6, "kind": "spike_array", "spike_times": spikes}},
        "connections": connections}, **fields)
    # The inverse translation gives the input gain a W = r W / tau_mem back exactly (tau_mem is the
    # realised one: 20 ms is not a bias-generator setting).
    back = to_nir(mapping.experiment)
    np.testing.assert_allclose(back.nodes["in->lif"].weight / back.nodes["lif"].tau_mem[:, None], weight / tau_mem,
                               rtol=1e-9, atol=0)
    np.testing.assert_allclose(back.nodes["lif"].tau_syn, tau_syn, rtol=1e-12)
    mapped_ds, direct_ds = run(mapping.experiment), run(direct)
    assert mapped_ds.sizes["spike"] > 10
    assert "mapped onto dynapse2" in mapped_ds.attrs["experiment_toml"]  # the report is in the provenance
    for name in ("spike_time", "spike_neuron"):
        np.testing.assert_allclose(mapped_ds[name].values, direct_ds[name].values, rtol=0, atol=1e-12)


def test_reference_lif_matches_its_closed_form():
    """A LIF driven by a constant bias fires with the period tau ln(r b / (r b - v_th))."""
    graph = nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([1])), "fc": nir.Affine(weight=np.zeros((1, 1)), bias=np.array([2.0])),
               "lif": nir.LIF(tau=np.array([0.02]), r=np.ones(1), v_leak=np.zeros(1), v_threshold=np.ones(1)),
               "out": nir.Output(output_type=np.array([1]))},
        edges=[("in", "fc"), ("fc", "lif"), ("lif", "out")])
    dt = 1e-5
    counts = simulate_nir(graph, {"in": np.zeros((100000, 1))}, dt)["lif"][:, 0]
    period = np.diff(np.nonzero(counts)[0]).mean() * dt
    assert period == pytest.approx(0.02 * np.log(2.0), abs=dt)


def test_map_command_writes_a_runnable_experiment(tmp_path, capsys):
    from mixsig.cli import main
    from mixsig.experiment import load_experiment

    path = tmp_path / "model.nir"
    nir.write(str(path), feed_forward(np.full((3, 4), 0.1), np.full((2, 3), -0.2)))
    assert main(["map", str(path), "-o", str(tmp_path / "exp.toml")]) == 0
    assert "cam_per_neuron" in capsys.readouterr().out
    exp = load_experiment(tmp_path / "exp.toml")
    assert "mapped onto dynapse2" in exp.mapping["report"] and exp.mapping["nodes"]["hid"] == ["hid"]
    assert main(["map", str(path), "-o", str(tmp_path / "exp.toml")]) == 2  # exists, no --force
    (tmp_path / "bad.nir").write_text("not hdf5")
    assert main(["map", str(tmp_path / "bad.nir")]) == 2
