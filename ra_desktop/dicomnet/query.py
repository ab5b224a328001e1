"""Query SCU: C-FIND at study level (Study Root); retrieval is in :mod:`ra_desktop.dicomnet.retrieve`.

Qt-free and blocking: the GUI runs these in a worker thread and passes a
:class:`~ra_desktop.cancel.CancelToken` (the Cancel button) and a progress callback (called in
that worker thread; a GUI emits a signal from it). On cancel a C-CANCEL is sent; if the node
keeps going :data:`~ra_desktop.dicomnet.nodes.CANCEL_GRACE_S` seconds later the association is
aborted, so cancel always returns promptly.

* :func:`find_studies` - the query dialog: patient ID / name (``*`` and ``?`` wildcards), study
  date range, modality; returns at most ``max_matches`` :class:`StudyMatch` (``.truncated`` says
  when the node had more). Header text is cleaned and shortened (:mod:`ra_desktop.textsafe`).
* :func:`find_priors` - "Get priors": the patient's earlier hand studies (CR/DX, body part HAND
  where the series say one), newest first.
"""
from __future__ import annotations

import datetime as _dt
import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled
from ra_desktop.dicomnet.nodes import (
    DEFAULT_TIMEOUT_S, CancelWatch, DicomNetError, RemoteNode, associate, lost_reason, make_ae,
)
from ra_desktop.textsafe import clean, shorten

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

log = logging.getLogger(__name__)

#: Most study matches one query returns; the node's further matches are cancelled.
MAX_MATCHES = 500
TEXT_LIMIT = 64          # LO and PN component lengths (PS3.5)
NAME_LIMIT = 128
_MSG_ID = 1

_UID = re.compile(r"[0-9]+(\.[0-9]+)*")
_MODALITY = re.compile(r"[A-Z0-9_]{1,16}")
_QUERY_TEXT_BANNED = re.compile(r"[\\\x00-\x1f\x7f]")
HAND_MODALITIES = ("CR", "DX")


def is_valid_uid(uid: str) -> bool:
    """A DICOM UID: digits in dot-separated components, at most 64 characters."""
    return len(uid) <= 64 and _UID.fullmatch(uid) is not None


# ---- C-FIND ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyMatch:
    """One study a node found. Text is cleaned (no control characters) and shortened."""

    study_uid: str
    patient_id: str = ""
    patient_name: str = ""
    study_date: str = ""          # YYYYMMDD as the node gave it ("" when absent or malformed)
    study_time: str = ""
    description: str = ""
    accession_number: str = ""
    modalities: tuple[str, ...] = ()
    num_instances: int | None = None

    @property
    def date(self) -> _dt.date | None:
        try:
            return _dt.datetime.strptime(self.study_date, "%Y%m%d").date()
        except ValueError:
            return None

    def to_dict(self) -> dict[str, Any]:
        return {"study_uid": self.study_uid, "patient_id": self.patient_id, "patient_name": self.patient_name,
                "study_date": self.study_date, "study_time": self.study_time, "description": self.description,
                "accession_number": self.accession_number, "modalities": list(self.modalities),
                "num_instances": self.num_instances}


class StudyMatches(list):
    """A list of :class:`StudyMatch`; ``truncated`` is True when the node had more than the cap."""

    truncated: bool = False


def _date_text(value: _dt.date | str | None, what: str) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, _dt.datetime):
        value = value.date()
    if isinstance(value, _dt.date):
        return value.strftime("%Y%m%d")
    text = str(value).strip().replace("-", "")
    try:
        _dt.datetime.strptime(text, "%Y%m%d")
    except ValueError:
        raise ValueError(f"{what} must be a date (YYYY-MM-DD or YYYYMMDD), not {value!r}") from None
    return text


def date_range(date_from: _dt.date | str | None, date_to: _dt.date | str | None) -> str:
    """A DICOM date range matching key: ``"FROM-TO"``, ``"FROM-"``, ``"-TO"`` or ``""`` (any)."""
    lo, hi = _date_text(date_from, "date from"), _date_text(date_to, "date to")
    if lo and hi and lo > hi:
        raise ValueError(f"date from ({lo}) is after date to ({hi})")
    if lo and hi and lo == hi:
        return lo
    return f"{lo}-{hi}" if (lo or hi) else ""


def _query_text(value: str, what: str, limit: int) -> str:
    value = (value or "").strip()
    if _QUERY_TEXT_BANNED.search(value):
        raise ValueError(f"{what} may not hold a backslash or control characters")
    if len(value) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    return value


def _safe(value: Any, limit: int = TEXT_LIMIT) -> str:
    if value is None:
        return ""
    return shorten(clean(str(value)).strip(), limit)


def _element(ds: "Dataset", keyword: str) -> Any:
    """A response element's value, or None when absent or undecodable (hostile peers)."""
    try:
        return ds.get(keyword)
    except Exception:  # noqa: BLE001 - a malformed value in a response is treated as absent
        return None


def _match_from(ds: "Dataset") -> StudyMatch | None:
    uid = _safe(_element(ds, "StudyInstanceUID")).rstrip("\0")
    if not is_valid_uid(uid):
        return None
    mods = _element(ds, "ModalitiesInStudy")
    if mods is None or mods == "":
        modalities: tuple[str, ...] = ()
    elif isinstance(mods, (list, tuple)) or type(mods).__name__ == "MultiValue":
        modalities = tuple(_safe(m, 16) for m in mods if str(m).strip())[:32]
    else:
        modalities = tuple(_safe(m, 16) for m in str(mods).split("\\") if m.strip())[:32]
    count = _element(ds, "NumberOfStudyRelatedInstances")
    try:
        num = int(count) if count not in (None, "") else None
    except (TypeError, ValueError):
        num = None
    date = _safe(_element(ds, "StudyDate"), 8)
    return StudyMatch(
        study_uid=uid,
        patient_id=_safe(_element(ds, "PatientID")),
        patient_name=_safe(_element(ds, "PatientName"), NAME_LIMIT),
        study_date=date if re.fullmatch(r"\d{8}", date) else "",
        study_time=_safe(_element(ds, "StudyTime"), 16),
        description=_safe(_element(ds, "StudyDescription")),
        accession_number=_safe(_element(ds, "AccessionNumber")),
        modalities=modalities,
        num_instances=num if num is None or num >= 0 else None,
    )


def _c_find(node: RemoteNode, identifier: "Dataset", *, calling_aet: str, timeout: float,
            cancel: CancelToken | None, max_results: int) -> tuple[list["Dataset"], bool]:
    """Run one Study Root C-FIND; (response identifiers, truncated). Raises DicomNetError."""
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelFind as FIND  # type: ignore

    ae = make_ae(calling_aet, timeout)
    ae.add_requested_context(FIND)
    results: list[Dataset] = []
    truncated = False
    with associate(node, ae, timeout=timeout) as assoc:
        watch = CancelWatch(cancel, assoc, lambda: assoc.send_c_cancel(_MSG_ID, query_model=FIND))
        with watch:
            final: int | None = None
            for status, ident in assoc.send_c_find(identifier, FIND, msg_id=_MSG_ID):
                if "Status" not in status:
                    raise DicomNetError(node, "C-FIND: " + lost_reason(assoc, timeout))
                code = int(status.Status)
                if code in (0xFF00, 0xFF01):
                    if watch.requested:
                        continue  # C-CANCEL sent: drop what still comes
                    if len(results) >= max_results:
                        truncated = True
                        watch.trigger()
                        continue
                    if ident is not None:
                        results.append(ident)
                    continue
                final = code
        if cancel is not None and cancel.cancelled:
            raise Cancelled("query cancelled")
        if final is None:
            raise DicomNetError(node, "C-FIND: " + lost_reason(assoc, timeout))
        if final not in (0x0000, 0xFE00):
            raise DicomNetError(node, f"C-FIND failed with status 0x{final:04X}")
    return results, truncated


def _study_identifier(**keys: Any) -> "Dataset":
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.SpecificCharacterSet = "ISO_IR 192"
    for keyword in ("PatientID", "PatientName", "StudyInstanceUID", "StudyDate", "StudyTime",
                    "StudyDescription", "AccessionNumber", "ModalitiesInStudy",
                    "NumberOfStudyRelatedInstances"):
        setattr(ds, keyword, keys.get(keyword, ""))
    return ds


def find_studies(node: RemoteNode, *, calling_aet: str, patient_id: str = "", patient_name: str = "",
                 date_from: _dt.date | str | None = None, date_to: _dt.date | str | None = None,
                 modality: str = "", max_matches: int = MAX_MATCHES, timeout: float = DEFAULT_TIMEOUT_S,
                 cancel: CancelToken | None = None) -> StudyMatches:
    """C-FIND at study level: the studies matching every given key (empty keys match anything).

    ``patient_id`` and ``patient_name`` may use ``*`` and ``?``; dates are inclusive; ``modality``
    (``"DX"``, ``"CR"``...) matches Modalities in Study. Raises ValueError for a bad key,
    :class:`DicomNetError` when the node cannot be asked or answers a failure, and
    :class:`~ra_desktop.errors.Cancelled` when ``cancel`` is set. Blocks: call from a worker thread.
    """
    modality = (modality or "").strip().upper()
    if modality and not _MODALITY.fullmatch(modality):
        raise ValueError(f"modality must be a DICOM modality code such as DX or CR, not {modality!r}")
    if max_matches < 1:
        raise ValueError("max_matches must be at least 1")
    ident = _study_identifier(
        PatientID=_query_text(patient_id, "patient ID", TEXT_LIMIT),
        PatientName=_query_text(patient_name, "patient name", NAME_LIMIT),
        StudyDate=date_range(date_from, date_to),
        ModalitiesInStudy=modality,
    )
    responses, truncated = _c_find(node, ident, calling_aet=calling_aet, timeout=timeout, cancel=cancel,
                                   max_results=max_matches)
    out = StudyMatches()
    seen: set[str] = set()
    for ds in responses:
        m = _match_from(ds)
        if m is None or m.study_uid in seen:
            continue
        seen.add(m.study_uid)
        out.append(m)
    out.truncated = truncated
    log.info("DICOM: C-FIND at %s: %d studies%s", node, len(out), " (more not shown)" if truncated else "")
    return out


def _series_of(node: RemoteNode, study_uid: str, *, calling_aet: str, timeout: float,
               cancel: CancelToken | None) -> list[tuple[str, str]]:
    """(modality, body part) of each series of a study (series-level C-FIND, Study Root)."""
    from pydicom.dataset import Dataset

    ident = Dataset()
    ident.QueryRetrieveLevel = "SERIES"
    ident.StudyInstanceUID = study_uid
    ident.SeriesInstanceUID = ""
    ident.Modality = ""
    ident.BodyPartExamined = ""
    responses, _ = _c_find(node, ident, calling_aet=calling_aet, timeout=timeout, cancel=cancel,
                           max_results=1000)
    return [(_safe(_element(ds, "Modality"), 16).upper(), _safe(_element(ds, "BodyPartExamined"), 16).upper())
            for ds in responses]


def _is_hand_study(series: list[tuple[str, str]], modalities: Sequence[str]) -> bool:
    """A study with a CR/DX series whose body part is HAND, or says none (where present)."""
    return any(mod in modalities and (not part or "HAND" in part) for mod, part in series)


def find_priors(node: RemoteNode, patient_id: str, before_study_date: _dt.date | str, *, calling_aet: str,
                exclude_study_uid: str = "", modalities: Sequence[str] = HAND_MODALITIES,
                max_matches: int = 50, timeout: float = DEFAULT_TIMEOUT_S,
                cancel: CancelToken | None = None) -> list[StudyMatch]:
    """The patient's hand studies from before ``before_study_date``, newest first ("Get priors").

    A study counts when it holds a series of one of ``modalities`` (CR, DX) whose Body Part
    Examined is HAND or empty (studies whose series all name another body part are left out).
    ``patient_id`` must be exact (no wildcards: priors of the wrong patient would be worse than
    none). Raises like :func:`find_studies`.
    """
    pid = _query_text(patient_id, "patient ID", TEXT_LIMIT)
    if not pid or any(ch in pid for ch in "*?"):
        raise ValueError("priors need the patient's exact ID (no wildcards)")
    before = _dt.datetime.strptime(_date_text(before_study_date, "study date"), "%Y%m%d").date()
    day_before = before - _dt.timedelta(days=1)
    candidates: dict[str, StudyMatch] = {}
    for modality in modalities:
        for m in find_studies(node, calling_aet=calling_aet, patient_id=pid, date_to=day_before,
                              modality=modality, max_matches=max_matches, timeout=timeout, cancel=cancel):
            # Nodes may match loosely (case, wildcards in stored IDs): keep only the exact patient.
            if m.patient_id == pid and m.study_uid != exclude_study_uid and m.date is not None and m.date < before:
                candidates.setdefault(m.study_uid, m)
    priors = []
    for m in candidates.values():
        series = _series_of(node, m.study_uid, calling_aet=calling_aet, timeout=timeout, cancel=cancel)
        if _is_hand_study(series, [x.upper() for x in modalities]):
            priors.append(m)
    priors.sort(key=lambda m: (m.study_date, m.study_time), reverse=True)
    return priors[:max_matches]
