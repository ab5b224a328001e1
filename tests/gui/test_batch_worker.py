"""The inference lane's batch path: jobs analysed in groups (one network pass), a broken file fails
only its row, a reader's click pre-empts the group and the interrupted items still finish."""
from __future__ import annotations

import pytest

from tests.gui.conftest import write_images

pytestmark = pytest.mark.gui


@pytest.fixture
def lane(qtbot, tiny_model_dir):
    from ra_desktop.worker.inference import InferenceThread

    t = InferenceThread()
    with qtbot.waitSignal(t.model_ready, timeout=60000):
        t.start()
        t.request_model(str(tiny_model_dir), "cpu")
    yield t
    t.stop()


def _record(t):
    seen: dict[int, list] = {}
    t.job_finished.connect(lambda jid, r: seen.setdefault(jid, []).append(("ok", r)))
    t.job_failed.connect(lambda jid, why: seen.setdefault(jid, []).append(("failed", why)))
    t.job_cancelled.connect(lambda jid: seen.setdefault(jid, []).append(("cancelled", None)))
    return seen


def test_group_with_a_broken_file_and_a_preempting_open_case(lane, qtbot, tmp_path):
    from ra_desktop.worker.inference import BATCH, OPEN, Job

    paths = write_images(tmp_path / "imgs", n=10, broken=True)
    seen = _record(lane)
    jobs = [Job(i + 1, i + 1, str(p), BATCH, ("gradcam",)) for i, p in enumerate(paths)]
    for j in jobs:
        lane.submit(j)
    opened = Job(100, 1, str(paths[0]), OPEN, ("gradcam",))
    lane.submit(opened)  # pre-empts whatever batch group is running; it is re-run afterwards
    qtbot.waitUntil(lambda: all(j.job_id in seen for j in jobs) and opened.job_id in seen, timeout=120000)
    for j in jobs:
        assert len(seen[j.job_id]) == 1, seen[j.job_id]  # exactly one outcome per job
        kind, value = seen[j.job_id][0]
        if j.path.endswith("broken.png"):
            assert kind == "failed" and value
        else:
            assert kind == "ok" and "gradcam" in value.heatmaps and 0.0 <= value.probability <= 1.0
    assert seen[opened.job_id][0][0] == "ok"


def test_cancel_batch_cancels_the_running_group(lane, qtbot, tmp_path):
    from ra_desktop.worker.inference import BATCH, Job

    paths = write_images(tmp_path / "imgs", n=12, broken=False)
    seen = _record(lane)
    jobs = [Job(i + 1, i + 1, str(p), BATCH, ("gradcam",)) for i, p in enumerate(paths)]
    for j in jobs:
        lane.submit(j)
    qtbot.waitUntil(lambda: len(seen) >= 1, timeout=60000)
    dropped = lane.cancel_batch()
    qtbot.waitUntil(lambda: not lane._running_batch, timeout=60000)
    qtbot.wait(200)
    outcomes = [seen.get(j.job_id, []) for j in jobs]
    assert all(len(o) <= 1 for o in outcomes)
    not_run = [j for j, o in zip(jobs, outcomes) if not o]
    assert {j.row_id for j in not_run} == set(dropped)  # queued ones are returned to the caller


def test_reopening_a_case_replays_its_result_until_the_file_changes(lane, qtbot, tmp_path):
    import os

    from ra_desktop.worker.inference import OPEN, Job

    path = str(write_images(tmp_path / "imgs", n=1, broken=False)[0])
    seen = _record(lane)
    stages: dict[int, list[str]] = {}
    lane.stage_ready.connect(lambda jid, name, st: stages.setdefault(jid, []).append(name))

    def open_(jid):
        job = Job(jid, 1, path, OPEN, ("gradcam",))
        lane.submit(job)
        qtbot.waitUntil(lambda: jid in seen, timeout=60000)
        return job, seen[jid][0][1]

    first, r1 = open_(1)
    again, r2 = open_(2)
    assert not first.from_cache and again.from_cache
    assert r2 is r1 and stages[2] == stages[1] == ["prediction", "gradcam"]
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # the file changed: analyse again
    changed, r3 = open_(3)
    assert not changed.from_cache and r3 is not r1
