"""SIGKILL in the middle of "Analyse all" loses nothing that was finished.

The workstation runs for real in a subprocess (``tests/crash_batch_app.py``: MainWindow, the
inference thread and the bundled model, offscreen) over demo phantoms. Once the first analysis
group's results are saved, the app says so and holds its GUI thread (so nothing more is saved);
the test kills it there with SIGKILL, checks the database, then starts the app again and resumes
the batch with "Analyse all". The kill waits for that event, never for a time.
"""
from __future__ import annotations

import json
import os
import select
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ra_desktop import paths

pytestmark = [pytest.mark.slow, pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")]

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "tests" / "crash_batch_app.py"
# More cases than one analysis group (inference.GROUP = 8): the app holds once the first group is
# saved, and the kill lands there, with the second group analysed or on its way but not saved.
N = 12
RESULT_COLUMNS = ("case_id", "path", "probability", "label", "threshold", "ood_distance", "ood_threshold",
                  "ood_flag", "timings_json", "model_name", "model_version", "model_sha", "analysed_at",
                  "regions_json")


def _app(model_dir: Path, folder: Path, home: Path, *options: str) -> subprocess.Popen:
    env = {**os.environ, "RA_DESKTOP_HOME": str(home), "QT_QPA_PLATFORM": "offscreen",
           "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, str(APP), str(model_dir), str(folder), *options], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)


def _wait_for_event(proc: subprocess.Popen, name: str, timeout: float) -> dict:
    """The app's ``{"event": name, ...}`` line, read straight from the pipe (no buffered line can
    hide behind a select), or fail with what it printed."""
    fd = proc.stdout.fileno()
    deadline = time.monotonic() + timeout
    buf = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:  # the app ended
            break
        buf += chunk
        for line in buf.decode(errors="replace").splitlines():
            if line.startswith('{"event": "%s"' % name):
                return json.loads(line)
    raise AssertionError(f"no {name!r} event from the app within {timeout:.0f} s:\n" + buf.decode(errors="replace")[-3000:])


def _done(db: Path) -> dict[str, tuple]:
    """Rows with a committed result, keyed by case id (a fresh connection each time)."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)
    try:
        rows = con.execute(f"SELECT {', '.join(RESULT_COLUMNS)} FROM cases WHERE status='done'").fetchall()
    except sqlite3.OperationalError:  # the table does not exist yet
        return {}
    finally:
        con.close()
    return {r[0]: r for r in rows}


def test_sigkill_mid_batch_keeps_finished_results_and_requeues_the_rest(tmp_path):
    demo = paths.demo_dir()
    files = sorted(demo.glob("*/*.dcm"))[:6] + sorted(demo.glob("*/*.png"))[:6]
    assert len(files) == N
    from ra_desktop.worker.inference import GROUP

    assert N > GROUP
    folder = tmp_path / "cases"
    folder.mkdir()
    for f in files:
        shutil.copy2(f, folder / f.name)
    model_dir = paths.default_model_dir()
    home = tmp_path / "home"
    db = home / "data" / "worklist.sqlite"

    t0 = time.monotonic()
    proc = _app(model_dir, folder, home, "--hold-after", str(GROUP))
    try:
        held = _wait_for_event(proc, "held", timeout=120)  # the first group saved, the GUI thread held
        seen = _done(db)
        assert held["done"] == GROUP and len(seen) == GROUP, (held, len(seen))
        assert proc.poll() is None, "the app ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    t_kill = time.monotonic() - t0

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    statuses = dict(con.execute("SELECT case_id, status FROM cases").fetchall())
    con.close()
    after_kill = _done(db)
    assert len(statuses) == N  # the worklist itself is whole
    # Every result seen committed before the kill is still there, value for value.
    for case_id, row in seen.items():
        assert after_kill[case_id] == row
    done_before_kill = len(after_kill)
    assert done_before_kill == GROUP < N  # the kill landed between the two analysis groups
    for row in after_kill.values():  # finished rows are complete, not half-written
        r = dict(zip(RESULT_COLUMNS, row))
        assert 0.0 <= r["probability"] <= 1.0 and r["label"] in ("RA", "normal")
        assert r["model_sha"] and r["model_version"] and r["analysed_at"]
        assert r["ood_distance"] is not None and r["ood_flag"] in (0, 1)
        assert {"preprocess", "inference", "gradcam"} <= set(json.loads(r["timings_json"]))
        # written, even when empty: an all-zero Grad-CAM (nothing points toward RA) has no regions
        assert isinstance(json.loads(r["regions_json"]), list)
    unfinished = {c for c, s in statuses.items() if s != "done"}
    assert unfinished and unfinished <= {c for c, s in statuses.items() if s in ("queued", "analysing")}

    # Restart: the interrupted rows come back queued and "Analyse all" finishes exactly them.
    proc = _app(model_dir, folder, home)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out
    exit_line = json.loads([ln for ln in out.splitlines() if ln.startswith('{"event": "exit"')][-1])
    requeued = exit_line["recovered_at_start"]
    assert requeued == N - done_before_kill == len(unfinished)
    assert exit_line["batch"] == {"done": requeued, "failed": 0, "cancelled": False}
    final = _done(db)
    assert set(final) == set(statuses)  # everything done now
    for case_id, row in after_kill.items():  # the earlier results were not touched (same analysed_at)
        assert final[case_id] == row
    lost = N - len(final)
    assert lost == 0
    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    print(f"\ncrash test: N={N}, done before kill={done_before_kill}, requeued={requeued}, lost={lost}, "
          f"kill at {t_kill:.1f} s, total {time.monotonic() - t0:.1f} s")
