"""Mismatch characterisation: TTFS spread, CV and ENOB versus population size, with figures.

The classic DYNAP measurement, built from the library pieces rather than the ready-made study
(``mixsig study characterize`` does the same and more): every neuron of core 0 receives the
on-chip DC bias ``soma.i_dc`` from t = 0. The bias is copied into each neuron by a mismatched
transistor, so the time to first spike (TTFS) differs from neuron to neuron and from chip to
chip. :func:`mixsig.analysis.cv_versus_population_size` then splits the core into groups of N
neurons: the independent (within-instance) CV of the group means falls as ``CV_1/sqrt(N)``
(+1/2 bit of ENOB per doubling) while the CV pooled over instances levels off at the shared
per-core term.

    python docs/examples/mismatch_characterisation.py           # 2 device models, 8 chips x 256 neurons (~10 s)
    python docs/examples/mismatch_characterisation.py --quick   # 1 model, 2 chips x 64 neurons
"""
import argparse
import pathlib
import sys

import numpy as np

import mixsig
from mixsig import analysis, plot
from mixsig.experiment import Record


def ttfs_experiment(device_model, instances, neurons, i_dc=5e-10, duration=0.1, seed=0):
    """One core of ``neurons`` neurons driven by the on-chip DC bias ``i_dc`` (A) from t = 0."""
    return mixsig.Experiment(
        duration=duration,
        instances=instances,
        seed=seed,
        device_model=device_model,
        biases=((0, "soma.i_dc", i_dc),),
        network={"populations": {"core0": {"size": neurons, "core": 0}}},
        record=Record(router=False, parameters=True),
    )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run (CI)")
    parser.add_argument("-o", "--output", default="example-output", help="output folder")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    models = ("generic_180nm",) if args.quick else ("generic_180nm", "fdsoi_22nm")
    instances, neurons = (2, 64) if args.quick else (8, 256)

    curves, ttfs_first = {}, None
    for model in models:
        ds = mixsig.run(ttfs_experiment(model, instances, neurons))
        ttfs = analysis.time_to_first_spike(ds)                   # (instance, neuron), s
        ttfs_first = ttfs if ttfs_first is None else ttfs_first
        cv_n = analysis.cv_versus_population_size(ttfs, convention="levels")
        curves[f"{model} TTFS"] = cv_n
        curves[f"{model} soma.i_tau"] = analysis.cv_versus_population_size(ds["soma__i_tau"])
        n = cv_n["n_pop"].values
        slope = analysis.loglog_slope(n, cv_n["cv_within"].values)
        print(f"{model}: TTFS {float(ttfs.mean()) * 1e3:.2f} ms, CV_1 {float(cv_n['cv_within'][0]):.4f}, "
              f"log-log slope {slope:.3f} (ideal -0.5), shared term {float(cv_n['cv_shared']):.4f}")
        for k, size in enumerate(n):
            ideal = float(cv_n["cv_within"][0]) / np.sqrt(size / n[0])
            print(f"  N = {size:4d}: CV within {float(cv_n['cv_within'][k]):.4f} (CV_1/sqrt(N) {ideal:.4f}), "
                  f"pooled {float(cv_n['cv_pooled'][k]):.4f}, ENOB within {float(cv_n['enob_within'][k]):.2f} bit")

    files = [
        plot.write_png(lambda ax: plot.ttfs_histogram(ttfs_first, ax), out / "characterisation-ttfs.png"),
        plot.write_png(lambda ax: plot.cv_vs_population_size(curves, ax), out / "characterisation-cv-vs-n.png"),
        plot.write_png(lambda ax: plot.enob_vs_population_size(curves, ax), out / "characterisation-enob-vs-n.png"),
    ]
    print("wrote", ", ".join(str(f) for f in files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
