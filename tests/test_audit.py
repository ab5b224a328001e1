"""The append-only audit log (core, no Qt) and the log-path redaction."""
from __future__ import annotations

import json
import logging
import os
import stat
from datetime import datetime, timezone

import pytest

from ra_desktop import audit, paths
from ra_desktop.logsafe import RedactPaths, redact


def test_events_are_json_lines_with_who_what_when(monkeypatch):
    monkeypatch.setattr(audit, "os_user", lambda: "jdoe-login")
    before = datetime.now(timezone.utc)
    e1 = audit.record(audit.OPENED, "1.2.3", reader="Dr A")
    audit.record(audit.ANALYSED, "1.2.3", reader="Dr A", model="m 1.0", model_sha256="abc")
    audit.record(audit.SIGNED, "1.2.3", reader="Dr A", verdict="agree")
    path = paths.user_data_dir() / "audit.jsonl"
    assert audit.audit_path() == path
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and json.loads(lines[0]) == e1
    events = [json.loads(ln) for ln in lines]
    assert [e["action"] for e in events] == ["opened", "analysed", "signed"]
    assert all(e["os_user"] == "jdoe-login" and e["reader"] == "Dr A" and e["case_id"] == "1.2.3" for e in events)
    when = datetime.fromisoformat(events[0]["time_utc"])
    assert when.utcoffset().total_seconds() == 0 and when >= before.replace(microsecond=0)
    assert events[1]["model"] == "m 1.0" and "model" not in events[0] and events[2]["verdict"] == "agree"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600  # patient-related: private to the user
    with pytest.raises(ValueError):
        audit.record("deleted", "1.2.3")


def test_append_only_and_fsynced_per_event(monkeypatch):
    audit.record(audit.OPENED, "a")
    path = audit.audit_path()
    first = path.read_bytes()
    with open(path, "ab") as fh:  # another process appending between two events
        fh.write(b'{"action": "opened", "case_id": "other"}\n')
    synced = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    audit.record(audit.EXPORTED, "a")
    audit.record(audit.EXPORTED, "b")
    assert len(synced) == 2  # each line is on disk before record() returns
    data = path.read_bytes()
    assert data.startswith(first)  # earlier lines are never rewritten
    assert [e["case_id"] for e in audit.read_events()] == ["a", "other", "a", "b"]


def test_torn_last_line_is_skipped_when_reading():
    audit.record(audit.OPENED, "a")
    with open(audit.audit_path(), "ab") as fh:
        fh.write(b'{"time_utc": "2026-')  # a crash in the middle of a write
    assert [e["case_id"] for e in audit.read_events()] == ["a"]


def test_unwritable_audit_log_is_logged_not_raised(tmp_path, caplog):
    target = tmp_path / "no-such-folder" / "audit.jsonl"
    with caplog.at_level(logging.ERROR, logger="ra_desktop.audit"):
        assert audit.record(audit.SIGNED, "x", path=target) is None
    assert "audit log" in caplog.text and "signed" in caplog.text


def test_model_label():
    class M:
        name, version = "ra-vgg8-phantom", "1.0.0"

    assert audit.model_label(M()) == "ra-vgg8-phantom 1.0.0" and audit.model_label(None) is None


def test_redact_hashes_foreign_paths_keeps_own_and_plain_text():
    own = str(paths.install_root() / "ra_desktop" / "io" / "loader.py")
    text = (f'File "{own}", line 3\nreading /scans/Doe_Jane/hand.dcm failed; '
            "No such file: '/scans/Jane Doe/x.dcm' C:\\Users\\Doe\\y.dcm\n3/4 of http://host/a/b")
    out = redact(text)
    assert own in out and "Doe" not in out and "Jane" not in out
    assert out.count("<path:") == 3 and "3/4" in out and "http://host/a/b" in out
    # The key is the documented construction, so a worklist row can be matched by hand: the first
    # 8 hex digits of the path's SHA-256, checked with `printf '%s' PATH | sha256sum`, not with this code.
    assert redact("/scans/Doe_Jane/hand.dcm") == "<path:e12564a4>"


def test_redact_filter_covers_arguments_and_tracebacks(tmp_path):
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactPaths())
    logger = logging.getLogger("test.redact")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        try:
            open("/scans/Doe_Jane/missing.dcm")
        except OSError:
            logger.exception("loading %s failed", "/scans/Doe_Jane/missing.dcm")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    assert len(records) == 1 and "FileNotFoundError" in records[0] and "<path:" in records[0]
    assert "Doe" not in records[0]


def test_paths_hashed_where_logged_by_type_apostrophes_urls_and_relative(tmp_path):
    """The three leaks found in review: an apostrophe, a file:// URL, a relative path."""
    from pathlib import Path

    from ra_desktop.errors import ImageLoadError

    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    handler = Keep()
    handler.addFilter(RedactPaths())
    logger = logging.getLogger("test.redact.typed")
    logger.addHandler(handler)
    logger.propagate = False
    absolute = Path("/scans/O'Brien_John/hand.dcm")
    relative = Path("scans/O'Brien_John/hand.dcm")
    try:
        logger.warning("reading %s failed", absolute)
        logger.warning("reading %s failed", relative)
        logger.warning("inline: /scans/O'Brien_John/hand.dcm and '/scans/O'Brien_John/x.dcm'")
        logger.warning("dropped %s", "file:///scans/O'Brien_John/hand.dcm")
        logger.error("failed: %s", ImageLoadError(relative, "DICOM file is truncated"))
        try:
            try:
                raise ImageLoadError(relative, "not a readable image")
            except ImageLoadError as exc:
                raise RuntimeError("analysis failed") from exc
        except RuntimeError:
            logger.exception("unexpected")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = "\n".join(records)
    assert "Brien" not in text and "O'" not in text, text
    # Known answers (sha256sum of the path, as above), not the code's own key function.
    assert "<path:b7c77d6b>" in text and "<path:30ff0110>" in text  # relative, absolute
    assert "DICOM file is truncated" in text and "not a readable image" in text  # reasons kept
