"""Run one benchmark and print each figure as a ``NAME.figure: value`` line.

Usage: ``python -m benchmarks NAME [--quick]`` where NAME is a module of this package exposing ``run()``,
which returns a mapping ``figure -> value`` (figure names already carry the benchmark prefix).
``--quick`` calls ``run(quick=True)``: a shorter subset, for the benchmarks whose ``run`` takes it.
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
    quick = "--quick" in argv
    argv = [arg for arg in argv if arg != "--quick"]
    if len(argv) != 1 or argv[0] not in names:
        print(f"usage: python -m benchmarks NAME [--quick]   (NAME one of: {', '.join(names)})", file=sys.stderr)
        return 2
    run = importlib.import_module(f"benchmarks.{argv[0]}").run
    if quick and "quick" not in inspect.signature(run).parameters:
        print(f"benchmark {argv[0]} has no quick mode", file=sys.stderr)
        return 2
    figures = run(quick=True) if quick else run()
    for figure, value in figures.items():
        print(f"{figure}: {value:.4g}" if isinstance(value, float) else f"{figure}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
