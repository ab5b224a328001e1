"""The inference lane's scheduling and job running without Qt: priorities, latest-wins for the open
case, pre-emption of a batch group by the reader, what cancelling returns, and the open-case cache."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from types import SimpleNamespace

import pytest

from ra_desktop.worker.runner import Runner
from ra_desktop.worker.schedule import BATCH, GROUP, OPEN, Job, LoadModel, OpenCache, Schedule


def _batch(n: int, start: int = 1, explanations=("gradcam",)) -> list[Job]:
    return [Job(i, 100 + i, f"b{i}.png", BATCH, explanations) for i in range(start, start + n)]


def test_the_modules_load_without_qt():
    code = ("import sys, ra_desktop.worker.schedule, ra_desktop.worker.runner; "
            "assert not [m for m in sys.modules if m.startswith('PySide6')]")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_priorities_model_then_open_then_task_then_batch():
    s = Schedule()
    s.submit(batch := _batch(1)[0])
    s.submit_task(task := (lambda model: None))
    s.submit(opened := Job(50, 5, "a.png", OPEN))
    s.request_model("/models/m", "cpu")
    order = []
    while (t := s.take(grouping=True, block=False)) is not None:
        order.append(t)
        s.done()
    assert order == [LoadModel("/models/m", "cpu"), opened, task, [batch]]


def test_latest_open_wins_and_the_replaced_one_is_returned_cancelled():
    s = Schedule()
    first, second = Job(1, 1, "a.png"), Job(2, 2, "b.png")
    assert s.submit(first) is None
    assert s.submit(second) is first
    assert first.token.cancelled and not second.token.cancelled
    assert s.take(grouping=True, block=False) is second
    assert s.running is second
    # a newer open job cancels the running one, which is not re-queued
    third = Job(3, 3, "c.png")
    assert s.submit(third) is None
    assert second.token.cancelled and not second.preempted and not s.requeue(second)
    s.done()
    assert s.take(grouping=True, block=False) is third
    s.done()
    assert s.take(grouping=True, block=False) is None


def test_an_open_case_preempts_the_running_group_which_runs_again_in_order_afterwards():
    s = Schedule()
    jobs = _batch(GROUP + 2)
    for j in jobs:
        s.submit(j)
    group = s.take(grouping=True, block=False)
    assert group == jobs[:GROUP] and s.running_batch == group and s.running is None
    old_tokens = [j.token for j in group]
    opened = Job(99, 1, "open.png")
    s.submit(opened)
    assert all(j.preempted and j.token.cancelled for j in group)
    for j in reversed(group):  # as the runner re-queues them: last first
        assert s.requeue(j)
    s.done()
    assert s.take(grouping=True, block=False) is opened  # the reader first
    s.done()
    again = s.take(grouping=True, block=False)
    assert [j.job_id for j in again] == [j.job_id for j in jobs[:GROUP]]
    assert all(not j.preempted and not j.token.cancelled for j in again)
    assert all(j.token is not old for j, old in zip(again, old_tokens))  # fresh tokens
    s.done()
    assert s.take(grouping=True, block=False) == jobs[GROUP:]


def test_groups_hold_one_explanation_set_and_no_grouping_without_a_model():
    s = Schedule()
    jobs = _batch(2) + _batch(1, start=3, explanations=("gradcam", "shap")) + _batch(2, start=4)
    for j in jobs:
        s.submit(j)
    assert [j.job_id for j in s.take(grouping=True, block=False)] == [1, 2]
    s.done()
    assert [j.job_id for j in s.take(grouping=True, block=False)] == [3]
    s.done()
    assert [j.job_id for j in s.take(grouping=False, block=False)] == [4]
    s.done()
    assert s.upcoming() == [jobs[4]]


def test_cancel_batch_returns_the_queued_rows_and_cancels_the_running_group_for_good():
    s = Schedule()
    jobs = _batch(GROUP + 3)
    for j in jobs:
        s.submit(j)
    group = s.take(grouping=True, block=False)
    s.submit(Job(99, 1, "open.png"))  # pre-empted first...
    gate = threading.Event()
    future = s.prefetch.future(jobs[GROUP + 1], lambda path, model: gate.wait(5), None)
    queued = s.prefetch.future(jobs[GROUP + 2], lambda path, model: path, None)
    dropped = s.cancel_batch()  # ...then cancelled: not re-run
    gate.set()
    assert dropped == [j.row_id for j in jobs[GROUP:]]
    assert all(j.token.cancelled and not j.preempted for j in group)
    assert not any(s.requeue(j) for j in group)
    assert queued.cancelled() and s.prefetch.pending() == set()
    future.result(5)
    s.prefetch.shutdown()
    s.done()
    assert [type(t) for t in iter(lambda: s.take(grouping=True, block=False), None)] == [Job]  # the open job


def test_cancel_open_returns_the_pending_and_running_open_jobs_only():
    s = Schedule()
    running, pending, batch = Job(1, 1, "a.png"), Job(2, 2, "b.png"), _batch(1)[0]
    s.submit(running)
    s.submit(batch)
    assert s.take(grouping=True, block=False) is running
    s.submit(pending)
    assert s.cancel_open() == [pending, running]
    assert pending.token.cancelled and running.token.cancelled and not batch.token.cancelled


def test_stop_cancels_everything_and_wakes_a_waiting_take():
    s = Schedule()
    got = []
    waiter = threading.Thread(target=lambda: got.append(s.take(grouping=True)))
    waiter.start()
    jobs = _batch(3)
    s.submit(jobs[0])  # wakes it: a batch of one
    waiter.join(5)
    assert got == [[jobs[0]]]
    s.submit(jobs[1])
    jobs[0].preempted = True
    s.stop()
    assert all(j.token.cancelled for j in jobs[:2])
    assert not s.requeue(jobs[0])  # stopping: nothing is re-queued
    assert s.take(grouping=True) is None


def _model(sha="abc"):
    return SimpleNamespace(manifest=SimpleNamespace(weights_sha256=sha))


def test_cache_key_is_the_file_and_model_and_only_for_analysed_open_cases(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(b"x")
    job = Job(1, 1, str(path), OPEN, ("gradcam",))
    key = OpenCache.key(job, _model())
    assert key is not None and key == OpenCache.key(Job(2, 9, str(path), OPEN, ("gradcam",)), _model())
    assert OpenCache.key(job, _model("other")) != key
    assert OpenCache.key(Job(1, 1, str(path), OPEN, ("gradcam", "shap")), _model()) != key
    assert OpenCache.key(Job(1, 1, str(path), BATCH), _model()) is None
    assert OpenCache.key(Job(1, 1, str(path), OPEN, analyse=False), _model()) is None
    assert OpenCache.key(job, None) is None
    assert OpenCache.key(Job(1, 1, str(tmp_path / "gone.png")), _model()) is None
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert OpenCache.key(job, _model()) != key  # the file changed


def test_cache_keeps_the_last_few_used():
    cache = OpenCache(size=3)
    for k in "abc":
        cache.put((k,), (k,))
    assert cache.get(("a",)) == ("a",)  # now the most recent
    cache.put(("d",), ("d",))
    assert cache.get(("b",)) is None and len(cache) == 3
    assert [cache.get((k,)) for k in "acd"] == [("a",), ("c",), ("d",)]
    assert cache.get(None) is None


class _Events:
    def __init__(self) -> None:
        self.seen: list[tuple] = []

    def __getattr__(self, name):
        return lambda *args: self.seen.append((name, *args))


def test_a_cache_hit_replays_the_case_in_order_without_analysing(tmp_path):
    path = tmp_path / "a.png"
    path.write_bytes(b"not even an image: the cache answers first")
    events = _Events()
    runner = Runner(Schedule(), events)
    runner.model = _model()
    job = Job(7, 3, str(path), OPEN, ("gradcam",))
    stages = [SimpleNamespace(stage="prediction"), SimpleNamespace(stage="gradcam")]
    result = object()
    runner.cache.put(OpenCache.key(job, runner.model), ("image", {"gt": 1}, stages, result))
    runner.run_job(job)
    assert events.seen == [("job_started", 7), ("image_ready", 7, "image", {"gt": 1}),
                           ("stage_ready", 7, "prediction", stages[0]), ("stage_ready", 7, "gradcam", stages[1]),
                           ("job_finished", 7, result)]
    assert job.from_cache
    runner.set_model(_model("new"))  # a new model forgets the cache
    assert len(runner.cache) == 0


def test_a_cancelled_job_is_reported_unless_preempted_which_is_requeued(tmp_path):
    events = _Events()
    s = Schedule()
    runner = Runner(s, events)
    gone, preempted = Job(1, 1, "a.png", BATCH), Job(2, 2, "b.png", BATCH)
    gone.token.cancel()
    preempted.token.cancel()
    preempted.preempted = True
    runner.run_batch([gone, preempted])  # no model: one by one
    assert events.seen == [("job_cancelled", 1)]
    assert s.take(grouping=True, block=False) == [preempted] and not preempted.token.cancelled


def test_an_unreadable_file_fails_its_job_with_a_reason(tmp_path):
    events = _Events()
    runner = Runner(Schedule(), events)
    runner.run_job(Job(4, 1, str(tmp_path / "missing.png"), OPEN))
    assert [e[0] for e in events.seen] == ["job_started", "job_failed"]
    assert events.seen[1][1] == 4 and events.seen[1][2]


if __name__ == "__main__":  # pragma: no cover
    pytest.main([__file__])


def test_an_open_case_renders_its_display_and_colours_its_maps_on_the_lane(tmp_path):
    # The GUI thread then only shows the map (render.overlay.ahead); a batch job colours nothing.
    import numpy as np
    from PIL import Image

    from ra_desktop.model import load_model
    from ra_desktop.render import overlay
    from tests.tiny_model import make_tiny_model_folder

    rng = np.random.default_rng(0)
    path = tmp_path / "case.png"
    Image.fromarray((rng.random((300, 240)) * 200).astype(np.uint8)).save(path)
    events = _Events()
    runner = Runner(Schedule(), events)
    runner.model = load_model(make_tiny_model_folder(tmp_path / "m"), "cpu")
    runner.run_job(Job(1, 1, str(path), OPEN, ("gradcam",), colormaps={"gradcam": "inferno"}))
    stage = next(e[3] for e in events.seen if e[0] == "stage_ready" and e[2] == "gradcam")
    from ra_desktop.render import window

    shown = next(e[2] for e in events.seen if e[0] == "image_ready")
    assert id(shown.pixels) in window._AHEAD  # its first display too, before the image was handed over
    gradcam = stage.result.heatmaps["gradcam"]
    got = overlay.ahead(gradcam.values)
    assert got is not None and got.cmap == "inferno" and not got.signed
    assert np.array_equal(got.rgba, overlay.colorize(gradcam.values, "inferno", got.vmin, got.vmax, opacity=1.0))
    runner.run_job(Job(2, 2, str(path), BATCH, ("gradcam",), colormaps={"gradcam": "inferno"}))
    batch = next(e[2] for e in events.seen if e[0] == "job_finished" and e[1] == 2)
    assert overlay.ahead(batch.heatmaps["gradcam"].values) is None


def test_a_failing_head_start_never_fails_the_case(tmp_path, monkeypatch):
    # Rendering the display or colouring a map ahead is an optimisation: the viewer does it itself.
    import numpy as np
    from PIL import Image

    from ra_desktop.model import load_model
    from ra_desktop.render import overlay, window
    from tests.tiny_model import make_tiny_model_folder

    def broken(*a, **k):
        raise ValueError("broken")

    monkeypatch.setattr(window, "render_ahead", broken)
    monkeypatch.setattr(overlay, "colour_ahead", broken)
    path = tmp_path / "case.png"
    Image.fromarray((np.random.default_rng(1).random((300, 240)) * 200).astype(np.uint8)).save(path)
    events = _Events()
    runner = Runner(Schedule(), events)
    runner.model = load_model(make_tiny_model_folder(tmp_path / "m"), "cpu")
    runner.run_job(Job(1, 1, str(path), OPEN, ("gradcam",), colormaps={"gradcam": "jet"}))
    assert [e[0] for e in events.seen][-1] == "job_finished" and events.seen[-1][2] is not None
