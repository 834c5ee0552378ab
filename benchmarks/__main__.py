"""Run one benchmark and print each figure as a ``NAME.figure: value`` line.

Usage: ``python -m benchmarks NAME`` where NAME is a module of this package exposing ``run()``,
which returns a mapping ``figure -> value`` (figure names already carry the benchmark prefix).
"""

import importlib
import pkgutil
import sys

import benchmarks


def available():
    """Names of the benchmark modules in this package."""
    return sorted(info.name for info in pkgutil.iter_modules(benchmarks.__path__) if not info.name.startswith("_"))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    names = available()
    if len(argv) != 1 or argv[0] not in names:
        print(f"usage: python -m benchmarks NAME   (NAME one of: {', '.join(names)})", file=sys.stderr)
        return 2
    figures = importlib.import_module(f"benchmarks.{argv[0]}").run()
    for figure, value in figures.items():
        print(f"{figure}: {value:.4g}" if isinstance(value, float) else f"{figure}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
