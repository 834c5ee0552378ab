"""The ``mixsig`` command: ``run``, ``inspect``, ``plot``, ``combine``, ``export``, ``validate``, ``study``, ``map``, ``calibrate`` and ``neuron``.

User errors (bad files, bad arguments) print one message listing every problem and exit with
status 2; they never show a traceback. Outputs are checked before any work: an existing file is
replaced only with ``--force``, and its folder must be writable. ``Ctrl-C`` (SIGINT) and SIGTERM
print one line and exit with status 130 and 143; files being written are removed and a previous
output stays as it was (:mod:`mixsig.files`). A file-size limit or a full disk is reported as an
error, with nothing partial left.
"""

import argparse
import errno
import pathlib
import shlex
import signal
import sys

from mixsig import __version__, interrupts
from mixsig.errors import ConfigError, Problem, raise_if_any
from mixsig.files import output_problems

WRITE_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EIO}
"""Errors of a write that failed for lack of room (disk full, quota, file-size limit) or of the device."""

INTERRUPT_STATUS = {signal.SIGINT: 130, signal.SIGTERM: 143}
"""Exit status after each interrupting signal (128 + its number, as a shell reports it)."""

IGNORED_SIGNALS = (signal.SIGXFSZ,) if hasattr(signal, "SIGXFSZ") else ()
"""Ignored while a command runs: beyond a file-size limit a write then fails with an error (reported,
nothing partial left) instead of the process being killed."""


def _check_outputs(paths, force, key="--output"):
    """Refuse outputs that exist (unless ``force``) or cannot be written, before any work."""
    raise_if_any([problem for path in paths for problem in output_problems(path, force, key=key)], "output")


def _command_line(argv):
    return "mixsig " + shlex.join(argv)


def _run(args, argv):
    from mixsig.engine.simulation import run
    from mixsig.experiment import default_experiment, load_experiment
    from mixsig.io import to_netcdf
    from mixsig.summary import summarize

    if args.from_dataset is not None:
        experiment = _recorded_experiment(args)
    elif args.experiment is None:
        experiment = default_experiment()
    else:
        experiment = load_experiment(args.experiment)
    changes = {k: v for k, v in (("instances", args.instances), ("seed", args.seed), ("duration", args.duration),
                                 ("integrator", args.integrator), ("delivery", args.delivery)) if v is not None}
    if changes:
        experiment = experiment.replace(**changes)
        experiment.check()
    if args.set:
        from mixsig.settings import apply_settings

        experiment = apply_settings(experiment, args.set, source="--set")
    _check_outputs([args.output], args.force)  # before simulating
    backend = None
    if args.workers is not None or args.scheduler is not None or args.shard_dir is not None:
        backend = {"workers": args.workers, "scheduler": args.scheduler, "shard_dir": args.shard_dir}
    if args.sweep:
        from mixsig.sweep import run_sweep

        ds = run_sweep(experiment, args.sweep, backend=backend, command=_command_line(argv))
        to_netcdf(ds, args.output)
        print(summarize(ds, path=args.output))
        return 0
    if backend is not None:
        from mixsig.ensemble import run_ensemble

        ds = run_ensemble(experiment, command=_command_line(argv), **backend)
    else:
        ds = run(experiment, command=_command_line(argv))
    to_netcdf(ds, args.output)
    print(summarize(ds, path=args.output))
    return 0


def _recorded_experiment(args):
    """The experiment recorded in the dataset named by ``--from-dataset``."""
    from mixsig.io import load_dataset
    from mixsig.io.provenance import experiment_from_dataset

    if args.experiment is not None:
        raise ConfigError([Problem("<command line>", "--from-dataset", args.from_dataset,
                                   f"either an experiment file ({args.experiment}) or --from-dataset, not both")],
                          "run options")
    return experiment_from_dataset(load_dataset(args.from_dataset), source=args.from_dataset)


def _inspect(args, argv):
    from mixsig.io import load_dataset
    from mixsig.summary import summarize

    print(summarize(load_dataset(args.file), path=args.file))
    return 0


def _plot(args, argv):
    from mixsig.io import load_dataset
    from mixsig.plot import figure_files, save_figures

    stem = args.prefix or args.file.rsplit(".nc", 1)[0]
    ds = load_dataset(args.file)
    _check_outputs(figure_files(ds, stem), args.force, key="--prefix")
    paths = save_figures(ds, stem)
    for path in paths:
        print(f"wrote {path}")
    if not paths:
        print(f"{args.file}: no instances or no neurons, nothing to plot")
    return 0


def _combine(args, argv):
    from mixsig.io import combine, to_netcdf
    from mixsig.summary import summarize

    _check_outputs([args.output], args.force)
    ds = combine(args.shards, command=_command_line(argv))
    to_netcdf(ds, args.output)
    print(summarize(ds, path=args.output))
    return 0


def _export(args, argv):
    from mixsig.export import command
    from mixsig.io import load_dataset

    ds = load_dataset(args.file)
    problems, instances = command.option_problems(ds, args.output, args.to, args.instance)
    paths = command.output_paths(args.output, args.to, instances) if instances else {}
    problems += [problem for path in paths.values() for problem in output_problems(path, args.force)]
    raise_if_any(problems, "export options")
    for path in command.write(ds, args.to, paths, instances):
        print(f"wrote {path}")
    return 0


def _validate(args, argv):
    from mixsig.validate import default_directory, validate

    if args.dir is None:
        args.dir = default_directory()
    problems = output_problems(args.report, args.force, key="--report")
    if not pathlib.Path(args.dir).is_dir():
        problems.append(Problem(args.dir, "(directory)", None,
                                "a folder of validation scripts (default: the scripts installed with mixsig)"))
    raise_if_any(problems, "validation options")
    return validate(args.dir, args.report, include_slow=not args.quick)


def _neuron(args, argv):
    from mixsig.engine.single_neuron import SingleNeuronJob, run_single_neuron

    job = SingleNeuronJob(rate=args.rate, duration=args.duration, seed=args.seed, trains=args.trains)
    print(run_single_neuron(job).summary())
    return 0


def _setting(text):
    from mixsig.settings import parse_setting

    try:
        return parse_setting(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def _sweep(text):
    from mixsig.settings import parse_sweep

    try:
        return parse_sweep(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error))


def _floats(text):
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}")


def _ints(text):
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}")


def _names(text):
    return tuple(name.strip() for name in text.split(","))


CROSSBAR_OPTIONS = ("times", "adc_bits", "variability")
"""Study options of the crossbar study only (argparse destinations)."""

SUBSTRATES_OPTIONS = ("chips", "trim_bits", "task")
"""Study options of the substrates study (argparse destinations); the characterize study also takes
``chips`` and ``trim_bits``."""

CHARACTERIZE_SUBSTRATES_OPTIONS = ("chips", "trim_bits")
"""Options the characterize study shares with the substrates study (argparse destinations)."""

OTHER_STUDY_OPTIONS = ("sizes", "temperatures", "duration", "enob_convention", "drive", "bias_mode", "encoding", "tau_h",
                       "time_scale", "trims")
"""Study options the crossbar study does not take (argparse destinations)."""


def _study_crossbar(args):
    from mixsig.studies.crossbar import crossbar_study

    given = [f"--{name.replace('_', '-')}" for name in OTHER_STUDY_OPTIONS if getattr(args, name) is not None]
    if given or (args.device_model and len(args.device_model) > 1):
        raise ConfigError([Problem("<command line>", "/".join(given) or "--device-model", None,
                                   "options of the crossbar study (--times, --adc-bits, --variability, "
                                   "--instances, --seed, one --device-model)")], "study options")
    options = {"device_model": args.device_model[0] if args.device_model else None, "times": args.times,
               "adc_bits": args.adc_bits, "variability": args.variability, "instances": args.instances,
               "seed": args.seed}
    result = crossbar_study(output=args.output, **{k: v for k, v in options.items() if v is not None})
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _study_substrates(args):
    from mixsig.studies.substrates import substrates

    others = [f"--{name.replace('_', '-')}" for name in OTHER_STUDY_OPTIONS + CROSSBAR_OPTIONS
              if name not in ("sizes", "times") and getattr(args, name) is not None]
    if others or args.device_model:
        raise ConfigError([Problem("<command line>", "/".join(others) or "--device-model", None,
                                   "options of the substrates study (--chips, --trim-bits, --task, --times, --sizes, "
                                   "--instances, --seed; each chip runs with its own device model)")], "study options")
    options = {"chips": tuple(args.chips) if args.chips else None, "trim_bits": args.trim_bits, "task": args.task,
               "t_since_program": args.times, "sizes": args.sizes, "instances": args.instances, "seed": args.seed}
    result = substrates(output=args.output, **{k: v for k, v in options.items() if v is not None})
    for path in result.files:
        print(f"wrote {path}")
    return 0


ROUTER_OPTIONS = ("patterns", "policies", "fifo_depths", "loads", "events", "burst_size")
"""Study options of the router study only (argparse destinations)."""


def _study_router(args):
    from mixsig.studies.router import router_study

    others = [f"--{name.replace('_', '-')}" for name in OTHER_STUDY_OPTIONS + CROSSBAR_OPTIONS + SUBSTRATES_OPTIONS + ("instances",)
              if name != "chips" and getattr(args, name) is not None]
    if others or args.device_model or (args.chips and len(args.chips) > 1):
        raise ConfigError([Problem("<command line>", "/".join(others) or "--device-model/--chips", None,
                                   "options of the router study (--chips once, --patterns, --policies, --fifo-depths, "
                                   "--loads, --events, --burst-size, --seed)")], "study options")
    options = {name: getattr(args, name) for name in ROUTER_OPTIONS + ("seed",)}
    options["chip"] = args.chips[0] if args.chips else None
    result = router_study(output=args.output, **{k: v for k, v in options.items() if v is not None})
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _study(args, argv):
    if args.kind == "router":
        return _study_router(args)
    router_only = [f"--{name.replace('_', '-')}" for name in ROUTER_OPTIONS if getattr(args, name) is not None]
    if router_only:
        raise ConfigError([Problem("<command line>", "/".join(router_only), None, "options of the router study only")],
                          "study options")
    if args.kind == "substrates":
        return _study_substrates(args)
    shared = CHARACTERIZE_SUBSTRATES_OPTIONS if args.kind == "characterize" else ()
    substrates_only = [f"--{name.replace('_', '-')}" for name in SUBSTRATES_OPTIONS
                       if name not in shared and getattr(args, name) is not None]
    if args.trims is not None and args.kind != "characterize":
        substrates_only.append("--trims")
    if substrates_only:
        raise ConfigError([Problem("<command line>", "/".join(substrates_only), None,
                                   "options of the substrates study (--chips and --trim-bits also of the "
                                   "characterize study, --trims of the characterize study only)")], "study options")
    if args.kind == "crossbar":
        return _study_crossbar(args)
    crossbar_only = [f"--{name.replace('_', '-')}" for name in CROSSBAR_OPTIONS if getattr(args, name) is not None]
    if crossbar_only:
        raise ConfigError([Problem("<command line>", "/".join(crossbar_only), None, "options of the crossbar study only")],
                          "study options")
    if args.encoding is not None and args.kind != "population":
        raise ConfigError([Problem("<command line>", "--encoding", args.encoding, "an option of the population study only")],
                          "study options")
    if (args.drive is not None or args.bias_mode is not None) and args.kind != "characterize":
        raise ConfigError([Problem("<command line>", "--drive/--bias-mode", None, "options of the characterize study only")],
                          "study options")
    common = {k: v for k, v in (("instances", args.instances), ("seed", args.seed), ("sizes", args.sizes)) if v is not None}
    if args.kind == "homeostasis":
        from mixsig.studies.homeostasis import homeostasis as study

        if args.sizes is not None or args.temperatures is not None or args.enob_convention is not None or args.duration is not None:
            raise ConfigError([Problem("<command line>", "--sizes/--temperatures/--enob-convention/--duration", None,
                                       "options of the characterize or population study")], "study options")
        if args.device_model and len(args.device_model) > 1:
            raise ConfigError([Problem("<command line>", "--device-model", args.device_model, "one device model for the homeostasis study")],
                              "study options")
        extra = {"device_model": args.device_model[0] if args.device_model else None, "tau_h": args.tau_h,
                 "time_scale": args.time_scale}
    elif args.tau_h is not None or args.time_scale is not None:
        raise ConfigError([Problem("<command line>", "--tau-h/--time-scale", None, "options of the homeostasis study only")],
                          "study options")
    elif args.kind == "characterize":
        from mixsig.studies.characterize import characterize as study

        extra = {"chips": tuple(args.chips) if args.chips else None, "trim_bits": args.trim_bits,
                 "trims": tuple(args.trims) if args.trims else None,
                 "device_models": tuple(args.device_model) if args.device_model else None,
                 "temperatures": args.temperatures, "duration": args.duration, "enob_convention": args.enob_convention,
                 "drive": args.drive, "bias_modes": tuple(args.bias_mode) if args.bias_mode else None}
    else:
        from mixsig.studies.population import population as study

        if args.device_model and len(args.device_model) > 1:
            raise ConfigError([Problem("<command line>", "--device-model", args.device_model, "one device model for the population study")],
                              "study options")
        if args.temperatures is not None or args.enob_convention is not None:
            raise ConfigError([Problem("<command line>", "--temperatures/--enob-convention", None,
                                       "options of the characterize study only")], "study options")
        extra = {"device_model": args.device_model[0] if args.device_model else None, "window": args.duration,
                 "encoding": args.encoding}
    common.update({k: v for k, v in extra.items() if v is not None})
    result = study(output=args.output, **common)
    for path in result.files:
        print(f"wrote {path}")
    return 0


def _map(args, argv):
    from mixsig.files import atomic_write
    from mixsig.mapping import map_nir

    output = args.output or str(pathlib.Path(args.model).with_suffix(".toml"))
    _check_outputs([output], args.force)
    mapping = map_nir(args.model, chip=args.chip, device_model=args.device_model, input_rate=args.input_rate,
                      merge=not args.no_merge)
    text = mapping.experiment.to_toml()
    atomic_write(output, lambda path: pathlib.Path(path).write_text(text, encoding="utf-8"))
    print(mapping.report)
    print(f"wrote {output}")
    return 0


def _calibrate(args, argv):
    from mixsig.calibrate import calibrate
    from mixsig.experiment import load_experiment
    from mixsig.trims import write_trims

    problems = []
    if pathlib.Path(args.output).suffix not in (".nc", ".toml"):
        problems.append(Problem("<command line>", "--output", args.output, "a trim file ending in .nc or .toml"))
    if args.instances is not None and args.instances < 1:
        problems.append(Problem("<command line>", "--instances", args.instances, "an integer >= 1"))
    raise_if_any(problems, "command line")
    _check_outputs([args.output], args.force)
    experiment = load_experiment(args.experiment) if args.experiment else None
    result = calibrate(args.chip, experiment=experiment, instances=args.instances, bits=args.bits)
    write_trims(result.trims, args.output)
    trims = result.trims
    print(f"mixsig calibrate {trims.chip}: {trims.instances.size} instance(s) x {trims.codes[next(iter(trims.codes))].shape[1]} "
          f"neurons, {trims.bits}-bit trims, seed {trims.seed}, device model {trims.device_model}")
    print(result.summary())
    print(f"  file  {args.output}")
    return 0


def build_parser():
    """The argument parser of the ``mixsig`` command."""
    from mixsig.experiment import DELIVERIES, INTEGRATORS

    parser = argparse.ArgumentParser(prog="mixsig", description="Emulator of mixed-signal neuromorphic processors.")
    parser.add_argument("--version", action="version", version=f"mixsig {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run", help="simulate an experiment and write its dataset",
        description="Simulate an experiment file (default: the embedded DYNAP-SE2 network experiment) "
                    "and write a mixsig-1 netCDF dataset.",
    )
    run.add_argument("experiment", nargs="?", help="experiment TOML file (default: embedded experiment)")
    run.add_argument("-o", "--output", default="mixsig-run.nc", help="output file (default mixsig-run.nc)")
    run.add_argument("--from-dataset", metavar="FILE",
                     help="re-run the experiment recorded in a mixsig dataset (bit for bit, when the "
                          "chip config, calibration and mixsig version are the recorded ones)")
    run.add_argument("--instances", type=int, help="number of chip instances")
    run.add_argument("--seed", type=int, help="root seed")
    run.add_argument("--duration", type=float, help="simulated time, s")
    run.add_argument("--set", action="append", type=_setting, metavar="KEY=VALUE",
                     help="override a setting of the experiment (repeatable): a dotted key of the file "
                          "(duration, record.interval, populations.exc.size), device.<key> "
                          "(device.temperature=310, device.mismatch_scale=0.5) or a chip bias on every "
                          "core (soma.i_tau=5e-12); validated like the file")
    run.add_argument("--sweep", action="append", type=_sweep, metavar="KEY=V1,V2,...",
                     help="run the experiment once per value (repeatable: every combination) into one "
                          "dataset with a condition dimension; keys as for --set")
    run.add_argument("--integrator", choices=INTEGRATORS,
                     help="fast (fixed-step scheme) or exact (reference) integrator (default: the experiment's)")
    run.add_argument("--delivery", choices=DELIVERIES,
                     help="when a routed pulse starts: at the next step's start (step) or at its arrival time "
                          "(exact, exact integrator) (default: the experiment's)")
    run.add_argument("--workers", type=int,
                     help="run the instances in shards on N worker processes and combine them "
                          "(with --scheduler local: the LocalCluster's workers)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the shards on a dask.distributed scheduler (tcp://host:port), or "
                          "'local' for a LocalCluster; needs dask[distributed]")
    run.add_argument("--shard-dir", metavar="DIR",
                     help="write each shard to a netCDF file in DIR (kept; on a cluster a directory every "
                          "worker can write) instead of returning it to this process through dask/the pool")
    run.add_argument("--force", action="store_true", help="replace an existing output file")
    run.set_defaults(handler=_run)

    inspect = commands.add_parser("inspect", help="summarise a dataset")
    inspect.add_argument("file", help="mixsig-1 netCDF file")
    inspect.set_defaults(handler=_inspect)

    plot = commands.add_parser("plot", help="raster, rate histograms and traces as PNG")
    plot.add_argument("file", help="mixsig-1 netCDF file")
    plot.add_argument("--prefix", help="path prefix of the PNG files (default: the file name without .nc)")
    plot.add_argument("--force", action="store_true", help="replace existing PNG files")
    plot.set_defaults(handler=_plot)

    combine = commands.add_parser("combine", help="merge shards holding disjoint instances of one run")
    combine.add_argument("shards", nargs="+", help="mixsig-1 netCDF files")
    combine.add_argument("-o", "--output", required=True, help="output file")
    combine.add_argument("--force", action="store_true", help="replace an existing output file")
    combine.set_defaults(handler=_combine)

    export = commands.add_parser(
        "export", help="write a dataset's spikes as Neo, NWB, tonic or AEDAT files",
        description="Export the spikes of a mixsig-1 dataset: --to neo (a neo.Block, .mat or .pkl), nwb (an NWB "
                    "Units table, .nwb), tonic (a structured event array, .npy, one file per instance) or aedat "
                    "(AEDAT 2.0, .aedat, one file per instance; several instances write <stem>.instance<I><suffix>). "
                    "Needs the [interop] extra for neo and nwb.",
    )
    export.add_argument("file", help="mixsig-1 netCDF file")
    export.add_argument("--to", required=True, choices=("neo", "nwb", "tonic", "aedat"), help="output format")
    export.add_argument("-o", "--output", required=True, help="output file")
    export.add_argument("--instance", type=int, action="append",
                        help="instance id to export (repeatable; default: every instance)")
    export.add_argument("--force", action="store_true", help="replace existing output files")
    export.set_defaults(handler=_export)

    validate = commands.add_parser(
        "validate", help="run every validation script, print the table, write a markdown report",
    )
    validate.add_argument("--dir", help="folder of the scripts (default: the scripts installed with mixsig)")
    validate.add_argument("--report", default="validation-report.md", help="report file (default validation-report.md)")
    validate.add_argument("--quick", action="store_true", help="skip the scripts marked slow")
    validate.add_argument("--force", action="store_true", help="replace an existing report")
    validate.set_defaults(handler=_validate)

    study = commands.add_parser(
        "study", help="run a characterisation, population-coding, homeostasis, crossbar, substrates or router study",
        description="characterize: TTFS, f-I, CV and ENOB versus population size on every chip side by side "
                    "(DYNAP at each device model, bias mode and temperature; BrainScaleS-2-like before and after "
                    "calibration; crossbar; digital); "
                    "population: decoding a scalar from the emulated population, Fisher information; "
                    "homeostasis: homeostatic scaling of a mismatched population, rate CV and convergence time "
                    "versus tau_h (fast-forwarded by --time-scale); "
                    "crossbar: PCM in-memory matrix-vector product and classifier accuracy versus time since "
                    "programming, write noise and ADC bits, with and without global drift compensation; "
                    "substrates: one encoding task on several chips, DYNAP-style population averaging versus "
                    "BrainScaleS-style per-neuron calibration (CV/ENOB and decoding error versus N and trim bits); "
                    "router: AER router latency, drops and back-pressure holds versus offered load (synchronous "
                    "bursts, converging fan-in) for both policies and several FIFO depths. "
                    "Writes datasets, results (netCDF, JSON) and PNG figures into the output folder.",
    )
    study.add_argument("kind", choices=("characterize", "population", "homeostasis", "crossbar", "substrates", "router"),
                       help="study to run")
    study.add_argument("--chips", action="append",
                       help="chip config (repeat for several; substrates: default dynapse2, brainscales2, digital_lif; "
                            "characterize: default dynapse2, brainscales2, pcm_lif, digital_lif)")
    study.add_argument("--trim-bits", type=_ints,
                       help="trim resolutions of the calibrated chips, comma-separated (substrates, characterize)")
    study.add_argument("--trims", action="append",
                       help="trim file from 'mixsig calibrate' of a chip with CapMem cells (repeat for several; "
                            "characterize)")
    study.add_argument("--task", choices=("dc", "synapses"),
                       help="substrates: encode x as a DC step (dc, default) or as input rates through the synapses")
    study.add_argument("-o", "--output", default="mixsig-study", help="output folder (default mixsig-study)")
    study.add_argument("--instances", type=int, help="chip instances")
    study.add_argument("--seed", type=int, help="root seed")
    study.add_argument("--sizes", type=_ints, help="population sizes N, comma-separated")
    study.add_argument("--device-model", action="append", help="device model (repeat for several; characterize)")
    study.add_argument("--temperatures", type=_floats, help="temperatures in K, comma-separated (characterize)")
    study.add_argument("--duration", type=float, help="run duration (characterize) or counting window (population), s")
    study.add_argument("--enob-convention", choices=("levels", "quantizer"), help="ENOB convention (characterize)")
    study.add_argument("--drive", choices=("bias", "exact"),
                       help="f-I drive of the characterize study: per-core DC biases as on the chip (default) "
                            "or idealised exact DC steps")
    study.add_argument("--bias-mode", action="append", choices=("fixed_current", "fixed_gate", "calibrated"),
                       help="bias mode every device model is run at (repeat for several; characterize; "
                            "default fixed_current)")
    study.add_argument("--encoding", choices=("nef", "linear"),
                       help="input encoding of the population study: nef (random intercepts and gains, default) "
                            "or linear (heterogeneity from the silicon only)")
    study.add_argument("--tau-h", type=_floats, help="homeostatic time constants in s, comma-separated (homeostasis)")
    study.add_argument("--time-scale", type=float, help="fast-forward factor of the homeostatic gain control (homeostasis)")
    study.add_argument("--times", type=_floats,
                       help="times since programming in s, comma-separated (crossbar; substrates --task synapses)")
    study.add_argument("--adc-bits", type=_ints, help="ADC resolutions in bits, comma-separated (crossbar)")
    study.add_argument("--variability", type=_floats,
                       help="factors on the published programming noise, comma-separated (crossbar)")
    study.add_argument("--patterns", type=_names, help="traffic patterns burst,fanin, comma-separated (router)")
    study.add_argument("--policies", type=_names, help="back-pressure policies stall,drop, comma-separated (router)")
    study.add_argument("--fifo-depths", type=_ints, help="FIFO depths in events, comma-separated (router)")
    study.add_argument("--loads", type=_floats, help="offered loads over the saturation rate, comma-separated (router)")
    study.add_argument("--events", type=int, help="events per run (router)")
    study.add_argument("--burst-size", type=int, help="neurons firing together in a burst (router)")
    study.set_defaults(handler=_study)

    mapper = commands.add_parser(
        "map", help="compile a NIR graph onto a chip and write the experiment that runs it",
        description="Read a NIR file (nir.write), place its neurons on the chip's cores, translate their "
                    "parameters into bias currents, quantise the weights, route within the CAM/SRAM/tag "
                    "limits, print the mapping report and write an experiment TOML (docs/nir.md).",
    )
    mapper.add_argument("model", help="NIR file (HDF5)")
    mapper.add_argument("-o", "--output", help="experiment TOML to write (default: the model name with .toml)")
    mapper.add_argument("--chip", default="dynapse2", help="chip config name or path (default dynapse2)")
    mapper.add_argument("--device-model", default="generic_180nm",
                        help="device model of the experiment (default generic_180nm; none: nominal chips)")
    mapper.add_argument("--input-rate", type=float, default=50.0,
                        help="Poisson rate of the input channels in the experiment, Hz (default 50)")
    mapper.add_argument("--no-merge", action="store_true",
                        help="refuse (instead of report) neurons with different parameters sharing a core")
    mapper.add_argument("--force", action="store_true", help="replace an existing output file")
    mapper.set_defaults(handler=_map)
    calibration = commands.add_parser(
        "calibrate", help="per-neuron calibration: search every neuron's trim codes, write a trim file",
        description="Measure every neuron of every chip instance with emulated experiments and search its CapMem "
                    "trim codes (binary search per parameter) until leak potential, membrane time constant, "
                    "spike threshold and adaptation hit their targets; write the codes as a trim file that an "
                    "experiment loads with its 'trims' key.",
    )
    calibration.add_argument("chip", help="chip config with trimmable parameters (e.g. brainscales2)")
    calibration.add_argument("-e", "--experiment",
                             help="experiment whose chips to calibrate (seed, device model, corner, instances)")
    calibration.add_argument("-o", "--output", default="trims.nc", help="trim file, .nc or .toml (default trims.nc)")
    calibration.add_argument("--instances", type=int, help="number of chip instances")
    calibration.add_argument("--bits", type=int, help="trim resolution in bits (default: the chip's CapMem bits)")
    calibration.add_argument("--force", action="store_true", help="replace an existing output file")
    calibration.set_defaults(handler=_calibrate)

    neuron = commands.add_parser(
        "neuron", help="single-neuron job",
        description="The silicon soma driven through an AMPA DPI synapse by Poisson input.",
    )
    neuron.add_argument("--rate", type=float, default=200.0, help="Poisson input rate, Hz (default 200)")
    neuron.add_argument("--duration", type=float, default=2.0, help="simulated time, s (default 2)")
    neuron.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    neuron.add_argument("--trains", type=int, default=1, help="independent copies of the neuron (default 1)")
    neuron.set_defaults(handler=_neuron)
    return parser


def main(argv=None):
    """Entry point; returns the process exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = build_parser().parse_args(argv)
    try:
        with interrupts.handled(ignore=IGNORED_SIGNALS):
            try:
                status = args.handler(args, argv)
                interrupts.check()  # a signal recorded where it could not be raised (the compiler's callbacks)
                return status
            except BaseException as error:
                # The record decides: the exception a signal raised may have become another one.
                signum = interrupts.received() or (signal.SIGINT if isinstance(error, KeyboardInterrupt) else None)
                if signum is None:
                    raise
                print(f"mixsig {args.command}: interrupted by {signal.Signals(signum).name}", file=sys.stderr)
                return INTERRUPT_STATUS[signum]
    except ConfigError as error:
        print(f"mixsig {args.command}: {error}", file=sys.stderr)
        return 2
    except OSError as error:
        print(f"mixsig {args.command}: {_file_error(error)}", file=sys.stderr)
        return 2


def _file_error(error):
    """The :class:`ConfigError` the CLI prints for an :class:`OSError`."""
    name = getattr(error, "filename", None) or "?"
    if error.errno in WRITE_ERRNOS:
        problem = Problem(name, "(write)", None, f"room to write the file ({error.strerror}); nothing was written")
        return ConfigError([problem], "output")
    return ConfigError([Problem(name, "(file)", None, f"an accessible file ({error.strerror})")], "file access")


if __name__ == "__main__":
    sys.exit(main())
