"""Append-only audit trail: who opened, analysed, signed and exported which case, and when. No Qt.

JSON Lines in ``paths.user_data_dir()/audit.jsonl``. Each event is one line, written with one
``write`` to a file opened in append mode and fsync'd before the call returns: a crash can lose
only the event being written, never rewrite an earlier one. Cases are named by case id only
(SOP Instance UID or content hash), never by patient name, patient ID or file path.
"""
from __future__ import annotations

import getpass
import json
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ra_desktop import __version__, paths

log = logging.getLogger(__name__)

OPENED, ANALYSED, SIGNED, EXPORTED = "opened", "analysed", "signed", "exported"
SCORED, MARKED = "scored", "marked"  # a Sharp/van der Heijde score set or cleared; a joint marker placed
IDENTIFIED = "identified"  # the reader named the patient of an image without an ID (recorded as pseudonyms)
ACTIONS = (OPENED, ANALYSED, SIGNED, EXPORTED, SCORED, MARKED, IDENTIFIED)
FILE_NAME = "audit.jsonl"

_lock = threading.Lock()  # one line at a time from this process (GUI thread and worker threads)


def audit_path() -> Path:
    return paths.user_data_dir() / FILE_NAME


def os_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (some containers, services): still audit
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else "unknown"


def model_label(manifest: Any) -> str | None:
    """``"name version"`` of a model manifest (or anything with those attributes)."""
    if manifest is None:
        return None
    name, version = getattr(manifest, "name", None), getattr(manifest, "version", None)
    return " ".join(str(v) for v in (name, version) if v) or None


def record(action: str, case_id: str | None, *, reader: str = "", source: str = "gui",
           model: str | None = None, path: Path | None = None, **details: Any) -> dict[str, Any] | None:
    """Append one event and fsync it. Returns the event, or None when the file could not be
    written (logged as an error: the reader's work goes on, the audit gap is in the app log).

    Parameters
    ----------
    action : one of ACTIONS
    case_id : str or None
        The worklist case id. Never pass a patient name, patient ID or path here.
    reader : str
        The reader name from the settings ("" when none is set).
    source : str
        ``"gui"`` or the CLI command (``"cli predict"``...).
    model : str, optional
        Model name and version (see :func:`model_label`) for analyses and exports.
    details : JSON-serialisable values
        A few plain facts, e.g. ``verdict="agree"`` or ``deidentified=True``.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    event: dict[str, Any] = {
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="milliseconds"),
        "os_user": os_user(),
        "reader": reader or "",
        "action": action,
        "case_id": case_id,
        "source": source,
        "app_version": __version__,
    }
    if model:
        event["model"] = model
    event.update(details)
    data = (json.dumps(event, ensure_ascii=False) + "\n").encode("utf-8")
    target = Path(path) if path else audit_path()
    try:
        with _lock:
            # O_APPEND: every write lands at the end, even with another process appending too.
            fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view):]
                os.fsync(fd)
            finally:
                os.close(fd)
    except OSError as exc:
        log.error("audit log %s not written (%s for case %s): %s", target, action, case_id, exc)
        return None
    return event


def read_events(path: Path | None = None) -> list[dict[str, Any]]:
    """All events, oldest first; a torn last line (crash mid-write) is skipped."""
    target = Path(path) if path else audit_path()
    if not target.exists():
        return []
    events = []
    for line in target.read_text(encoding="utf-8").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    return events
