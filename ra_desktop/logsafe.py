"""Keep patient data out of the log file: file paths are replaced by a short hash. No Qt.

Logs name cases by case id. Folders and file names of radiographs often carry the patient's
name ("/scans/Doe_Jane/hand.dcm"), and exception messages quote them, so the app's log handler
gets :class:`RedactPaths`: every path outside the app's own folders (install and Python)
becomes ``<path:1a2b3c4d>`` (sha256 of the path, to match a worklist row by hand).
"""
from __future__ import annotations

import hashlib
import logging
import re
import sys
from pathlib import Path

from ra_desktop import paths

# A quoted path may hold spaces; an unquoted one runs on over spaces only while a later word
# still holds a separator ("/scans/Jane Doe/x.dcm" stays one path; "/x/model on cpu" ends at "on").
_QUOTED = re.compile(r"""(['"])((?:[A-Za-z]:)?[\\/][^'"\n]*)\1""")
_BARE = re.compile(r"""(?<![\w.:/\\<])(?:[A-Za-z]:)?[\\/][^\s'"<>]*(?:(?:[ \t][^\s'"<>]+)*?[ \t][^\s'"<>]*[\\/][^\s'"<>]*)*""")


def _own_folders() -> tuple[str, ...]:
    roots = {paths.install_root(), Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix)}
    out = []
    for r in roots:
        out.append(str(r))
        try:
            out.append(str(r.resolve()))
        except OSError:
            pass
    return tuple(sorted({p.rstrip("/\\") for p in out if len(p) > 1}))


def path_key(path: str) -> str:
    return "<path:" + hashlib.sha256(path.encode("utf-8", "surrogatepass")).hexdigest()[:8] + ">"


def redact(text: str, keep: tuple[str, ...] | None = None) -> str:
    """``text`` with every path not under ``keep`` (default: the app's own folders) hashed."""
    keep = _own_folders() if keep is None else keep

    def sub(p: str) -> str:
        if any(p == k or p.startswith(k + "/") or p.startswith(k + "\\") for k in keep):
            return p
        return path_key(p)

    text = _QUOTED.sub(lambda m: m.group(1) + sub(m.group(2)) + m.group(1), text)
    return _BARE.sub(lambda m: sub(m.group(0)), text)


class RedactPaths(logging.Filter):
    """Handler filter: the message, exception text and stack are redacted before formatting."""

    def __init__(self) -> None:
        super().__init__()
        self._fmt = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        keep = _own_folders()  # evaluated per record: cheap, and follows RA_DESKTOP_HOME in tests
        try:
            record.msg, record.args = redact(record.getMessage(), keep), None
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            record.msg, record.args = redact(str(record.msg), keep), None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._fmt.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, keep)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, keep)
        return True
