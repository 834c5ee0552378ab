"""A first experiment and its analysis with xarray.

Runs ``first_experiment.toml`` (next to this script; explained line by line in
docs/getting_started.md), writes the ``mixsig-1`` dataset, reads it back and analyses it:
rates per core and instance, the rate spread across neurons and across chip instances, the
sampled mismatch of a circuit parameter, and a figure of one recorded membrane current.

    python docs/examples/first_experiment.py            # 0.5 s, 4 instances (~10 s)
    python docs/examples/first_experiment.py --quick    # 0.1 s, 2 instances (a few s)
"""
import argparse
import pathlib
import sys

import mixsig
from mixsig import analysis, plot

HERE = pathlib.Path(__file__).resolve().parent


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="reduced run (CI)")
    parser.add_argument("-o", "--output", default="example-output", help="output folder")
    args = parser.parse_args(argv)
    out = pathlib.Path(args.output)
    out.mkdir(parents=True, exist_ok=True)

    # 1. Load the experiment file (validated as a whole) and, for the quick form, shorten it.
    exp = mixsig.load_experiment(HERE / "first_experiment.toml")
    if args.quick:
        exp = exp.replace(duration=0.1, instances=2)

    # 2. Run it: every instance is one chip with its own mismatch draw. Write and re-open the
    #    dataset (open_dataset checks the mixsig-1 schema).
    ds = mixsig.run(exp)
    path = out / "first_experiment.nc"
    mixsig.to_netcdf(ds, path)
    ds = mixsig.open_dataset(path)

    # 3. Rates (instance, neuron) in Hz; group the neurons by their core coordinate. The
    #    populations occupy the first neurons of cores 0 and 1 (128 and 32 neurons).
    rates = analysis.firing_rates(ds)
    per_core = rates.groupby("core").mean("neuron")                      # (instance, core)
    print("mean rate per core and instance (Hz):")
    print(per_core.to_pandas().round(2))
    exc = rates.where(rates["core"] == 0, drop=True)
    print(f"excitatory core: CV across neurons {float(analysis.cv(exc, 'neuron').mean()):.3f}, "
          f"CV of the instance means {float(analysis.cv(exc.mean('neuron'), 'instance')):.3f}")

    # 4. The sampled parameters are data variables <block>__<field> (instance, neuron), SI units.
    i_tau = ds["soma__i_tau"]
    print(f"{i_tau.attrs['parameter_name']}: mean {float(i_tau.mean()) * 1e12:.2f} pA, "
          f"CV {float(analysis.cv(i_tau, 'neuron').mean()):.3f} across neurons ({i_tau.attrs['units']})")

    # 5. A recorded trace: i_mem (instance, neuron_rec, time), A.
    png = plot.write_png(lambda ax: plot.trace(ds, "i_mem", ax), out / "first_experiment-i_mem.png")
    print(f"wrote {path} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
