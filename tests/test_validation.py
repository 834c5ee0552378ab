"""Run every script in ``validation/`` as a test: each must exit with status 0.

A script that sets ``SLOW = True`` at module level is marked ``slow`` (run with ``-m slow``).
"""

import importlib.util
import pathlib

import pytest

VALIDATION = pathlib.Path(__file__).resolve().parents[1] / "validation"


def _load(path):
    spec = importlib.util.spec_from_file_location(f"validation_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _params():
    for path in sorted(VALIDATION.glob("*.py")):
        slow = "SLOW = True" in path.read_text()
        yield pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if slow else [])


@pytest.mark.parametrize("path", list(_params()))
def test_validation_script(path):
    assert _load(path).main() == 0
