"""Short console and notebook summaries of Experiment, ChipConfig and DeviceModel."""

import pytest

import mixsig


@pytest.mark.parametrize("make, name", [
    (mixsig.default_experiment, "<default experiment>"),
    (lambda: mixsig.load_chip("dynapse2"), "dynapse2"),
    (lambda: mixsig.load_device_model("generic_180nm"), "generic_180nm"),
])
def test_summaries_are_short_and_name_the_object(make, name):
    obj = make()
    text = repr(obj)
    assert "\n" not in text and len(text) < 500 and name in text  # not the verbatim TOML text
    page = obj._repr_html_()
    assert page.startswith("<table>") and page.count("<tr>") >= 5 and "<default" not in page  # escaped
    assert repr(make()) == text  # a summary of the content, not of the object identity


def test_device_model_summary_units():
    text = repr(mixsig.load_device_model("generic_180nm"))
    model = mixsig.load_device_model("generic_180nm")
    assert f"A_VT {model.a_vt / 1e-3 / 1e-6:g} mV um" in text  # V m -> mV um
    assert f"A_C {model.a_c / 1e-2 / 1e-6:g} % um" in text  # m -> % um (sigma(dC/C) = A_C / sqrt(W L))
