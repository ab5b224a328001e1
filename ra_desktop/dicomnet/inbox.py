"""Received DICOM instances, written atomically into the user data folder. No Qt, no sockets.

Layout: ``user_data_dir()/received/<StudyInstanceUID>/<SOPInstanceUID>.dcm``, folders 0700 and
files 0600 (patient data). Only a valid DICOM UID (digits and dots, at most 64 characters,
``_header_limits.is_valid_uid``) ever becomes a file or folder name, so a hostile UID cannot
make a path; a study without a valid Study Instance UID goes to ``received/unknown-study/``.

What happens to one instance (:meth:`Inbox.receive`):

1. Refused before anything is written: more bytes than ``max_bytes`` (0xA700, out of
   resources) or a SOP Instance UID that is not a valid UID (0xC000, cannot understand).
2. Already here (same SOP Instance UID; the same bytes, or the same pixels and shown header
   values in another transfer syntax): nothing is written and the status is **success**, as PACS
   answer a resend. Other content under a UID already here is a sender's error, but nothing may
   be lost: that instance is stored beside the first as
   ``<SOPInstanceUID>.sha256-<16 hex of its bytes>.dcm`` (never a valid UID, so the first copy stays
   the one its UID names), logged, and answered **success**; the worklist gives it a ``conflict:``
   case id (``WorklistStore._unless_conflicting``). Its own resend is a duplicate of that copy.
3. Otherwise the bytes go to a temporary file in ``received/.incoming/`` (same file system:
   the final rename is atomic), are fsync'd, and the **hardened loader** reads that file. A file
   the loader refuses is deleted and the sender gets 0xC000 with the loader's reason: the
   reader could not open it either, and the modality's operator sees the failure and can resend
   or call IT. Nothing that fails is kept, nothing half-written is ever visible.
4. Accepted: ``os.replace`` into its study folder (then the folder is fsync'd) and a
   :class:`~ra_desktop.worklist.NewCase` is returned for the worklist.

The dataset's own SOP Instance UID must equal the one the C-STORE request announced (PS3.4
requires it; the file is named and deduplicated by it).
"""
from __future__ import annotations

import filecmp
import hashlib
import io
import logging
import os
import threading
import uuid
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from ra_desktop import paths
from ra_desktop.errors import ImageLoadError
from ra_desktop.io import load_radiograph
from ra_desktop.io._common import MAX_FILE_BYTES
from ra_desktop.io._header_limits import MAX_ELEMENTS, element_budget, is_valid_uid
from ra_desktop.worklist.describe import case_from_radiograph, describe
from ra_desktop.worklist.store import NewCase, WorklistStore

log = logging.getLogger(__name__)

# C-STORE statuses (PS3.4 B.2.3) this receiver answers with.
SUCCESS = 0x0000
OUT_OF_RESOURCES = 0xA700  # too large, disk full
CANNOT_UNDERSTAND = 0xC000  # malformed, refused by the loader, bad or mismatched UID

# The loader reads at most this many bytes of one file: a larger dataset could never be opened.
MAX_DATASET_BYTES = MAX_FILE_BYTES
UNKNOWN_STUDY = "unknown-study"
_INCOMING = ".incoming"
_PART = ".part"


@dataclass(frozen=True)
class Received:
    """The outcome of one C-STORE, for the sender (``status``), the log and the worklist.

    ``case`` is the worklist entry of a newly stored instance (None for a duplicate or a failure);
    ``row_id`` is filled in by :func:`add_to_worklist` (None when the worklist already had it).
    Holds no pixels; ``reason`` never quotes a path.
    """

    status: int
    sop_instance_uid: str | None = None
    study_instance_uid: str | None = None
    path: Path | None = None
    case: NewCase | None = field(default=None, repr=False)  # names and IDs: not in reprs or logs
    duplicate: bool = False
    reason: str | None = None
    nbytes: int = 0
    calling_ae: str = ""
    row_id: int | None = None

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS

    @property
    def stored(self) -> bool:
        """A new file was written by this call (not a duplicate, not a failure)."""
        return self.ok and not self.duplicate


def received_dir() -> Path:
    return paths.user_data_dir() / "received"


class Inbox:
    """Writes received instances; safe to call from several association threads at once."""

    def __init__(self, root: str | Path | None = None, *, max_bytes: int = MAX_DATASET_BYTES) -> None:
        self.root = paths.private_dir(Path(root) if root else received_dir())
        self.max_bytes = int(max_bytes)
        self._incoming = paths.private_dir(self.root / _INCOMING)
        self._lock = threading.Lock()
        self._index: dict[str, Path] | None = None
        for stale in self._incoming.glob("*" + _PART):  # left by a crash mid-write: never visible
            stale.unlink(missing_ok=True)

    # ---- looking up --------------------------------------------------------------------------
    def find(self, sop_instance_uid: str) -> Path | None:
        """The stored file of this SOP Instance UID, or None."""
        with self._lock:
            return self._find_locked(sop_instance_uid)

    def _find_locked(self, sop: str) -> Path | None:
        if self._index is None:
            self._index = {}
            for f in self.root.glob("*/*.dcm"):
                if f.parent.name != _INCOMING and is_valid_uid(f.stem):
                    self._index[f.stem] = f
        hit = self._index.get(sop)
        if hit is not None and not hit.is_file():  # removed by hand since
            del self._index[sop]
            hit = None
        return hit

    def path_for(self, study_uid: str | None, sop_uid: str, variant: str | None = None) -> Path:
        """``variant``: the content digest of a different instance sent under a UID already here."""
        if not is_valid_uid(sop_uid):
            raise ValueError("not a valid SOP Instance UID")
        study = study_uid if study_uid and is_valid_uid(study_uid) else UNKNOWN_STUDY
        return self.root / study / (f"{sop_uid}.sha256-{variant}.dcm" if variant else f"{sop_uid}.dcm")

    # ---- receiving ---------------------------------------------------------------------------
    def receive(self, parts: bytes | Iterable[bytes | memoryview], sop_instance_uid: str | None, *,
                calling_ae: str = "") -> Received:
        """Store one encoded instance: ``parts`` are the DICOM file's bytes (preamble, ``DICM``,
        file meta, dataset) in order. ``sop_instance_uid`` is the one the request announced.

        Never raises for bad input: the returned :class:`Received` carries the status for the
        sender and the reason.
        """
        chunks = [parts] if isinstance(parts, (bytes, bytearray, memoryview)) else list(parts)
        nbytes = sum(len(c) for c in chunks)
        sop = str(sop_instance_uid or "").strip().rstrip("\0")
        base = Received(status=SUCCESS, nbytes=nbytes, calling_ae=calling_ae)
        if nbytes > self.max_bytes:
            return self._fail(base, OUT_OF_RESOURCES, f"dataset is {nbytes / 1e6:.0f} MB, more than the "
                              f"{self.max_bytes / 1e6:.0f} MB limit for one radiograph")
        if not is_valid_uid(sop):
            return self._fail(base, CANNOT_UNDERSTAND, "SOP Instance UID is not a valid DICOM UID")
        base = replace(base, sop_instance_uid=sop)
        existing = self.find(sop)
        if existing is not None and _same_bytes(existing, chunks, nbytes):
            return replace(base, duplicate=True, path=existing)

        tmp = self._incoming / f"{uuid.uuid4().hex}{_PART}"
        try:
            try:
                fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_BINARY", 0), 0o600)
                with os.fdopen(fd, "wb") as fh:
                    for c in chunks:
                        fh.write(c)
                    fh.flush()
                    os.fsync(fh.fileno())
            except OSError as exc:
                return self._fail(base, OUT_OF_RESOURCES, f"could not write the instance: {exc.strerror or exc}")
            del chunks

            try:
                r = load_radiograph(tmp)
            except ImageLoadError as exc:
                return self._fail(base, CANNOT_UNDERSTAND, exc.reason)
            if r.case_id != sop:
                return self._fail(base, CANNOT_UNDERSTAND, "the dataset's SOP Instance UID differs from the "
                                  "one in the C-STORE request (or is missing)")
            study = _study_uid(tmp)
            base = replace(base, study_instance_uid=study)
            final = self.path_for(study, sop)
            with self._lock:
                existing = self._find_locked(sop) or (final if final.is_file() else None)
                if existing is not None:
                    if _same_image(existing, tmp, r):  # a resend, maybe in another transfer syntax
                        return replace(base, duplicate=True, path=existing)
                    final = self.path_for(study, sop, variant=_digest(tmp))
                    if final.is_file():  # named by its bytes: this different copy is here already
                        return replace(base, duplicate=True, path=final)
                    log.warning("instance %s received again with different content (from %s): kept "
                                "beside the first as %s", sop, calling_ae or "-", final.name)
                paths.private_dir(final.parent)
                os.replace(tmp, final)
                _fsync_dir(final.parent)
                if existing is None:
                    assert self._index is not None
                    self._index[sop] = final
            return replace(base, path=final, case=case_from_radiograph(r, final))
        except OSError as exc:
            return self._fail(base, OUT_OF_RESOURCES, f"could not store the instance: {exc.strerror or exc}")
        finally:
            tmp.unlink(missing_ok=True)

    def receive_dataset(self, ds, *, calling_ae: str = "") -> Received:
        """Store a pydicom ``Dataset`` (with its ``file_meta``; the transfer syntax decides the
        encoding). For callers that already decoded it (C-GET, tests)."""
        from pydicom import dcmwrite

        buf = io.BytesIO()
        try:
            dcmwrite(buf, ds, enforce_file_format=True)
        except Exception as exc:  # noqa: BLE001 - a dataset pydicom cannot encode is malformed
            return self._fail(Received(status=SUCCESS, calling_ae=calling_ae), CANNOT_UNDERSTAND,
                              f"dataset cannot be encoded ({type(exc).__name__})")
        return self.receive(buf.getbuffer(), str(getattr(ds, "SOPInstanceUID", "") or ""), calling_ae=calling_ae)

    # ---- outcomes ----------------------------------------------------------------------------
    @staticmethod
    def _fail(base: Received, status: int, reason: str) -> Received:
        log.warning("refused a received instance (SOP Instance UID %s, %d bytes, from %s): status 0x%04X, %s",
                    base.sop_instance_uid or "-", base.nbytes, base.calling_ae or "-", status, reason)
        return replace(base, status=status, reason=reason)

def _study_uid(path: Path) -> str | None:
    """The Study Instance UID of a file the loader already accepted, or None when not valid."""
    import pydicom

    try:
        with warnings.catch_warnings(), element_budget(MAX_ELEMENTS):
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["StudyInstanceUID"])
            uid = str(ds.get("StudyInstanceUID") or "").strip().rstrip("\0")
    except Exception:  # noqa: BLE001 - the loader read it; a study UID it cannot give is "unknown"
        return None
    return uid if is_valid_uid(uid) else None


def _same_bytes(path: Path, chunks: list, nbytes: int) -> bool:
    try:
        return path.stat().st_size == nbytes and path.read_bytes() == b"".join(chunks)
    except OSError:
        return False


# What the reader sees and the app measures: equal in both copies, they are the same image.
_SHOWN = ("patient_id", "patient_name", "patient_birth_date", "study_date", "laterality",
          "view_position", "body_part", "pixel_spacing_mm", "photometric")


def _same_image(earlier: Path, new: Path, new_image) -> bool:
    """The same bytes, or the same pixels and shown header values in another encoding."""
    try:
        if filecmp.cmp(earlier, new, shallow=False):
            return True
        first = load_radiograph(earlier)
    except (OSError, ImageLoadError):
        return False  # the first copy cannot be compared: keep the new one too
    return (all(getattr(first, k) == getattr(new_image, k) for k in _SHOWN)
            and first.pixels.dtype == new_image.pixels.dtype
            and np.array_equal(first.pixels, new_image.pixels))


def _digest(path: Path) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()[:16]


def _fsync_dir(folder: Path) -> None:
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def add_to_worklist(store: WorklistStore, received: Received) -> Received:
    """Add a received instance to the worklist (from any thread: the store gives each thread its own
    connection). A duplicate whose file is not in the worklist (its row was removed, or the app
    stopped between the two steps) is added again; one already there is not. Returns ``received``
    with ``row_id`` set when a row was added."""
    case = received.case
    if case is None and received.ok and received.path is not None:
        if str(received.path) in store.known_paths():
            return received
        case = describe(received.path)
    if case is None:
        return received
    try:
        ids = store.add_cases([case])
    finally:
        store.close()  # this thread's connection: association threads come and go
    return replace(received, case=case, row_id=ids[0] if ids else None)
