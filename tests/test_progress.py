"""Progress: one overall bar (tqdm.auto) over the items of an ensemble, a sweep or a study."""

import io

from mixsig import progress


class _Bar:
    def __init__(self):
        self.n, self.closed = 0, False

    def update(self, n):
        self.n += n

    def close(self):
        self.closed = True


def test_counting_updates_one_bar_and_closes_it(monkeypatch):
    bar = _Bar()
    monkeypatch.setattr(progress, "progress_bar", lambda total, unit, desc, show: bar)
    with progress.counting(3, "run", "mixsig test", show=True) as done:
        for _ in range(3):
            done()
    assert bar.n == 3 and bar.closed


def test_bar_is_tqdm_auto_and_quiet_off_a_terminal(monkeypatch):
    stream = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", stream)
    bar = progress.progress_bar(3, "run", "mixsig test", show=True)
    assert type(bar).__module__.startswith("tqdm")
    bar.close()
    assert "mixsig test" in stream.getvalue()
    quiet = io.StringIO()
    monkeypatch.setattr(progress.sys, "stderr", quiet)
    with progress.counting(3, "run", show=None) as done:  # not a terminal, not a notebook
        done()
    assert quiet.getvalue() == "" and not progress.in_notebook()
