"""Run one benchmark and print each figure as a ``NAME.figure: value`` line.

Usage: ``python -m benchmarks NAME [--quick]`` where NAME is a module of this package exposing ``run()``,
which returns a mapping ``figure -> value`` (figure names already carry the benchmark prefix).
``--quick`` calls ``run(quick=True)``: a shorter subset, for the benchmarks whose ``run`` takes it;
``--long`` calls ``run(long=True)``: also the figures that take minutes, for those whose ``run`` takes it.
"""

import importlib
import inspect
import pkgutil
import sys

import benchmarks


def available():
    """Names of the benchmark modules in this package."""
    return sorted(info.name for info in pkgutil.iter_modules(benchmarks.__path__) if not info.name.startswith("_"))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    names = available()
    modes = {flag: flag in argv for flag in ("--quick", "--long")}
    argv = [arg for arg in argv if arg not in modes]
    if len(argv) != 1 or argv[0] not in names or all(modes.values()):
        print(f"usage: python -m benchmarks NAME [--quick | --long]   (NAME one of: {', '.join(names)})",
              file=sys.stderr)
        return 2
    run = importlib.import_module(f"benchmarks.{argv[0]}").run
    options = {flag[2:]: True for flag, on in modes.items() if on}
    for option in options:
        if option not in inspect.signature(run).parameters:
            print(f"benchmark {argv[0]} has no {option} mode", file=sys.stderr)
            return 2
    figures = run(**options)
    for figure, value in figures.items():
        print(f"{figure}: {value:.4g}" if isinstance(value, float) else f"{figure}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
