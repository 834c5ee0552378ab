"""Population coding: decode a scalar from the tuning curves of a mismatched population.

Runs the population-coding study (``mixsig.studies.population``; docs/studies.md): a scalar x in
[-1, 1] drives each neuron of a core through its own Poisson channel whose rate follows the NEF
encoding ``rate_max g max(0, e x - b)/(1 - b)`` (encoders e = +-1, random intercepts b and gains
g); the mismatched silicon adds its own heterogeneity. The study's results dataset is then used
directly with xarray and the analysis library: NEF decoders trained on one chip's tuning curves,
applied to its own curves and to another chip's, show that mismatch makes decoders
chip-specific.

    python docs/examples/population_coding.py           # study defaults (64 neurons, 2 chips, ~1-2 min)
    python docs/examples/population_coding.py --quick   # 16 neurons, short trials (~5 s)
"""
import argparse
import pathlib
import sys

from mixsig import analysis, plot
from mixsig.studies.population import PopulationSettings, population

QUICK = dict(neurons=16, sizes=(4, 8, 16), subsets=4, levels=5, repeats=3, window=0.03, settle=0.03, grid=201,
             fisher_trials=16, fisher_block=8, rheobase_window=0.2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run (CI)")
    parser.add_argument("-o", "--output", default="example-output", help="output folder")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    settings = PopulationSettings(**QUICK) if args.quick else PopulationSettings()

    result = population(settings, output=out / "population")       # datasets, results, figures
    res = result.results
    print(res["rmse"].sel(condition="mismatch").to_pandas().rename("single-trial RMSE vs N"))
    print(res["linear_threshold"].sel(condition="mismatch").to_pandas().rename("1/sqrt(linear Fisher information) vs N"))

    # Tuning curves (instance, neuron, stimulus), Hz: decoders of chip 0 on chips 0 and 1.
    curves = res["tuning_curve"]
    x = curves["stimulus"].values
    own = curves.isel(instance=0).values.T                          # (stimulus, neuron)
    noise = analysis.poisson_noise_variance(own, settings.window)
    decoders = analysis.nef_decoders(own, x, noise)
    for k in range(curves.sizes["instance"]):
        other = curves.isel(instance=k).values.T
        err = analysis.rmse(analysis.decode(other, decoders), x)
        print(f"decoders of instance 0 applied to the mean curves of instance {k}: RMSE {err:.3f}")

    png = plot.write_png(lambda ax: plot.tuning_curves(curves, ax), out / "population-tuning.png")
    print(f"wrote {png} and {len(result.files)} study files in {out / 'population'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
