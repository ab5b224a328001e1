"""Report file names and atomic, never-overwriting writes.

A report must never replace another study's report (SAFETY: results shown for the wrong
patient), and a failed or cancelled export must leave no half-written file behind.
"""
from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def sanitise(text: str, max_len: int = 64) -> str:
    """A file-name-safe form of ``text`` (letters, digits, ``.``, ``_``, ``-``)."""
    clean = _UNSAFE.sub("-", text).strip("-.") or "case"
    return clean[:max_len].rstrip("-.")


def report_name(case_id: str, date: str, prefix: str = "RA-report", suffix: str = ".pdf") -> str:
    """``RA-report_<case-id>_<YYYYMMDD>.pdf`` with the case id made safe for any file system."""
    return f"{prefix}_{sanitise(case_id)}_{sanitise(date, 16)}{suffix}"


def _candidates(path: Path):
    yield path
    n = 2
    while True:
        yield path.with_name(f"{path.stem}_{n}{path.suffix}")
        n += 1


def write_atomic(path: str | Path, write: Callable[[BinaryIO], None], overwrite: bool = False) -> Path:
    """Write a file through a temporary file in the same folder, then move it into place.

    Parameters
    ----------
    path : path
        Wanted file name. Unless ``overwrite``, an existing file is never replaced: the name
        gets ``_2``, ``_3``... instead.
    write : callable
        Called with the open temporary file; may raise (then nothing is left behind).
    overwrite : bool
        Replace ``path`` if it exists (used for the batch summary of the same run).

    Returns
    -------
    Path
        The name actually written.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".part", dir=path.parent)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); a report is an ordinary document, shared like one.
        os.chmod(tmp, 0o644)
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
            return path
        for candidate in _candidates(path):
            try:
                # A hard link claims the name atomically and fails if it exists, so two exports
                # racing for the same name cannot overwrite each other.
                os.link(tmp, candidate)
            except FileExistsError:
                continue
            except OSError:
                # File systems without hard links (FAT, some network shares): check, then replace.
                if candidate.exists():
                    continue
                os.replace(tmp, candidate)
                return candidate
            tmp.unlink()
            return candidate
        raise AssertionError("unreachable")  # pragma: no cover - _candidates is infinite
    finally:
        if tmp.exists():
            tmp.unlink()
