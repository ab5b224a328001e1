"""Keep patient data out of the log file: file paths are replaced by a short hash. No Qt.

Logs name cases by case id. Folders and file names of radiographs often carry the patient's
name ("/scans/Doe_Jane/hand.dcm"), and exception messages quote them, so the app's log handler
gets :class:`RedactPaths`: every path outside the app's own folders (install and Python)
becomes ``<path:1a2b3c4d>`` (sha256 of the path, to match a worklist row by hand).

Paths are hashed where they are logged, by type: a ``Path`` argument, and the paths an
exception carries (``ImageLoadError.path``, ``OSError.filename``), in its message and its
traceback. Call sites pass the ``Path`` or the exception, never a formatted string. A pattern
pass over the finished text stays as a backstop for paths quoted by third-party messages; it
cannot recognise a relative path, which is why the typed pass comes first.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import sys
from pathlib import Path

from ra_desktop import paths

# A quoted path may hold spaces; an unquoted one runs on over spaces only while a later word
# still holds a separator ("/scans/Jane Doe/x.dcm" stays one path; "/x/model on cpu" ends at "on").
# A quoted path ends at a quote that is not followed by a letter ('/a/O'Brien/c' is one path).
_QUOTED = re.compile(r"""(")((?:[A-Za-z]:)?[\\/][^"\n]*)"|(')((?:[A-Za-z]:)?[\\/](?:[^'\n]|'(?=\w))*)'(?!\w)""")
# An apostrophe inside a name ("O'Brien") belongs to the path; one that closes a quote does not.
_PART = r"""(?:[^\s'"<>]|'(?=[\w]))"""
_BARE = re.compile(rf"""(?<![\w.:/\\<'])(?:[A-Za-z]:)?[\\/]{_PART}*(?:(?:[ \t]{_PART}+)*?[ \t]{_PART}*[\\/]{_PART}*)*""")
_FILE_URL = re.compile(r"""file:(?://)?[^\s"<>]+""", re.IGNORECASE)


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


def path_key(path: str | os.PathLike) -> str:
    text = os.fspath(path)
    text = text.decode("utf-8", "surrogateescape") if isinstance(text, bytes) else text
    return "<path:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8] + ">"


def carried_paths(exc: BaseException | None) -> list[str]:
    """The paths an exception and its causes carry as attributes, longest first."""
    found: set[str] = set()
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        for attr in ("path", "filename", "filename2"):
            value = getattr(exc, attr, None)
            if isinstance(value, (str, os.PathLike)) and os.fspath(value):
                found.add(str(os.fspath(value)))
        exc = exc.__cause__ or exc.__context__
    return sorted(found, key=len, reverse=True)


def hash_paths(text: str, paths_: list[str], keep: tuple[str, ...] = ()) -> str:
    """``text`` with each of ``paths_`` (unless under ``keep``) replaced by its key."""
    for p in paths_:
        if not _kept(p, keep):
            text = text.replace(p, path_key(p))
    return text


def loggable(value: object, keep: tuple[str, ...] = ()) -> object:
    """A log argument as it may be written: a path hashed, an exception without its paths."""
    if isinstance(value, os.PathLike):
        p = os.fspath(value)
        return p if _kept(str(p), keep) else path_key(p)
    if isinstance(value, BaseException):
        return hash_paths(str(value), carried_paths(value), keep)
    return value


def _kept(p: str, keep: tuple[str, ...]) -> bool:
    return any(p == k or p.startswith(k + "/") or p.startswith(k + "\\") for k in keep)


def redact(text: str, keep: tuple[str, ...] | None = None) -> str:
    """``text`` with every path not under ``keep`` (default: the app's own folders) hashed."""
    keep = _own_folders() if keep is None else keep

    def sub(p: str) -> str:
        return p if _kept(p, keep) else path_key(p)

    text = _FILE_URL.sub(lambda m: path_key(m.group(0)), text)
    text = _QUOTED.sub(lambda m: (q := m.group(1) or m.group(3)) + sub(m.group(2) or m.group(4)) + q, text)
    return _BARE.sub(lambda m: sub(m.group(0)), text)


class RedactPaths(logging.Filter):
    """Handler filter: the message, exception text and stack are redacted before formatting."""

    def __init__(self) -> None:
        super().__init__()
        self._fmt = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        keep = _own_folders()  # evaluated per record: cheap, and follows RA_DESKTOP_HOME in tests
        if isinstance(record.args, tuple):
            record.args = tuple(loggable(a, keep) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: loggable(v, keep) for k, v in record.args.items()}
        try:
            record.msg, record.args = redact(record.getMessage(), keep), None
        except Exception:  # noqa: BLE001 - a bad format string must not hide the record
            record.msg, record.args = redact(str(record.msg), keep), None
        if record.exc_info and not record.exc_text:
            record.exc_text = hash_paths(self._fmt.formatException(record.exc_info),
                                         carried_paths(record.exc_info[1]), keep)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, keep)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, keep)
        return True


# Libraries whose messages quote a file's text: pydicom its header values ("Invalid value for VR
# CS: 'Jane Doe MRN 123'"), fpdf2 and fontTools the glyphs of a report (patient names).
QUOTING_LIBRARIES = ("pydicom", "fpdf", "fontTools")


class WithholdLibraryText(logging.Filter):
    """Handler filter: a record from a :data:`QUOTING_LIBRARIES` logger keeps its level and
    logger name, but its text (message, exception, stack) is withheld: even ERRORs quote values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.name.split(".")[0] in QUOTING_LIBRARIES:
            record.msg, record.args = "message withheld (it may quote a file's header or text)", None
            record.exc_info = record.exc_text = record.stack_info = None
        return True
