"""Packaging: every package of the tree is installed, and a plain (non-editable) ``pip install .``
runs ``mixsig --version`` and ``mixsig validate`` from any directory."""

import configparser
import os
import pathlib
import shutil
import subprocess
import sys
import sysconfig

import pytest

import mixsig
from mixsig.cli import main

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _setup_cfg():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def test_every_package_of_the_tree_is_listed_in_setup_cfg():
    config = _setup_cfg()
    listed = set(config["options"]["packages"].split())
    mapped = dict(line.split(" = ") for line in config["options"]["package_dir"].strip().splitlines())
    found = {".".join(path.parent.relative_to(ROOT).parts) for path in (ROOT / "mixsig").rglob("__init__.py")}
    found |= {"device_models", "chip_configs"}
    found |= set(mapped)
    assert found == listed
    assert all((ROOT / folder / "__init__.py").is_file() for folder in mapped.values())


def test_version_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.strip() == f"mixsig {mixsig.__version__}"


@pytest.mark.slow
def test_plain_install_runs_validate_from_any_directory(tmp_path):
    """A fresh venv sees this environment's dependencies (a .pth line, no editable finder) and gets a
    non-editable install of a copy of the tree (build isolation: pip fetches setuptools); ``mixsig validate --quick`` then runs from an empty
    directory with the installed scripts."""
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(".git", ".venv", "build", "*.egg-info", "__pycache__",
                                                                 "_build", ".pytest_cache"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    pathlib.Path(site, "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-deps", str(source)],
                   check=True, env=env, cwd=tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    mixsig_command = venv / "bin" / "mixsig"
    version = subprocess.run([mixsig_command, "--version"], check=True, capture_output=True, text=True, env=env,
                             cwd=elsewhere)
    assert version.stdout.strip() == f"mixsig {mixsig.__version__}"
    where = subprocess.run([python, "-c", "import mixsig; print(mixsig.__file__)"], check=True, capture_output=True,
                           text=True, env=env, cwd=elsewhere).stdout
    assert where.startswith(site), where  # the installed copy, not the tree
    proc = subprocess.run([mixsig_command, "validate", "--quick"], capture_output=True, text=True, env=env,
                          cwd=elsewhere)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "scripts passed" in proc.stdout and (elsewhere / "validation-report.md").is_file()
