"""The SQLite worklist survives restarts and crashes and never duplicates a case."""
from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import pytest

from ra_desktop import paths
from ra_desktop.worklist import store as _store_module
from ra_desktop.worklist import (
    ANALYSING, DONE, FAILED, NEW, QUEUED, REVIEWED, NewCase, WorklistStore, result_fields,
)


def _cases(n, prefix="c"):
    return [NewCase(case_id=f"{prefix}{i}", path=f"/data/{prefix}{i}.png", patient_id=f"P{i}") for i in range(n)]


def test_default_location_and_wal():
    store = WorklistStore()
    assert store.path == paths.user_data_dir() / "worklist.sqlite"
    mode = sqlite3.connect(store.path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_adding_again_adds_only_new(tmp_path):
    store = WorklistStore(tmp_path / "w.sqlite")
    assert len(store.add_cases(_cases(3))) == 3
    ids = store.add_cases(_cases(5))
    assert len(ids) == 2 and len(store) == 5
    # same content (case id) at another path is a separate row; same path+id is not
    assert len(store.add_cases([NewCase("c0", "/elsewhere/c0.png")])) == 1
    assert len(store) == 6


def test_unreadable_file_starts_failed_with_reason(tmp_path):
    store = WorklistStore(tmp_path / "w.sqlite")
    (rid,) = store.add_cases([NewCase("bad", "/x/bad.dcm", error="not a DICOM file")])
    row = store.get(rid)
    assert row.status == FAILED and row.status_note == "not a DICOM file"


def test_result_signoff_and_restart(tmp_path):
    db = tmp_path / "w.sqlite"
    store = WorklistStore(db)
    a, b = store.add_cases(_cases(2))
    fake = SimpleNamespace(probability=0.83, label="RA", threshold=0.5,
                           ood=SimpleNamespace(distance=3.0, threshold=5.0, in_distribution=True),
                           timings_ms={"prediction": 12.5}, regions=[],
                           provenance={"model_name": "m", "model_version": "1"})
    store.save_result(a, result_fields(fake, model_sha="abc"))
    store.sign_off(a, "disagree", "Dr Reader", "erosions not convincing")
    store.set_status(b, ANALYSING)
    store.close()

    again = WorklistStore(db)  # a "restart" after a crash in the middle of b
    assert again.recover_interrupted() == 1
    ra, rb = again.rows()
    assert (ra.probability, ra.label, ra.ood_flag, ra.timings) == (0.83, "RA", False, {"prediction": 12.5})
    assert (ra.status, ra.verdict, ra.reader, ra.reader_note) == (REVIEWED, "disagree", "Dr Reader", "erosions not convincing")
    assert ra.signed_at is not None and ra.model_sha == "abc"
    assert rb.status == QUEUED and "interrupted" in rb.status_note


def test_regions_persisted_and_recovery_keeps_results(tmp_path):
    db = tmp_path / "w.sqlite"
    store = WorklistStore(db)
    a, b, c = store.add_cases(_cases(3))
    fake = SimpleNamespace(probability=0.6, label="RA", threshold=0.5, ood=None, timings_ms={"load": 1.0},
                           regions=[SimpleNamespace(name="MCP2", score=0.41), SimpleNamespace(name="wrist", score=-0.1)],
                           provenance={"model_name": "m", "model_version": "1", "model_sha256": "s"})
    store.set_status([a, b, c], QUEUED)
    store.set_status(a, ANALYSING)
    store.save_result(a, result_fields(fake))  # a finished; b was running (re-analysis) ; c waited
    store.set_status(b, ANALYSING)
    store.close()

    again = WorklistStore(db)
    assert again.recover_interrupted() == 2  # b and c: no result yet
    ra, rb, rc = again.rows()
    assert ra.status == DONE and ra.regions == [("MCP2", 0.41), ("wrist", -0.1)] and ra.model_sha == "s"
    assert rb.status == QUEUED and rc.status == QUEUED and "queued again" in rc.status_note
    assert again.recover_interrupted() == 2  # still queued until the reader resumes


def test_version_1_database_gains_the_regions_column(tmp_path):
    db = tmp_path / "old.sqlite"
    con = sqlite3.connect(db)
    old_schema = _store_module._SCHEMA.replace("    regions_json TEXT,\n", "")
    assert "regions_json" not in old_schema
    con.executescript(old_schema)
    con.execute("INSERT INTO cases (case_id, path, added_at, status, probability) VALUES ('k', '/k.png', 0, 'done', 0.7)")
    con.execute("PRAGMA user_version=1")
    con.commit()
    con.close()
    store = WorklistStore(db)
    (row,) = store.rows()
    assert row.probability == 0.7 and row.regions == []
    store.save_result(row.id, {"probability": 0.2, "label": "normal", "threshold": 0.5, "regions": [("MCP3", 0.2)]})
    assert store.get(row.id).regions == [("MCP3", 0.2)]
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == _store_module.SCHEMA_VERSION == 5


def test_reanalysis_keeps_reviewed_status(tmp_path):
    store = WorklistStore(tmp_path / "w.sqlite")
    (a,) = store.add_cases(_cases(1))
    store.sign_off(a, "agree", "R")
    store.save_result(a, {"probability": 0.1, "label": "normal", "threshold": 0.5})
    assert store.get(a).status == REVIEWED
    (b,) = store.add_cases(_cases(1, "d"))
    store.set_status(b, QUEUED)
    store.save_result(b, {"probability": 0.1, "label": "normal", "threshold": 0.5})
    assert store.get(b).status == DONE and store.get(b).ood_flag is None


def test_bad_values_rejected(tmp_path):
    store = WorklistStore(tmp_path / "w.sqlite")
    (a,) = store.add_cases(_cases(1))
    with pytest.raises(ValueError):
        store.set_status(a, "finished")
    with pytest.raises(ValueError):
        store.sign_off(a, "maybe", "R")


def _dicom_case(path, uid, value):
    import numpy as np
    from io_fixtures import write_dicom

    from ra_desktop.io import load_radiograph

    write_dicom(path, np.full((4, 4), value, np.uint16), SOPInstanceUID=uid)
    return NewCase(case_id=load_radiograph(path).case_id, path=str(path))


def test_a_reused_uid_never_makes_a_second_case_under_the_first_ones_id(tmp_path):
    store = WorklistStore(tmp_path / "w.sqlite")
    uid = "1.2.826.0.1.3680043.8.498.1"
    for d in ("a", "b", "c"):
        (tmp_path / d).mkdir()
    first = _dicom_case(tmp_path / "a" / "hand.dcm", uid, 100)
    other = _dicom_case(tmp_path / "b" / "hand.dcm", uid, 200)  # another image, the same UID
    (tmp_path / "c" / "hand.dcm").write_bytes((tmp_path / "a" / "hand.dcm").read_bytes())
    copy = NewCase(case_id=uid, path=str(tmp_path / "c" / "hand.dcm"))  # the first, copied
    assert first.case_id == other.case_id == uid
    ids = store.add_cases([first, other, copy])
    rows = [store.get(i) for i in ids]
    assert [r.case_id for r in rows].count(uid) == 2  # the first and its copy
    conflict = rows[1]
    assert conflict.case_id.startswith("conflict:") and conflict.status == FAILED
    assert uid in conflict.status_note and "different image" in conflict.status_note
    # adding the folder again adds nothing more, and the first row is untouched
    assert store.add_cases([other]) == [] and store.get(ids[0]).status == NEW


def test_a_reused_uid_whose_first_file_is_gone_still_keeps_the_new_file(tmp_path):
    store = WorklistStore(tmp_path / "w.sqlite")
    uid = "1.2.826.0.1.3680043.8.498.2"
    for d in ("a", "b"):
        (tmp_path / d).mkdir()
    first = _dicom_case(tmp_path / "a" / "hand.dcm", uid, 100)
    (first_row,) = store.add_cases([first])
    (tmp_path / "a" / "hand.dcm").unlink()  # moved or deleted since: nothing left to compare with
    other = _dicom_case(tmp_path / "b" / "hand.dcm", uid, 200)
    (row,) = store.add_cases([other])  # kept, in its own row: it cannot be compared with the first
    assert store.get(row).path == other.path and store.get(first_row).path == first.path
