"""The reading session without Qt: each event's store writes, status transitions and audit lines."""
from __future__ import annotations

import json
import subprocess
import sys
from types import SimpleNamespace

import pytest

from ra_desktop import audit, session
from ra_desktop.session import ReadingSession
from ra_desktop.worklist import ANALYSING, DONE, FAILED, NEW, QUEUED, REVIEWED, NewCase, WorklistStore
from ra_desktop.worklist.store import CONFLICT_PREFIX


def _events() -> list[dict]:
    path = audit.audit_path()
    return [json.loads(ln) for ln in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def _result(p: float = 0.8) -> SimpleNamespace:
    return SimpleNamespace(probability=p, label="RA", threshold=0.5, ood=None, timings_ms={"predict": 12.0},
                           provenance={"model_name": "tiny", "model_version": "1.0", "model_sha256": "prov"},
                           regions=())


@pytest.fixture
def store(tmp_path):
    s = WorklistStore(tmp_path / "worklist.db")
    s.add_cases([NewCase(case_id=f"1.2.{i}", path=str(tmp_path / f"{i}.png")) for i in range(3)])
    yield s
    s.close()


@pytest.fixture
def reader():
    return {"name": "Dr A"}


@pytest.fixture
def sess(store, reader):
    return ReadingSession(store, lambda: reader["name"])


def test_the_session_loads_no_qt():
    code = "import sys, ra_desktop.session; print(any(m.startswith('PySide6') for m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_open_analyse_sign(sess, store):
    row = store.rows()[0]
    assert sess.open(row) is True
    assert sess.open(row) is True  # the same case reloading (new model): audited once
    fields = sess.analysed(row.id, _result(), model_sha="sha-live")
    assert fields["model_sha"] == "sha-live"
    got = store.get(row.id)
    assert got.status == DONE and got.probability == pytest.approx(0.8) and got.model_sha == "sha-live"
    signed = sess.sign_off(row.id, "agree", "looks right")
    assert signed.status == REVIEWED and signed.verdict == "agree" and signed.reader == "Dr A"
    assert signed.reader_note == "looks right"
    ev = _events()
    assert [e["action"] for e in ev] == [audit.OPENED, audit.ANALYSED, audit.SIGNED]
    assert all(e["case_id"] == row.case_id and e["reader"] == "Dr A" and e["source"] == "gui" for e in ev)
    assert ev[1]["model"] == "tiny 1.0" and ev[1]["model_sha256"] == "sha-live"
    assert ev[2]["verdict"] == "agree"
    # opening another case, then this one again, audits it again
    sess.open(store.rows()[1])
    sess.open(row)
    assert [e["case_id"] for e in _events()[3:]] == [store.rows()[1].case_id, row.case_id]


def test_a_result_without_a_model_name_audits_no_model(sess, store):
    row = store.rows()[0]
    res = _result()
    res.provenance = {}
    sess.analysed(row.id, res, model_sha=None)
    (e,) = _events()
    assert e["action"] == audit.ANALYSED and "model" not in e and e["model_sha256"] is None


def test_sign_off_needs_a_case_and_a_reader(sess, store, reader):
    row = store.rows()[0]
    assert sess.sign_off(None, "agree", "") is None
    reader["name"] = ""
    assert sess.sign_off(row.id, "agree", "") is None
    assert store.get(row.id).status == NEW and _events() == []
    reader["name"] = "Dr B"  # named mid-session: the next sign-off carries the new name
    assert sess.sign_off(row.id, "disagree", "").reader == "Dr B"
    assert _events()[-1]["reader"] == "Dr B"


def test_failure_marks_the_row_failed_without_an_audit_line(sess, store):
    row = store.rows()[0]
    got = sess.failed(row.id, "not a hand")
    assert got.status == FAILED and got.status_note == "not a hand"
    assert store.get(row.id).status == FAILED and _events() == []


def test_research_view_is_audited(sess, store):
    row = store.rows()[0]
    assert sess.research_view(None) is None and _events() == []
    assert sess.research_view(row.id).id == row.id
    (e,) = _events()
    assert e["action"] == audit.OPENED and e["research_view"] == "out-of-distribution result shown"


def test_export_is_audited_with_its_details_and_no_store_write(sess, store):
    row = store.rows()[0]
    sess.exported(row.case_id, model="tiny 1.0", kind="report", deidentified=False)
    (e,) = _events()
    assert e["action"] == audit.EXPORTED and e["case_id"] == row.case_id and e["reader"] == "Dr A"
    assert (e["source"], e["model"], e["kind"], e["deidentified"]) == ("gui", "tiny 1.0", "report", False)
    assert store.get(row.id).status == row.status


def test_batch_queue_start_cancel_requeue(sess, store):
    a, b, c = store.rows()
    sess.analysed(c.id, _result(), model_sha=None)  # c has a result: not queued
    queued = sess.queue_batch(store.rows(), in_batch=set())
    assert [r.id for r in queued] == [a.id, b.id]
    assert [store.get(i).status for i in (a.id, b.id, c.id)] == [QUEUED, QUEUED, DONE]
    # the rows returned are those read before queueing; the store has them queued now
    assert sess.started(store.get(a.id)) is True and store.get(a.id).status == ANALYSING
    assert sess.started(store.get(c.id)) is False and store.get(c.id).status == DONE
    assert sess.started(None) is False
    # resume: a QUEUED row in the running batch is not queued twice; one left by a crash is
    assert sess.queue_batch(store.rows(), in_batch={b.id}) == []
    assert [r.id for r in sess.queue_batch(store.rows(), in_batch=set())] == [b.id]
    sess.batch_cancelled([b.id])
    assert store.get(b.id).status == NEW and store.get(b.id).status_note == session.BATCH_CANCELLED
    sess.batch_cancelled([])  # nothing dropped: nothing written
    # the batch ends: the running item without a result goes back to new, results stay
    assert sess.batch_finished(store.rows()) == [a.id]
    assert store.get(a.id).status == NEW and store.get(a.id).status_note == "batch cancelled"
    assert store.get(c.id).status == DONE
    assert [e["action"] for e in _events()] == [audit.ANALYSED]  # status changes are not audited


def test_conflicting_uids_are_shown_never_analysed(tmp_path, reader):
    store = WorklistStore(tmp_path / "w.db")
    store.add_cases([NewCase(case_id=f"{CONFLICT_PREFIX}1.2.3", path=str(tmp_path / "x.dcm"))])
    sess = ReadingSession(store, lambda: reader["name"])
    (row,) = store.rows()
    assert sess.open(row) is False
    assert _events()[0]["action"] == audit.OPENED  # still opened, and audited
    assert sess.queue_batch(store.rows(), in_batch=set()) == []
    store.close()


def test_app_closed_puts_queued_rows_back(sess, store):
    a, b, _ = store.rows()
    sess.queue_batch([a, b], in_batch=set())
    queued = sess.queued_ids(store.rows())
    assert queued == [a.id, b.id]
    sess.app_closed(queued)
    assert {store.get(i).status for i in queued} == {NEW}
    assert store.get(a.id).status_note == "batch stopped when the app closed"
