"""The reading workflow without Qt: which store write and which audit line follow each event.

The workstation window (and the scoring worksheet, comparison view and DICOM receiver beside it)
calls a ReadingSession and keeps only widgets, signals and display. Each method writes the
worklist store, appends the audit line that goes with it and returns what the caller must redraw.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from ra_desktop import audit
from ra_desktop.worklist import ANALYSING, FAILED, NEW, QUEUED, CaseRow, WorklistStore, is_conflict, result_fields

BATCH_CANCELLED = "batch cancelled"
APP_CLOSED = "batch stopped when the app closed"


class ReadingSession:
    """Open, analyse, sign off and export the cases of one worklist store.

    ``reader_name`` is called at each event: the reader may be named (or renamed) mid-session.
    """

    def __init__(self, store: WorklistStore, reader_name: Callable[[], str], source: str = "gui") -> None:
        self.store = store
        self.reader_name = reader_name
        self.source = source
        self._audited_open: int | None = None  # the open case already in the audit log

    def audit(self, action: str, case_id: str | None, **details: Any) -> None:
        """One audit-log line by case id, with the reader from the settings."""
        audit.record(action, case_id, reader=self.reader_name(), source=self.source, **details)

    # ---- the open case ---------------------------------------------------------------------------
    def open(self, row: CaseRow) -> bool:
        """The reader opened ``row``; True when it may be analysed (its UID names no other image)."""
        if self._audited_open != row.id:  # not again when the same case reloads (new model)
            self._audited_open = row.id
            self.audit(audit.OPENED, row.case_id)
        return not is_conflict(row.case_id)

    def research_view(self, row_id: int | None) -> CaseRow | None:
        """The reader asked to see a result the model gives no verdict on: audited."""
        row = self.store.get(row_id) if row_id is not None else None
        if row is not None:
            self.audit(audit.OPENED, row.case_id, research_view="out-of-distribution result shown")
        return row

    # ---- analysis ----------------------------------------------------------------------------------
    def started(self, row: CaseRow | None) -> bool:
        """A queued row's analysis began: it becomes analysing (True when it changed)."""
        if row is None or row.status != QUEUED:
            return False
        self.store.set_status(row.id, ANALYSING)
        return True

    def analysed(self, row_id: int, result: Any, model_sha: str | None) -> dict[str, Any]:
        """Save a finished result and audit the model that produced it (from its provenance)."""
        fields = result_fields(result, model_sha=model_sha)
        self.store.save_result(row_id, fields)
        row = self.store.get(row_id)
        if row is not None:
            model = " ".join(str(v) for v in (fields["model_name"], fields["model_version"]) if v)
            self.audit(audit.ANALYSED, row.case_id, model=model or None, model_sha256=fields["model_sha"])
        return fields

    def failed(self, row_id: int, reason: str) -> CaseRow | None:
        self.store.set_status(row_id, FAILED, reason)
        return self.store.get(row_id)

    # ---- sign-off ----------------------------------------------------------------------------------
    def sign_off(self, row_id: int | None, verdict: str, note: str) -> CaseRow | None:
        """Sign the case as the named reader; nothing without a case or a reader name."""
        reader = self.reader_name()
        if row_id is None or not reader:
            return None
        self.store.sign_off(row_id, verdict, reader, note)
        row = self.store.get(row_id)
        self.audit(audit.SIGNED, row.case_id if row else None, verdict=verdict)
        return row

    # ---- export -----------------------------------------------------------------------------------
    def exported(self, case_id: str | None, **details: Any) -> None:
        """A report or DICOM object of the case left the workstation (kind, model, de-identified…).
        Safe from an export's worker thread: it writes only the audit log, never the store."""
        self.audit(audit.EXPORTED, case_id, **details)

    # ---- batch -------------------------------------------------------------------------------------
    def queue_batch(self, rows: Iterable[CaseRow], in_batch: set[int]) -> list[CaseRow]:
        """Queue every row without a result; QUEUED rows not in the running batch were interrupted
        by a crash and are resumed too. Conflicting UIDs are never analysed."""
        todo = [r for r in rows
                if (r.status in (NEW, FAILED) or (r.status == QUEUED and r.id not in in_batch))
                and not is_conflict(r.case_id)]
        if todo:
            self.store.set_status([r.id for r in todo], QUEUED)
        return todo

    def batch_cancelled(self, dropped: list[int]) -> None:
        if dropped:
            self.store.set_status(dropped, NEW, BATCH_CANCELLED)

    def batch_finished(self, rows: Iterable[CaseRow]) -> list[int]:
        """A cancelled running item goes back to new; returns the rows changed."""
        back = [r.id for r in rows if r.status in (QUEUED, ANALYSING) and r.probability is None]
        for rid in back:
            self.store.set_status(rid, NEW, BATCH_CANCELLED)
        return back

    @staticmethod
    def queued_ids(rows: Iterable[CaseRow]) -> list[int]:
        return [r.id for r in rows if r.status == QUEUED]

    def app_closed(self, queued: list[int]) -> None:
        """Rows still queued when the app closes go back to new (the worker has stopped)."""
        if queued:
            self.store.set_status(queued, NEW, APP_CLOSED)
