"""Every code block of the documentation that is meant to run runs as written.

* ``python`` blocks of a page run in order, in one namespace per page, in a scratch directory that
  holds the files the pages name (``my.toml``, ``first.nc``, ``mixsig-run.nc`` = ``run.nc``, ``shard0.nc``,
  ``shard1.nc``: short runs of the documented experiments; ``my_chip.toml``: the DYNAP-SE2 config);
* ``toml`` blocks parse; ``bash`` blocks: every ``mixsig ...`` line parses with the ``mixsig``
  command's own argument parser (an option that does not exist fails);
* a block that is not meant to run says so on the line before it, with its reason:
  ``<!-- docs-snippet: skip (reason) -->``.
"""

import os
import pathlib
import re
import shlex
import shutil
import tomllib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
PAGES = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
BLOCK = re.compile(r"(?:<!-- docs-snippet: (?P<marker>[^>]*?) -->\n)?```(?P<lang>[a-z]*)\n(?P<code>.*?)```", re.S)
SKIP = re.compile(r"skip \((?P<reason>.+)\)")


def blocks(page):
    """``(language, code, skip reason or None, line)`` of every fenced block of a page."""
    text = page.read_text(encoding="utf-8")
    found = []
    for match in BLOCK.finditer(text):
        marker = match.group("marker")
        reason = None
        if marker is not None:
            skip = SKIP.fullmatch(marker.strip())
            assert skip, f"{page.name}: marker {marker!r} is not 'skip (reason)'"
            reason = skip.group("reason")
        found.append((match.group("lang"), match.group("code"), reason, text.count("\n", 0, match.start()) + 1))
    return found


@pytest.fixture(scope="module")
def scratch(tmp_path_factory):
    """A directory with the files the pages refer to, made by short runs of the documented experiments."""
    import mixsig
    from mixsig.ensemble import run_shard

    folder = tmp_path_factory.mktemp("docs")
    shutil.copy(ROOT / "docs" / "examples" / "first_experiment.toml", folder / "my.toml")
    text = (folder / "my.toml").read_text()
    (folder / "my.toml").write_text(re.sub(r"^duration = .*$", "duration = 0.05", text, count=1, flags=re.M))
    exp = mixsig.load_experiment(folder / "my.toml").replace(instances=2)
    mixsig.to_netcdf(mixsig.run(exp, progress=False), folder / "first.nc")
    default = mixsig.default_experiment().replace(instances=4, duration=0.05)
    mixsig.to_netcdf(mixsig.run(default, progress=False), folder / "mixsig-run.nc")
    shutil.copy(folder / "mixsig-run.nc", folder / "run.nc")
    for index, instances in enumerate(([0], [1])):
        run_shard(exp, instances, str(folder / f"shard{index}.nc"), threads=None)
    shutil.copy(ROOT / "chip_configs" / "dynapse2.toml", folder / "my_chip.toml")
    return folder


def _python_pages():
    return [pytest.param(page, id=page.name) for page in PAGES if any(lang == "python" for lang, *_ in blocks(page))]


@pytest.mark.parametrize("page", _python_pages())
def test_python_blocks_run(page, scratch, monkeypatch, tmp_path):
    work = tmp_path / "work"
    shutil.copytree(scratch, work)
    monkeypatch.chdir(work)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    namespace = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for lang, code, reason, line in blocks(page):
        if lang != "python" or reason is not None:
            continue
        try:
            exec(compile(code, f"{page.name}:{line}", "exec"), namespace)
        except Exception as error:
            raise AssertionError(f"{page.name}, block at line {line} fails: {type(error).__name__}: {error}") from error
        ran += 1
    assert ran or all(reason for lang, _, reason, _ in blocks(page) if lang == "python")


@pytest.mark.parametrize("page", [pytest.param(page, id=page.name) for page in PAGES])
def test_toml_blocks_parse_and_mixsig_commands_exist(page):
    from mixsig.cli import build_parser

    parser = build_parser()
    for lang, code, reason, line in blocks(page):
        if reason is not None:
            continue
        if lang == "toml":
            tomllib.loads(code)
        elif lang == "bash":
            for command in code.replace("\\\n", " ").splitlines():
                command = command.split(" #")[0].strip()
                for part in command.split("&&"):
                    words = shlex.split(part)
                    if words[:1] == ["mixsig"]:
                        try:
                            parser.parse_args(words[1:])
                        except SystemExit as exit_:
                            assert exit_.code == 0, f"{page.name}:{line}: {part.strip()!r} is not a valid command"


def test_every_skip_marker_has_a_reason():
    for page in PAGES:
        for lang, code, reason, line in blocks(page):
            assert reason is None or len(reason) > 5, (page.name, line)
