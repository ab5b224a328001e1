"""The lane and a JPEG 2000 open (no Qt): the preview event comes before image_ready, only for an
open job of a JPEG 2000 study, and never for a job already cancelled."""
from __future__ import annotations

import time

import numpy as np
import pytest
from io_fixtures import j2k_dicom, write_dicom

from ra_desktop.errors import Cancelled
from ra_desktop.io import preview
from ra_desktop.worker import runner as runner_module
from ra_desktop.worker.runner import Runner
from ra_desktop.worker.schedule import BATCH, OPEN, Job, Schedule


class _Events:
    def __init__(self, paint: bool = True) -> None:
        self.seen: list[tuple] = []
        self.paint = paint

    def image_preview(self, job_id, p) -> None:
        self.seen.append(("image_preview", job_id, p))
        if self.paint:
            p.painted.set()  # what the GUI does once the preview is on screen

    def __getattr__(self, name):
        return lambda *args: self.seen.append((name, *args))


@pytest.fixture(autouse=True)
def small_previews(monkeypatch):
    monkeypatch.setattr(preview, "MIN_SIDE", 100)


def test_a_jpeg_2000_open_shows_its_preview_before_the_image(tmp_path):
    events = _Events()
    Runner(Schedule(), events).run_job(Job(5, 1, str(j2k_dicom(tmp_path / "a.dcm")), OPEN))
    assert [e[0] for e in events.seen] == ["job_started", "image_preview", "image_ready", "job_finished"]
    p, full = events.seen[1][2], events.seen[2][2]
    assert events.seen[1][1] == 5 and p.full_shape == full.pixels.shape and p.level == 2
    from ra_desktop.render import window

    assert id(p.radiograph.pixels) in window._AHEAD  # its display rendered on the lane too


def test_an_uncompressed_open_a_batch_job_and_a_disabled_runner_emit_no_preview(tmp_path):
    events = _Events()
    runner = Runner(Schedule(), events)
    runner.run_job(Job(1, 1, str(write_dicom(tmp_path / "u.dcm", np.zeros((600, 500), np.uint16))), OPEN))
    j2k = str(j2k_dicom(tmp_path / "a.dcm"))
    runner.run_job(Job(2, 2, j2k, BATCH))
    runner.previews = False
    runner.run_job(Job(3, 3, j2k, OPEN))
    assert "image_preview" not in [e[0] for e in events.seen]
    assert [e[1] for e in events.seen if e[0] == "image_ready"] == [1, 3]


def test_the_lane_waits_for_the_paint_only_briefly(tmp_path, monkeypatch):
    # No GUI sets "painted" here: the full decode starts after the bounded wait, and the case opens.
    monkeypatch.setattr(runner_module, "PREVIEW_PAINT_WAIT_S", 0.05)
    events = _Events(paint=False)
    t0 = time.perf_counter()
    Runner(Schedule(), events).run_job(Job(1, 1, str(j2k_dicom(tmp_path / "a.dcm")), OPEN))
    assert [e[0] for e in events.seen] == ["job_started", "image_preview", "image_ready", "job_finished"]
    assert time.perf_counter() - t0 < 5


def test_a_job_cancelled_while_its_preview_shows_skips_the_full_decode(tmp_path):
    class Leaving(_Events):
        def image_preview(self, job_id, p) -> None:
            super().image_preview(job_id, p)
            job.token.cancel()  # the reader opens another case

    events = Leaving()
    job = Job(1, 1, str(j2k_dicom(tmp_path / "a.dcm")), OPEN)
    Runner(Schedule(), events).run_job(job)
    assert [e[0] for e in events.seen] == ["job_started", "image_preview", "job_cancelled"]


def test_a_job_cancelled_during_its_reduced_decode_shows_no_preview(tmp_path):
    events = _Events()
    job = Job(1, 1, str(j2k_dicom(tmp_path / "a.dcm")), OPEN)
    show = Runner(Schedule(), events)._previewer(job)
    job.token.cancel()  # the reader opened another case meanwhile
    with pytest.raises(Cancelled):
        show(object())
    assert events.seen == []
