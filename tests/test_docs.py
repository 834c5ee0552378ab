"""The Sphinx documentation builds without a single warning (``-W``), as documented in docs/index.md.

Needs the ``docs`` extra (``pip install ".[docs]"``: sphinx, myst-parser, numpydoc); CI installs
only ``.[test]``, so the test skips when those are missing.
"""
import importlib.util
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
NEEDED = ("sphinx", "myst_parser", "numpydoc")
MISSING = [name for name in NEEDED if importlib.util.find_spec(name) is None]

# Objects the API reference must document (one per public module), as HTML anchors.
DOCUMENTED = {
    "api/experiment.html": ["mixsig.experiment.load_experiment", "mixsig.experiment.Experiment"],
    "api/engine.html": ["mixsig.engine.simulation.run", "mixsig.engine.simulation.Simulation"],
    "api/circuits.html": ["mixsig.circuits.dpi.step", "mixsig.circuits.soma.SomaParams"],
    "api/device.html": ["mixsig.device.calibration.load_device_model", "mixsig.device.mismatch.sample_mismatch"],
    "api/chip.html": ["mixsig.chip.config.load_chip", "mixsig.chip.network.compile_network"],
    "api/aer.html": ["mixsig.aer.router.Router", "mixsig.aer.aedat.read_aedat"],
    "api/io.html": ["mixsig.io.netcdf.to_netcdf", "mixsig.io.schema.check_dataset"],
    "api/analysis.html": ["mixsig.analysis.stats.cv_versus_population_size", "mixsig.analysis.coding.nef_decoders"],
    "api/studies.html": ["mixsig.studies.characterize.characterize", "mixsig.studies.population.population"],
    "api/ensemble.html": ["mixsig.ensemble.run_shard"],
    "api/plot.html": ["mixsig.plot.raster"],
    "api/cli.html": ["mixsig-run", "mixsig-study", "mixsig-validate"],
}


@pytest.mark.skipif(bool(MISSING), reason=f"docs extra not installed (missing {', '.join(MISSING)}): pip install '.[docs]'")
def test_docs_build_without_warnings(tmp_path):
    out = tmp_path / "html"
    proc = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html", str(ROOT / "docs"), str(out)],
        capture_output=True, text=True,
    )
    assert proc.returncode == 0, proc.stderr
    for page, anchors in DOCUMENTED.items():
        html = (out / page).read_text(encoding="utf-8")
        for anchor in anchors:
            assert f'id="{anchor}"' in html, f"{anchor} missing from {page}"
    for page in ("getting_started.html", "concepts.html", "examples/index.html", "dataset.html", "models.html"):
        assert (out / page).is_file(), page
