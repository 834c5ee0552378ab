"""``mixsig validate``: runs scripts in-process, tables their checks, writes the report."""

from mixsig.cli import main

PASSING = '''
import sys
from mixsig.checks import Check, report
def main():
    return report("closed form", [Check("two", "1 + 1", 2.0, 2.0, rtol=1e-12)])
'''
FAILING = PASSING.replace("2.0, 2.0", "2.0, 2.5").replace("closed form", "wrong result")
CRASHING = "def main():\n    raise RuntimeError('boom')\n"


def test_all_passing_scripts_exit_0_and_write_the_report(tmp_path, capsys):
    (tmp_path / "good.py").write_text(PASSING)
    report = tmp_path / "report.md"
    assert main(["validate", "--dir", str(tmp_path), "--report", str(report)]) == 0
    text = report.read_text()
    assert "All scripts passed" in text and "| two | 1 + 1 | 2 | 2 |" in text
    assert "1 of 1 scripts passed" in capsys.readouterr().out


def test_a_miss_or_a_crash_fails_and_is_reported(tmp_path, capsys):
    (tmp_path / "a_good.py").write_text(PASSING)
    (tmp_path / "b_wrong.py").write_text(FAILING)
    (tmp_path / "c_crash.py").write_text(CRASHING)
    report = tmp_path / "report.md"
    assert main(["validate", "--dir", str(tmp_path), "--report", str(report)]) == 1
    text = report.read_text()
    assert "FAILED: b_wrong, c_crash" in text and "RuntimeError: boom" in text and "| NO |" in text
    assert "1 of 3 scripts passed" in capsys.readouterr().out


def test_missing_directory_is_a_user_error(tmp_path, capsys):
    assert main(["validate", "--dir", str(tmp_path / "nowhere")]) == 2
    assert "folder of validation scripts" in capsys.readouterr().err


def test_silicon_scripts_get_their_own_section(tmp_path, capsys):
    (tmp_path / "silicon_chip.py").write_text(PASSING.replace("closed form", "measured chip"))
    (tmp_path / "z_closed.py").write_text(PASSING)
    report = tmp_path / "report.md"
    assert main(["validate", "--dir", str(tmp_path), "--report", str(report)]) == 0
    out, text = capsys.readouterr().out, report.read_text()
    # the closed-form script runs and is listed first although its name sorts last
    assert out.index("== verification and literature ==") < out.index("z_closed") < out.index("== against silicon ==")
    assert out.index("== against silicon ==") < out.index("silicon_chip")
    assert text.index("## Verification and literature") < text.index("z_closed") < text.index("## Against silicon")
    assert text.index("## Against silicon") < text.index("silicon_chip")
