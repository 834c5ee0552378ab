"""The worked examples of docs/examples/ run in their quick form, as a reader would run them.

Each script is executed as ``python docs/examples/NAME.py --quick -o OUT`` in a fresh process;
the test fails on a non-zero exit status or when an advertised output file is missing or empty.
"""
import pathlib
import subprocess
import sys

import pytest
import xarray as xr

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "docs" / "examples"

CASES = {
    "first_experiment.py": ["first_experiment.nc", "first_experiment-i_mem.png"],
    "mismatch_characterisation.py": [
        "characterisation-ttfs.png", "characterisation-cv-vs-n.png", "characterisation-enob-vs-n.png",
    ],
    "operating_point_sensitivity.py": ["operating-point-sensitivity.json"],
    "nir_classifier.py": ["nir-accuracy.png", "nir-accuracy.json", "nir-classifier.nir"],
    "population_coding.py": [
        "population-tuning.png", "population/population-results.nc", "population/population-summary.json",
    ],
}


def test_every_example_is_listed():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(CASES)


@pytest.mark.parametrize("script", sorted(CASES))
def test_example_quick(script, tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / script), "--quick", "-o", str(out)],
        cwd=tmp_path, capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in CASES[script]:
        path = out / name
        assert path.is_file() and path.stat().st_size > 0, f"{script} did not write {name}"
    if script == "first_experiment.py":
        with xr.open_dataset(out / "first_experiment.nc") as ds:
            assert ds.attrs["Conventions"] == "CF-1.8 mixsig-1"
            assert ds.sizes["instance"] == 2 and float(ds.attrs["duration"]) == pytest.approx(0.1)
