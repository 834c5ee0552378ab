"""The ``mixsig`` command.

User errors (bad files, bad arguments) print one message listing every problem and exit with
status 2; they never show a traceback.
"""

import argparse
import sys

from mixsig.errors import ConfigError


def _run(args):
    from mixsig.engine.single_neuron import SingleNeuronJob, run_single_neuron

    job = SingleNeuronJob(rate=args.rate, duration=args.duration, seed=args.seed)
    result = run_single_neuron(job)
    print(result.summary())
    return 0


def build_parser():
    """The argument parser of the ``mixsig`` command."""
    parser = argparse.ArgumentParser(prog="mixsig", description="Emulator of mixed-signal neuromorphic processors.")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser(
        "run",
        help="run a simulation",
        description="Single-neuron job: the silicon soma driven through an AMPA DPI synapse by Poisson input.",
    )
    run.add_argument("--rate", type=float, default=200.0, help="Poisson input rate, Hz (default 200)")
    run.add_argument("--duration", type=float, default=2.0, help="simulated time, s (default 2)")
    run.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    run.set_defaults(handler=_run)
    return parser


def main(argv=None):
    """Entry point; returns the process exit status."""
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except ConfigError as error:
        print(f"mixsig {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
