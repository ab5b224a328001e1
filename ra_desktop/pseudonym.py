"""Stable case pseudonyms for de-identified exports: ``ANON-`` + 20 hex of HMAC-SHA256. No Qt.

A case id is a DICOM SOP Instance UID (or a hash of the file), which the sending hospital can
trace back to the patient, so a de-identified report must not print it. The pseudonym is keyed
with a random secret made once per workstation (``pseudonym.key`` in the user data folder,
owner-only): the same case always gets the same pseudonym here, so a teacher can find it again,
but without the key nobody can recompute or reverse it, and another workstation gives another.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import tempfile
import threading
from pathlib import Path

from ra_desktop import paths
from ra_desktop.errors import RADesktopError

KEY_FILE = "pseudonym.key"
PREFIX = "ANON-"
# 80 bits: two of a million cases share a pseudonym with odds of 4e-13 (40 bits gave 45%).
DIGITS = 20
_KEY_BYTES = 32
_lock = threading.Lock()  # the GUI thread (audit) and the export lane may both ask first


class PseudonymKeyError(RADesktopError):
    """The workstation's pseudonym key exists but cannot be read or is damaged."""


def key_path() -> Path:
    return paths.user_data_dir() / KEY_FILE


def _read(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="ascii").strip()
        key = bytes.fromhex(text)
    except (OSError, ValueError) as exc:
        raise PseudonymKeyError(f"pseudonym key {path} unreadable: {exc}") from exc
    if len(key) != _KEY_BYTES:
        # Never silently replace it: a new key would give every case a new pseudonym.
        raise PseudonymKeyError(f"pseudonym key {path} is damaged ({len(key)} bytes, expected {_KEY_BYTES})")
    return key


def workstation_key(path: Path | None = None) -> bytes:
    """This workstation's secret, created (32 random bytes, mode 0600, atomically) on first use."""
    path = Path(path) if path else key_path()
    with _lock:
        if path.exists():
            return _read(path)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)  # 0600
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "w", encoding="ascii") as fh:
                fh.write(secrets.token_hex(_KEY_BYTES) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
            try:
                # A link claims the name only if it is free: a key another process made first wins,
                # so two exports starting together never end up with two keys.
                os.link(tmp, path)
            except FileExistsError:
                pass
            except OSError:  # no hard links on this file system
                if not path.exists():
                    os.replace(tmp, path)
        finally:
            if tmp.exists():
                tmp.unlink()
        return _read(path)


def pseudonym(case_id: str, key: bytes | None = None) -> str:
    """``ANON-`` + the first 20 hex digits (80 bits) of HMAC-SHA256(key, case id); key: the workstation's."""
    key = workstation_key() if key is None else key
    digest = hmac.new(key, str(case_id).encode("utf-8"), hashlib.sha256).hexdigest()
    return PREFIX + digest[:DIGITS]
