"""SQLite worklist: one row per image, its AI result and the reader's sign-off. No Qt here.

The database lives in ``paths.user_data_dir()/worklist.sqlite`` in WAL mode. Every write is its
own short transaction so a crash in the middle of a batch loses nothing that was finished.
"""
from __future__ import annotations

import filecmp
import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ra_desktop import paths
from ra_desktop.results import CaseResult
from ra_desktop.worklist.schema import ANNOTATIONS as _ANNOTATION_SCHEMA
from ra_desktop.worklist.schema import MEASUREMENTS as _MEASUREMENT_SCHEMA

SCHEMA_VERSION = 5  # 2: regions_json (top contributing regions); 3: scores and markers tables;
# 4: measurement_runs and measurements tables (worklist/measurements.py: radiogrammetry);
# 5: annotations table (worklist/annotations.py: arrows, texts, angles, regions of interest)

# Row statuses, in the order a case moves through them.
NEW, QUEUED, ANALYSING, DONE, FAILED, REVIEWED = "new", "queued", "analysing", "done", "failed", "reviewed"
STATUSES = (NEW, QUEUED, ANALYSING, DONE, FAILED, REVIEWED)

_COLUMNS = (
    "id", "case_id", "path", "patient_id", "patient_name", "study_date", "laterality", "view",
    "format", "added_at", "status", "status_note", "probability", "label", "threshold",
    "ood_distance", "ood_threshold", "ood_flag", "timings_json", "model_name", "model_version",
    "model_sha", "analysed_at", "verdict", "reader", "reader_note", "signed_at", "regions_json",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    path TEXT NOT NULL,
    patient_id TEXT, patient_name TEXT, study_date TEXT, laterality TEXT, view TEXT, format TEXT,
    added_at REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'new',
    status_note TEXT,
    probability REAL, label TEXT, threshold REAL,
    ood_distance REAL, ood_threshold REAL, ood_flag INTEGER,
    timings_json TEXT, model_name TEXT, model_version TEXT, model_sha TEXT, analysed_at REAL,
    verdict TEXT, reader TEXT, reader_note TEXT, signed_at REAL,
    regions_json TEXT,
    UNIQUE (case_id, path)
);
CREATE INDEX IF NOT EXISTS cases_path ON cases(path);
-- Sharp/van der Heijde scores, one row per reader and area (scoring/svdh.py); score NULL with
-- not_assessable 1 is "not assessable". Each reader's scores are kept.
CREATE TABLE IF NOT EXISTS scores (
    case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    hand TEXT NOT NULL CHECK (hand IN ('L', 'R')),
    kind TEXT NOT NULL CHECK (kind IN ('erosion', 'jsn')),
    site TEXT NOT NULL,
    score INTEGER CHECK (score BETWEEN 0 AND 5),
    not_assessable INTEGER NOT NULL DEFAULT 0,
    scored_at REAL NOT NULL,
    PRIMARY KEY (case_row, reader, hand, kind, site)
);
-- Where each scored site is on the image (image pixel coordinates, x right, y down).
CREATE TABLE IF NOT EXISTS markers (
    case_row INTEGER NOT NULL REFERENCES cases(id) ON DELETE CASCADE,
    reader TEXT NOT NULL,
    hand TEXT NOT NULL CHECK (hand IN ('L', 'R')),
    site TEXT NOT NULL,
    x REAL NOT NULL, y REAL NOT NULL,
    source TEXT NOT NULL,
    placed_at REAL NOT NULL,
    PRIMARY KEY (case_row, reader, hand, site)
);
"""

# Columns added after version 1: (name, SQL type). Older files get them with ALTER TABLE.
_ADDED_COLUMNS = (("regions_json", "TEXT"),)

INTERRUPTED_NOTE = "analysis was interrupted (app closed); queued again: Analyse all resumes it"
# A different image sent under a SOP Instance UID the worklist already holds gets this id instead:
# never a second case under the first one's id (audit, reports and pseudonyms go by case id).
CONFLICT_PREFIX = "conflict:"


def is_conflict(case_id: str) -> bool:
    return case_id.startswith(CONFLICT_PREFIX)


@dataclass
class CaseRow:
    """One worklist row as plain data (what the table model shows)."""

    id: int
    case_id: str
    path: str
    patient_id: str | None = None
    patient_name: str | None = None
    study_date: str | None = None
    laterality: str | None = None
    view: str | None = None
    format: str | None = None
    added_at: float = 0.0
    status: str = NEW
    status_note: str | None = None
    probability: float | None = None
    label: str | None = None
    threshold: float | None = None
    ood_distance: float | None = None
    ood_threshold: float | None = None
    ood_flag: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    model_name: str | None = None
    model_version: str | None = None
    model_sha: str | None = None
    analysed_at: float | None = None
    verdict: str | None = None  # "agree" | "disagree"
    reader: str | None = None
    reader_note: str | None = None
    signed_at: float | None = None
    regions: list[tuple[str, float]] = field(default_factory=list)  # top regions, best first

    @property
    def file_name(self) -> str:
        return Path(self.path).name

    @property
    def has_result(self) -> bool:
        return self.probability is not None


@dataclass(frozen=True)
class NewCase:
    """What a scan found: enough metadata to add a row (pixels are not kept)."""

    case_id: str
    path: str
    patient_id: str | None = None
    patient_name: str | None = None
    study_date: str | None = None
    laterality: str | None = None
    view: str | None = None
    format: str | None = None
    error: str | None = None  # set when the file could not be read: the row starts as failed


def _row(r: sqlite3.Row) -> CaseRow:
    d = dict(r)
    timings = json.loads(d.pop("timings_json") or "{}")
    regions = [(str(n), float(v)) for n, v in json.loads(d.pop("regions_json") or "[]")]
    flag = d.pop("ood_flag")
    return CaseRow(**d, timings=timings, regions=regions, ood_flag=None if flag is None else bool(flag))


class WorklistStore:
    """Thread-compatible store: each thread that uses it gets its own SQLite connection."""

    def __init__(self, db_path: str | Path | None = None) -> None:
        self.path = Path(db_path) if db_path else paths.user_data_dir() / "worklist.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Names, IDs, dates and paths: owner-only; SQLite gives -wal/-shm the database's mode.
        paths.private_file(self.path)
        self._local = threading.local()
        con = self._con()
        con.execute("PRAGMA journal_mode=WAL")
        for side in ("-wal", "-shm"):  # made 0644 by an older version
            if (side_file := self.path.with_name(self.path.name + side)).exists():
                paths.private_file(side_file)
        with con:
            con.executescript(_SCHEMA + _MEASUREMENT_SCHEMA + _ANNOTATION_SCHEMA)
            have = {r[1] for r in con.execute("PRAGMA table_info(cases)")}
            for name, sql_type in _ADDED_COLUMNS:
                if name not in have:
                    con.execute(f"ALTER TABLE cases ADD COLUMN {name} {sql_type}")
            con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    def _con(self) -> sqlite3.Connection:
        con = getattr(self._local, "con", None)
        if con is None:
            # isolation_level=None: we open explicit transactions with `with con:` blocks below.
            con = sqlite3.connect(self.path, timeout=10.0)
            con.row_factory = sqlite3.Row
            con.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL is durable across app crashes
            con.execute("PRAGMA foreign_keys=ON")
            self._local.con = con
        return con

    def close(self) -> None:
        con = getattr(self._local, "con", None)
        if con is not None:
            con.close()
            self._local.con = None

    # ---- reading ---------------------------------------------------------------------------
    def rows(self) -> list[CaseRow]:
        cur = self._con().execute(f"SELECT {', '.join(_COLUMNS)} FROM cases ORDER BY id")
        return [_row(r) for r in cur.fetchall()]

    def get(self, row_id: int) -> CaseRow | None:
        r = self._con().execute(f"SELECT {', '.join(_COLUMNS)} FROM cases WHERE id=?", (row_id,)).fetchone()
        return _row(r) if r else None

    def known_paths(self) -> set[str]:
        return {r[0] for r in self._con().execute("SELECT path FROM cases")}

    def __len__(self) -> int:
        return int(self._con().execute("SELECT COUNT(*) FROM cases").fetchone()[0])

    # ---- writing (each call is one transaction) ----------------------------------------------
    def add_cases(self, cases: Iterable[NewCase]) -> list[int]:
        """Insert cases not already present (key: case id + path). Returns the new row ids."""
        now = time.time()
        ids: list[int] = []
        con = self._con()
        with con:
            for c in cases:
                c = self._unless_conflicting(con, c)
                cur = con.execute(
                    "INSERT OR IGNORE INTO cases (case_id, path, patient_id, patient_name, study_date,"
                    " laterality, view, format, added_at, status, status_note)"
                    " VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (c.case_id, str(c.path), c.patient_id, c.patient_name, c.study_date, c.laterality,
                     c.view, c.format, now, FAILED if c.error else NEW, c.error),
                )
                if cur.rowcount:
                    ids.append(int(cur.lastrowid))
        return ids

    @staticmethod
    def _unless_conflicting(con: sqlite3.Connection, c: NewCase) -> NewCase:
        """``c``, or a failed entry under its own id when another file already holds its case id
        with different content. The same file found again in a second folder is the same image."""
        if c.error:
            return c
        for (other,) in con.execute("SELECT path FROM cases WHERE case_id=? AND path<>?",
                                    (c.case_id, str(c.path))):
            try:
                if not Path(other).is_file() or filecmp.cmp(other, c.path, shallow=False):
                    continue  # the earlier file is gone, or this is a copy of it
                with open(c.path, "rb") as fh:
                    digest = hashlib.file_digest(fh, "sha256").hexdigest()[:16]
            except OSError:
                continue  # unreadable now: the scan already read it, the loader will say
            return NewCase(case_id=CONFLICT_PREFIX + digest, path=c.path, patient_id=c.patient_id,
                           patient_name=c.patient_name, study_date=c.study_date, laterality=c.laterality,
                           view=c.view, format=c.format,
                           error=f"SOP Instance UID {c.case_id} already names a different image in the "
                                 f"worklist ({Path(other).name}): not analysed. The sender reused a "
                                 "UID; ask its administrator to resend with a new one.")
        return c

    def set_status(self, row_ids: int | Iterable[int], status: str, note: str | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        ids = [row_ids] if isinstance(row_ids, int) else list(row_ids)
        con = self._con()
        with con:
            con.executemany("UPDATE cases SET status=?, status_note=? WHERE id=?",
                            [(status, note, i) for i in ids])

    def save_result(self, row_id: int, result: dict[str, Any]) -> None:
        """Store an analysis result (plain dict, see ``result_fields``); status becomes done,
        or stays reviewed when the reader already signed off."""
        con = self._con()
        with con:
            con.execute(
                "UPDATE cases SET probability=?, label=?, threshold=?, ood_distance=?, ood_threshold=?,"
                " ood_flag=?, timings_json=?, model_name=?, model_version=?, model_sha=?, analysed_at=?,"
                " regions_json=?, status=CASE WHEN status='reviewed' THEN 'reviewed' ELSE 'done' END, status_note=NULL"
                " WHERE id=?",
                (result.get("probability"), result.get("label"), result.get("threshold"),
                 result.get("ood_distance"), result.get("ood_threshold"),
                 None if result.get("ood_flag") is None else int(bool(result["ood_flag"])),
                 json.dumps(result.get("timings") or {}), result.get("model_name"),
                 result.get("model_version"), result.get("model_sha"), time.time(),
                 json.dumps([[str(n), float(v)] for n, v in result.get("regions") or []]), row_id),
            )

    def sign_off(self, row_id: int, verdict: str, reader: str, note: str = "") -> None:
        """The reader agrees or disagrees with the AI result; the row becomes reviewed."""
        if verdict not in ("agree", "disagree"):
            raise ValueError("verdict must be 'agree' or 'disagree'")
        con = self._con()
        with con:
            con.execute(
                "UPDATE cases SET verdict=?, reader=?, reader_note=?, signed_at=?, status='reviewed',"
                " status_note=NULL WHERE id=?",
                (verdict, reader, note, time.time(), row_id),
            )

    def set_patient_id(self, row_id: int, patient_id: str) -> None:
        """The reader names the patient of an image that carries no ID (a PNG, a BMP crop)."""
        con = self._con()
        with con:
            con.execute("UPDATE cases SET patient_id=? WHERE id=?", (patient_id.strip() or None, row_id))

    def recover_interrupted(self) -> int:
        """At start-up: rows left 'analysing'/'queued' by a crash are queued again (with a note);
        a row that already has a result keeps it and is done. Returns the number re-queued.

        Nothing runs by itself: the reader resumes with "Analyse all", so a file that crashed
        the app cannot crash it again at every start.
        """
        con = self._con()
        with con:
            con.execute("UPDATE cases SET status='done', status_note=NULL"
                        " WHERE status IN ('analysing', 'queued') AND probability IS NOT NULL")
            cur = con.execute("UPDATE cases SET status='queued', status_note=?"
                              " WHERE status IN ('analysing', 'queued')", (INTERRUPTED_NOTE,))
        return int(cur.rowcount)

    def remove(self, row_ids: Iterable[int]) -> None:
        con = self._con()
        with con:
            con.executemany("DELETE FROM cases WHERE id=?", [(i,) for i in row_ids])


def result_fields(case_result: CaseResult, model_sha: str | None = None) -> dict[str, Any]:
    """Flatten a pipeline ``CaseResult`` into the columns ``save_result`` stores."""
    ood = case_result.ood
    prov = case_result.provenance
    return {
        "probability": float(case_result.probability),
        "label": str(case_result.label),
        "threshold": float(case_result.threshold),
        "ood_distance": None if ood is None else float(ood.distance),
        "ood_threshold": None if ood is None else float(ood.threshold),
        "ood_flag": None if ood is None else (not bool(ood.in_distribution)),
        "timings": {k: float(v) for k, v in case_result.timings_ms.items()},
        "model_name": prov.get("model_name"),
        "model_version": prov.get("model_version"),
        "model_sha": model_sha or prov.get("model_sha256"),
        "regions": [(str(r.name), float(r.score)) for r in case_result.regions],
    }
