"""The reading worklist kept in SQLite (no Qt)."""
from ra_desktop.worklist.store import (
    ANALYSING, DONE, FAILED, NEW, QUEUED, REVIEWED, STATUSES, CaseRow, NewCase, WorklistStore,
    is_conflict, result_fields,
)

__all__ = ["ANALYSING", "DONE", "FAILED", "NEW", "QUEUED", "REVIEWED", "STATUSES", "CaseRow",
           "NewCase", "WorklistStore", "is_conflict", "result_fields"]
