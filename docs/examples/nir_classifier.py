"""NIR classifier: a network trained in numpy, exported to NIR, mapped onto dynapse2, accuracy vs mismatch.

A toy task: each sample is a pattern of Poisson rates on 8 input channels, a bump of activity
whose position gives its class (3 classes). A 2-layer rate network (8 -> 12 ReLU -> 3) is trained
with numpy, converted to a rate-coded spiking network of CubaLIF neurons (tau_mem 20 ms,
tau_syn 5 ms, threshold 1), written as a NIR graph with the ``nir`` package, and then

* simulated as NIR defines it (``mixsig.mapping.simulate_nir``): the ideal, unmapped network;
* mapped onto a DYNAP-SE2 (``mixsig.mapping.map_nir``: bias currents, 4-bit weight ladders,
  placement; the report is printed) and run on several chip instances at each ``mismatch_scale``
  (0 = nominal devices, 1 = the calibrated spread of generic_180nm, 2 = twice it).

The samples are presented one after the other in one run (0.2 s each, 0.1 s of silence between
them); the class is the output neuron with the most spikes. The figure shows accuracy versus
mismatch scale (mean and range over instances) against the ideal network.

    python docs/examples/nir_classifier.py           # 45 test samples, 4 scales x 4 instances (~75 s)
    python docs/examples/nir_classifier.py --quick   # 9 samples, 2 scales x 2 instances (~20 s)

Measured (full run, seed 7): ideal NIR network 0.956, dynapse2 0.933 / 0.922 / 0.911 / 0.844 at
mismatch_scale 0 / 0.5 / 1 / 2 (mean of 4 instances; at 2 they range 0.73 .. 0.93).
"""
import argparse
import json
import pathlib
import sys

import numpy as np

import mixsig
from mixsig import plot
from mixsig.mapping import map_nir, simulate_nir

CHANNELS, HIDDEN, CLASSES = 8, 12, 3
RATE_MAX = 200.0           # Hz, peak input rate
PRESENT, GAP = 0.2, 0.1    # s, presentation of a sample and silence after it
DT = 1e-4                  # s
TAU_MEM, TAU_SYN = 20e-3, 5e-3


def samples(n, rng):
    """Rate patterns (n, CHANNELS) in Hz and their classes: a Gaussian bump at a class-given position."""
    labels = rng.integers(0, CLASSES, n)
    centre = 1.0 + 2.5 * labels + rng.normal(0, 0.5, n)
    channel = np.arange(CHANNELS)
    rates = RATE_MAX * np.exp(-0.5 * ((channel[None, :] - centre[:, None]) / 1.2) ** 2)
    return np.clip(rates + rng.normal(0, 10.0, rates.shape), 0, None), labels


def train(x, y, rng, epochs=2000, step=0.05):
    """A ReLU network y = W2 relu(W1 x) trained by gradient descent on the softmax cross-entropy."""
    w1 = rng.normal(0, 0.5, (HIDDEN, CHANNELS))
    w2 = rng.normal(0, 0.5, (CLASSES, HIDDEN))
    onehot = np.eye(CLASSES)[y]
    for _ in range(epochs):
        h = np.maximum(w1 @ x.T, 0)                       # (HIDDEN, n)
        z = w2 @ h
        p = np.exp(z - z.max(axis=0))
        p /= p.sum(axis=0)
        dz = (p - onehot.T) / len(y)
        dh = (w2.T @ dz) * (h > 0)
        w2 -= step * dz @ h.T
        w1 -= step * dh @ x
    return w1, w2


def spiking_graph(w1, w2, rates):
    """The rate network as CubaLIF neurons: a weight W delivers W of synaptic charge per spike.

    A CubaLIF neuron driven at a summed charge rate ``I`` (weight x presynaptic rate, Hz) settles
    at ``v = r I``; above its threshold 1 it fires at about ``(r I - 1/2) / tau_mem``. Each layer's
    weights are scaled so that the 90th percentile of its positive drive over the training rates
    is 6 thresholds: well inside the quasi-linear range, as ANN-to-SNN conversion does.
    """
    import nir

    def scaled(w, pre_rates):
        drive = w @ pre_rates.T
        return w * 6.0 / np.percentile(drive[drive > 0], 90)

    w_in = scaled(w1, rates)
    hidden = np.maximum(w_in @ rates.T - 0.5, 0).T / TAU_MEM          # hidden rates, Hz (n, HIDDEN)
    w_out = scaled(w2, hidden)
    cuba = lambda n: nir.CubaLIF(tau_syn=np.full(n, TAU_SYN), tau_mem=np.full(n, TAU_MEM), r=np.ones(n),  # noqa: E731
                                 v_leak=np.zeros(n), v_threshold=np.ones(n))
    return nir.NIRGraph(
        nodes={"in": nir.Input(input_type=np.array([CHANNELS])), "fc1": nir.Linear(weight=w_in),
               "hidden": cuba(HIDDEN), "fc2": nir.Linear(weight=w_out), "output": cuba(CLASSES),
               "out": nir.Output(output_type=np.array([CLASSES]))},
        edges=[("in", "fc1"), ("fc1", "hidden"), ("hidden", "fc2"), ("fc2", "output"), ("output", "out")])


def input_spikes(rates, rng):
    """Poisson spike times per channel (s) for the samples presented one after the other, on the DT grid."""
    period = PRESENT + GAP
    steps = int(round(PRESENT / DT))
    times = [[] for _ in range(CHANNELS)]
    for k, sample in enumerate(rates):
        counts = rng.random((steps, CHANNELS)) < sample * DT
        for channel in range(CHANNELS):
            times[channel] += (k * period + np.nonzero(counts[:, channel])[0] * DT).tolist()
    return times


def classify(times, n_samples):
    """Class of each sample (n_samples,): the output neuron with the most spikes in its window."""
    period = PRESENT + GAP
    counts = np.zeros((n_samples, CLASSES))
    for cls, spikes in enumerate(times):
        window = np.floor(np.asarray(spikes) / period).astype(int)
        inside = np.asarray(spikes) - window * period < PRESENT + 0.02
        np.add.at(counts[:, cls], window[inside & (window < n_samples)], 1)
    return np.argmax(counts, axis=1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run (CI)")
    parser.add_argument("-o", "--output", default="example-output", help="output folder")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    n_test, scales, instances = (9, (0.0, 1.0), 2) if args.quick else (45, (0.0, 0.5, 1.0, 2.0), 4)
    rng = np.random.default_rng(7)

    x_train, y_train = samples(600, rng)
    w1, w2 = train(x_train / RATE_MAX, y_train, rng)
    x_test, y_test = samples(n_test, rng)
    ann = np.mean(np.argmax(w2 @ np.maximum(w1 @ (x_test / RATE_MAX).T, 0), axis=0) == y_test)
    graph = spiking_graph(w1, w2, x_train)
    import nir

    nir.write(str(out / "nir-classifier.nir"), graph)

    times = input_spikes(x_test, rng)
    duration = n_test * (PRESENT + GAP)
    grid = np.zeros((int(round(duration / DT)), CHANNELS))
    for channel, spikes in enumerate(times):
        np.add.at(grid[:, channel], np.round(np.asarray(spikes) / DT).astype(int), 1)
    ideal_counts = simulate_nir(graph, {"in": grid}, DT)["output"]
    ideal_times = [np.nonzero(ideal_counts[:, c])[0] * DT for c in range(CLASSES)]
    ideal = np.mean(classify(ideal_times, n_test) == y_test)

    inputs = {"in": {"kind": "spike_array", "spike_times": times}}
    accuracy = {}
    for scale in scales:
        mapping = map_nir(graph, chip="dynapse2", inputs=inputs, duration=duration, dt=DT, instances=instances,
                          mismatch_scale=scale, drift=False, seed=1)
        if scale == scales[0]:
            print(mapping.report)
        ds = mixsig.run(mapping.experiment, progress=False)
        output = mapping.neurons["output"]
        accuracy[scale] = []
        for instance in range(instances):
            mine = ds["spike_instance"].values == instance
            per_class = [ds["spike_time"].values[mine & (ds["spike_neuron"].values == n)] for n in output]
            accuracy[scale].append(float(np.mean(classify(per_class, n_test) == y_test)))
        print(f"mismatch_scale {scale:g}: accuracy {np.mean(accuracy[scale]):.3f} "
              f"(instances {', '.join(f'{a:.2f}' for a in accuracy[scale])})")
    print(f"ideal NIR network: {ideal:.3f}; trained rate network: {ann:.3f}")

    def draw(ax):
        s = np.array(scales)
        acc = np.array([accuracy[v] for v in scales])
        ax.errorbar(s, acc.mean(axis=1), yerr=[acc.mean(axis=1) - acc.min(axis=1), acc.max(axis=1) - acc.mean(axis=1)],
                    marker="o", capsize=3, label=f"dynapse2, {instances} instances (mean, range)")
        ax.axhline(ideal, color="k", linestyle="--", label="ideal NIR network")
        ax.axhline(1 / CLASSES, color="grey", linestyle=":", label="chance")
        ax.set_xlabel("mismatch_scale (x calibrated sigma)")
        ax.set_ylabel("test accuracy")
        ax.set_ylim(0, 1.05)
        ax.legend(loc="lower left")

    plot.write_png(draw, out / "nir-accuracy.png")
    results = {"mismatch_scale": list(scales), "accuracy": [accuracy[s] for s in scales], "ideal": float(ideal),
               "rate_network": float(ann), "test_samples": n_test}
    (out / "nir-accuracy.json").write_text(json.dumps(results, indent=1))
    print(f"wrote {out / 'nir-accuracy.png'}, {out / 'nir-accuracy.json'} and {out / 'nir-classifier.nir'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
