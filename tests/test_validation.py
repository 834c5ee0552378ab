"""Run every script in ``validation/`` as a test: each must exit with status 0.

A script that sets ``SLOW = True`` at module level is marked ``slow`` (run with ``-m slow``).
"""

import pathlib

import pytest

from mixsig.validate import load_script, scripts

VALIDATION = pathlib.Path(__file__).resolve().parents[1] / "validation"


@pytest.mark.parametrize(
    "path", [pytest.param(path, id=path.stem, marks=[pytest.mark.slow] if slow else []) for path, slow in scripts(VALIDATION)]
)
def test_validation_script(path):
    assert load_script(path).main() == 0
