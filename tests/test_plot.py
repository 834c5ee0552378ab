"""Tests of mixsig.plot: every figure function returns Axes with unit-carrying labels and the given data."""

import re
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import xarray as xr  # noqa: E402

from mixsig import io, plot  # noqa: E402
from mixsig.analysis.stats import cv_versus_population_size  # noqa: E402

UNITS = re.compile(r"\(.+\)")


@pytest.fixture
def ax():
    fig, axes = plt.subplots()
    yield axes
    plt.close(fig)


def _labelled(ax):
    assert UNITS.search(ax.get_xlabel()) and UNITS.search(ax.get_ylabel()), (ax.get_xlabel(), ax.get_ylabel())


def _dataset():
    prov = {"experiment_toml": "", "chip_toml": "", "calibration_file": "none", "calibration_sha256": "0" * 64,
            "seed": 0, "dt": 1e-4, "duration": 1.0}
    times = np.linspace(0.01, 0.9, 40)
    trace = np.linspace(0, 1e-9, 2 * 2 * 5).reshape(2, 2, 5)
    return io.build_dataset(instances=[0, 1], seeds=[1, 2], neurons=[0, 1, 2], cores=[0, 0, 1], chips=[0, 0, 0],
                            spike_times=times, spike_neurons=np.arange(40) % 3, spike_instances=np.arange(40) % 2,
                            provenance=prov, traces={"i_mem": (trace, {"units": "A", "long_name": "membrane current"})},
                            recorded_neurons=[0, 2], trace_times=np.arange(5) * 1e-3)


def _cv_set(seed=0):
    rng = np.random.default_rng(seed)
    values = xr.DataArray(rng.lognormal(0, 0.1, (4, 64)), dims=("instance", "neuron"), attrs={"units": "s", "long_name": "ttfs"})
    return cv_versus_population_size(values, [1, 2, 4, 8], partitions=4)


def test_ttfs_histogram(ax):
    ttfs = xr.DataArray(np.array([[0.01, 0.02, np.nan], [0.015, 0.025, 0.03]]), dims=("instance", "neuron"),
                        coords={"instance": [3, 5]})
    assert plot.ttfs_histogram(ttfs, ax) is ax
    _labelled(ax)
    assert "ms" in ax.get_xlabel()
    assert sum(p.get_path().vertices[:, 0].max() for p in ax.patches) > 0
    lo, hi = ax.get_xlim()
    assert lo <= 10.0 and hi >= 30.0  # data in ms


def test_fi_curves(ax):
    dims = ("device_model", "bias_mode", "temperature", "fi_drive")
    results = xr.Dataset(
        {"fi_rate_mean": (dims, [[[[0.0, 10.0, 50.0]], [[0.0, 12.0, 60.0]]]]),
         "fi_rate_std": (dims, [[[[0.0, 1.0, 5.0]], [[0.0, 1.0, 5.0]]]])},
        coords={"device_model": ["m"], "bias_mode": ["fixed_current", "fixed_gate"], "temperature": [300.0],
                "fi_drive": [1.0, 10.0, 100.0], "i_in": ("fi_drive", [1e-10, 1e-9, 1e-8], {"long_name": "DC bias"})})
    plot.fi_curves(results, ax)
    _labelled(ax)
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_xdata(), [0.1, 1.0, 10.0])
    np.testing.assert_allclose(lines[0].get_ydata(), [0.0, 10.0, 50.0])
    np.testing.assert_allclose(lines[1].get_ydata(), [0.0, 12.0, 60.0])
    assert lines[1].get_label() == "m, fixed_gate, 300 K" and ax.get_xlabel() == "DC bias (nA)"


def test_cv_and_enob_versus_n_draw_data_and_ideal_slope(ax):
    cv_n = _cv_set()
    plot.cv_vs_population_size({"a": cv_n}, ax)
    _labelled(ax)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    lines = ax.get_lines()
    np.testing.assert_allclose(lines[0].get_ydata(), cv_n["cv_within"].values)
    ideal = lines[2].get_ydata()
    np.testing.assert_allclose(ideal, cv_n["cv_within"].values[0] / np.sqrt([1, 2, 4, 8]))
    fig, ax2 = plt.subplots()
    plot.enob_vs_population_size(cv_n, ax2)
    _labelled(ax2)
    assert "levels" in ax2.get_ylabel()
    ideal = ax2.get_lines()[2].get_ydata()
    np.testing.assert_allclose(np.diff(ideal), 0.5)
    plt.close(fig)


def test_tuning_curves_and_decoding_error(ax):
    curves = xr.DataArray(np.arange(2 * 3 * 4, dtype=float).reshape(2, 3, 4), dims=("instance", "neuron", "stimulus"),
                          coords={"instance": [0, 1], "stimulus": [-1.0, -0.3, 0.3, 1.0]})
    plot.tuning_curves(curves, ax)
    _labelled(ax)
    np.testing.assert_allclose(ax.get_lines()[1].get_ydata(), [4, 5, 6, 7])
    fig, ax2 = plt.subplots()
    n = np.array([4, 8, 16])
    results = xr.Dataset(
        {"rmse": (("condition", "n_pop"), [[0.4, 0.28, 0.2], [0.5, 0.4, 0.3]], {"units": "1"}),
         "rmse_static": (("condition", "n_pop"), [[0.1, 0.05, 0.02], [0.2, 0.2, 0.2]]),
         "rmse_noise": (("condition", "n_pop"), [[0.3, 0.25, 0.19], [0.3, 0.3, 0.2]]),
         "linear_threshold": (("condition", "n_pop"), [[0.25, 0.18, 0.13], [0.3, 0.2, 0.15]]),
         "rmse_ml": ("n_pop", [0.3, 0.2, 0.15])},
        coords={"condition": ["mismatch", "nominal"], "n_pop": n})
    plot.decoding_error(results, ax2)
    _labelled(ax2)
    np.testing.assert_allclose(ax2.get_lines()[0].get_ydata(), [0.4, 0.28, 0.2])
    np.testing.assert_allclose(ax2.get_lines()[2].get_ydata(), [0.3, 0.25, 0.19])
    np.testing.assert_allclose(ax2.get_lines()[-1].get_ydata(), 0.2 * np.sqrt(16 / n))
    plt.close(fig)


def test_existing_figures_and_save_figures(tmp_path):
    ds = _dataset()
    paths = plot.save_figures(ds, str(tmp_path / "run"))
    assert sorted(p.rsplit("-", 1)[1] for p in paths) == ["i_mem.png", "raster.png", "rates.png"]
    for path in paths:
        with open(path, "rb") as stream:
            assert stream.read(8) == b"\x89PNG\r\n\x1a\n"
    for draw in (lambda ax: plot.trace(ds, "i_mem", ax), lambda ax: plot.raster(ds, ax), lambda ax: plot.rate_histograms(ds, ax)):
        fig, ax = plt.subplots()
        assert draw(ax) is ax
        _labelled(ax)
        plt.close(fig)


def test_write_png_leaves_no_file_when_drawing_fails(tmp_path):
    def broken(ax):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        plot.write_png(broken, str(tmp_path / "x.png"))
    assert list(tmp_path.iterdir()) == []


def test_every_function_draws_on_a_new_figure_without_ax():
    ds = _dataset()
    for draw in (plot.raster, plot.rate_histograms, lambda d: plot.trace(d, "i_mem")):
        ax = draw(ds)
        assert isinstance(ax, matplotlib.axes.Axes) and ax.figure is not None
        plt.close(ax.figure)


def test_write_png_leaves_the_backend_alone(tmp_path):
    code = ("import matplotlib; matplotlib.use('svg'); from mixsig import plot; "
            f"plot.write_png(lambda ax: ax.plot([0, 1]), {str(tmp_path / 'x.png')!r}); "
            "import sys; sys.exit(0 if matplotlib.get_backend() == 'svg' else 1)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
    assert (tmp_path / "x.png").read_bytes()[:4] == b"\x89PNG"


def test_raster_colours_and_labels_groups_and_titles_name_the_instance(ax):
    ds = _dataset()
    plot.raster(ds, ax, instance=1)
    assert [text.get_text() for text in ax.get_legend().get_texts()] == ["core 0", "core 1"]
    assert len({line.get_color() for line in ax.get_lines()}) == 2
    assert "instance 1" in ax.get_title()
    with_population = ds.assign_coords(population=("neuron", ["exc", "exc", "inh"]))
    fig, ax2 = plt.subplots()
    plot.raster(with_population, ax2)
    assert [text.get_text() for text in ax2.get_legend().get_texts()] == ["population exc", "population inh"]
    plt.close(fig)
    fig, ax3 = plt.subplots()
    plot.trace(ds, "i_mem", ax3, instance=1)
    assert ax3.get_yscale() == "log" and "instance 1" in ax3.get_title()  # a current: log axis
    plt.close(fig)
    fig, ax4 = plt.subplots()
    plot.rate_histograms(ds, ax4)
    assert "instances 0-1" in ax4.get_title()
    plt.close(fig)


def test_fi_band_is_clipped_at_zero_hz(ax):
    results = xr.Dataset(
        {"fi_rate_mean": (("device_model", "temperature", "i_in"), [[[1.0, 10.0, 50.0]]]),
         "fi_rate_std": (("device_model", "temperature", "i_in"), [[[4.0, 12.0, 5.0]]])},
        coords={"device_model": ["m"], "temperature": [300.0], "i_in": [1e-10, 1e-9, 1e-8]})
    plot.fi_curves(results, ax)
    band = ax.collections[0].get_paths()[0].vertices
    assert band[:, 1].min() == 0.0 and band[:, 1].max() == 55.0


def test_reference_lines_stay_inside_the_data_limits(ax):
    flat = xr.Dataset({"cv_within": ("n_pop", [0.1, 0.1]), "cv_pooled": ("n_pop", [0.12, 0.11]), "cv_shared": 0.1},
                      coords={"n_pop": [1, 1024]})
    plot.cv_vs_population_size(flat, ax)
    bottom, top = ax.get_ylim()
    assert 0.05 < bottom < 0.1 and 0.12 < top < 0.2  # the ideal slope reaches 0.1/32 but does not widen the axes
