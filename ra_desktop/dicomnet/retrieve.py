"""Retrieve SCU: C-GET into the listener's inbox, C-MOVE to an AE title (our own listener).

Qt-free and blocking, like :mod:`ra_desktop.dicomnet.query` (which finds the studies): a worker
thread calls these with a progress callback and a :class:`~ra_desktop.cancel.CancelToken`; on
cancel a C-CANCEL is sent, and the association is aborted if the node keeps going.

* :func:`get_studies` - C-GET into ``out_dir/<StudyInstanceUID>/<SOPInstanceUID>.dcm`` through
  the listener's :class:`~ra_desktop.dicomnet.inbox.Inbox` (the same storage as a C-STORE to
  our listener): written atomically, deduplicated by SOP Instance UID, checked by the hardened
  loader (an instance it cannot open, e.g. an SR or PDF, is refused and counted as failed).
* :func:`move_studies` - C-MOVE to a destination AE title (our own listener, which the caller
  has running and the node knows by that AE title).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from ra_desktop.cancel import CancelToken
from ra_desktop.dicomnet.nodes import (
    DEFAULT_TIMEOUT_S, CancelWatch, DicomNetError, Progress, ProgressCallback, RemoteNode, associate,
    lost_reason, make_ae,
)
from ra_desktop.dicomnet.query import is_valid_uid
from ra_desktop.settings import check_ae_title

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

    from ra_desktop.dicomnet.inbox import Inbox, Received

log = logging.getLogger(__name__)

#: Seconds allowed for each response during a retrieve (a large instance can take a while).
RETRIEVE_TIMEOUT_S = 60.0
_OUT_OF_RESOURCES = 0xA700  # our C-STORE answer during C-GET once cancelled


@dataclass
class RetrieveResult:
    """How the retrieval of one study ended."""

    study_uid: str
    completed: int = 0
    failed: int = 0
    warning: int = 0
    remaining: int | None = None
    cancelled: bool = False
    status: int | None = None        # the final C-GET/C-MOVE status, None without one
    error: str = ""                  # names the node and the reason; "" when none
    files: list[Path] = field(default_factory=list)  # C-GET: the study's files in out_dir
    duplicates: int = 0              # C-GET: instances that were already in out_dir
    refused: list[str] = field(default_factory=list)  # C-GET: why instances were refused (first 20)

    @property
    def ok(self) -> bool:
        return not self.cancelled and not self.error and self.failed == 0 and self.status in (0x0000, 0xB000)


def _storage_classes() -> list[str]:
    """SOP classes accepted during C-GET: what a hand study holds and what we send back."""
    from pydicom.uid import UID
    from pynetdicom import sop_class as sc

    names = [
        "ComputedRadiographyImageStorage", "DigitalXRayImageStorageForPresentation",
        "DigitalXRayImageStorageForProcessing", "SecondaryCaptureImageStorage",
        "MultiFrameGrayscaleByteSecondaryCaptureImageStorage", "MultiFrameGrayscaleWordSecondaryCaptureImageStorage",
        "MultiFrameTrueColorSecondaryCaptureImageStorage", "CTImageStorage", "MRImageStorage",
        "UltrasoundImageStorage", "UltrasoundMultiFrameImageStorage", "XRayAngiographicImageStorage",
        "XRayRadiofluoroscopicImageStorage", "NuclearMedicineImageStorage",
        "DigitalMammographyXRayImageStorageForPresentation", "BasicTextSRStorage", "EnhancedSRStorage",
        "ComprehensiveSRStorage", "KeyObjectSelectionDocumentStorage", "EncapsulatedPDFStorage",
        "GrayscaleSoftcopyPresentationStateStorage",
    ]
    return [UID(getattr(sc, n)) for n in names]


def _transfer_syntaxes() -> list[str]:
    from pydicom import uid

    return [uid.ExplicitVRLittleEndian, uid.ImplicitVRLittleEndian, uid.DeflatedExplicitVRLittleEndian,
            uid.JPEGBaseline8Bit, uid.JPEGExtended12Bit, uid.JPEGLosslessSV1, uid.JPEGLossless,
            uid.JPEGLSLossless, uid.JPEGLSNearLossless, uid.JPEG2000Lossless, uid.JPEG2000,
            uid.RLELossless, uid.ExplicitVRBigEndian]


def _retrieve_identifier(study_uid: str) -> "Dataset":
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.QueryRetrieveLevel = "STUDY"
    ds.StudyInstanceUID = study_uid
    return ds


def _check_uids(study_uids: Iterable[str]) -> list[str]:
    uids = [str(u).strip() for u in study_uids]
    bad = [u for u in uids if not is_valid_uid(u)]
    if bad:
        raise ValueError(f"not a valid Study Instance UID: {bad[0]!r}")
    return uids


def _sub_ops(status: "Dataset", key: str) -> int | None:
    value = status.get(f"NumberOf{key}Suboperations")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _run_retrieve(assoc: Any, node: RemoteNode, responses: Iterable[tuple["Dataset", Any]],
                  result: RetrieveResult, watch: CancelWatch, progress: ProgressCallback | None,
                  timeout: float, what: str, counted_locally: bool) -> None:
    """Follow C-GET/C-MOVE responses into ``result``; ``counted_locally``: C-GET counts stores itself."""
    for status, _ident in responses:
        if "Status" not in status:
            if watch.requested:
                result.cancelled = True
            else:
                result.error = f"DICOM node {node}: {what}: {lost_reason(assoc, timeout)}"
            return
        code = int(status.Status)
        remaining = _sub_ops(status, "Remaining")
        if not counted_locally:
            result.completed = _sub_ops(status, "Completed") or result.completed
            result.failed = _sub_ops(status, "Failed") or result.failed
            result.warning = _sub_ops(status, "Warning") or result.warning
        else:  # the node's own count of failures (e.g. a class we did not accept)
            result.failed = max(result.failed, _sub_ops(status, "Failed") or 0)
        result.remaining = remaining
        if code in (0xFF00, 0xFF01):
            if progress is not None:
                progress(Progress(result.completed, remaining, result.failed, result.warning, result.study_uid))
            continue
        result.status = code
        if code == 0x0000:
            result.remaining = 0
        if code == 0xFE00 or watch.requested:  # cancelled, or ended (we refused the rest) before the C-CANCEL
            result.cancelled = True
        elif code not in (0x0000, 0xB000):
            result.error = f"DICOM node {node}: {what} ended with status 0x{code:04X}"
            if code == 0xA801:
                result.error += " (move destination unknown to the node)"
        if progress is not None:
            progress(Progress(result.completed, 0 if code == 0 else remaining, result.failed, result.warning,
                              result.study_uid))
        return
    if watch.requested:
        result.cancelled = True


def get_studies(node: RemoteNode, study_uids: Sequence[str], out_dir: "str | Path | Inbox", *, calling_aet: str,
                progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                on_received: "Callable[[Received], None] | None" = None,
                timeout: float = DEFAULT_TIMEOUT_S, retrieve_timeout: float = RETRIEVE_TIMEOUT_S
                ) -> list[RetrieveResult]:
    """C-GET each study (one association) into ``out_dir/<StudyInstanceUID>/<SOPInstanceUID>.dcm``.

    ``out_dir`` is a folder or an :class:`~ra_desktop.dicomnet.inbox.Inbox` (the app's received
    folder: pass the listener's inbox so retrieved studies land where pushed ones do).
    ``on_received(Received)`` is called for each instance (stored, duplicate or refused), e.g.
    to add it to the worklist with :func:`~ra_desktop.dicomnet.inbox.add_to_worklist`.
    ``progress`` is called in this thread after each instance and each pending response.
    Returns one :class:`RetrieveResult` per study (a cancelled one and those after it say
    ``cancelled``). Raises :class:`DicomNetError` only when no association can be made.
    """
    from pynetdicom import build_role, evt
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelGet as GET  # type: ignore
    from ra_desktop.dicomnet.inbox import Inbox  # lazy, like pynetdicom: pydicom loads only when a C-GET runs

    uids = _check_uids(study_uids)
    inbox = out_dir if isinstance(out_dir, Inbox) else Inbox(Path(out_dir))
    ae = make_ae(calling_aet, timeout, dimse_timeout=retrieve_timeout)
    ae.add_requested_context(GET)
    classes = _storage_classes()
    for cls in classes:
        ae.add_requested_context(cls, _transfer_syntaxes())
    roles = [build_role(cls, scp_role=True) for cls in classes]
    results = [RetrieveResult(u) for u in uids]
    state: dict[str, Any] = {"current": None, "watch": None}

    def on_store(event: Any) -> int:
        result: RetrieveResult | None = state["current"]
        watch: CancelWatch | None = state["watch"]
        if result is None or (watch is not None and watch.requested):
            return _OUT_OF_RESOURCES  # cancelled: take nothing more
        sop = str(event.request.AffectedSOPInstanceUID or "").strip().rstrip("\0")
        received = inbox.receive(event.encoded_dataset(), sop, calling_ae=node.ae_title)
        if on_received is not None:
            on_received(received)
        if not received.ok:
            result.failed += 1
            if len(result.refused) < 20:
                result.refused.append(received.reason or f"status 0x{received.status:04X}")
            if progress is not None:
                progress(Progress(result.completed, None, result.failed, result.warning, result.study_uid))
            return received.status
        if received.path is not None and received.path not in result.files:
            result.files.append(received.path)
        result.completed += 1
        result.duplicates += int(received.duplicate)
        if progress is not None:
            remaining = None if result.remaining is None else max(result.remaining - 1, 0)
            progress(Progress(result.completed, remaining, result.failed, result.warning, result.study_uid))
        return 0x0000

    with associate(node, ae, timeout=timeout, ext_neg=roles, evt_handlers=[(evt.EVT_C_STORE, on_store)]) as assoc:
        for i, result in enumerate(results):
            if cancel is not None and cancel.cancelled:
                for r in results[i:]:
                    r.cancelled = True
                break
            state["current"] = result
            msg_id = i + 1  # its own message ID: a late C-CANCEL never hits the next study
            watch = CancelWatch(cancel, assoc, lambda: assoc.send_c_cancel(msg_id, query_model=GET))
            state["watch"] = watch
            with watch:
                responses = assoc.send_c_get(_retrieve_identifier(result.study_uid), GET, msg_id=msg_id)
                _run_retrieve(assoc, node, responses, result, watch, progress, retrieve_timeout, "C-GET",
                              counted_locally=True)
            result.files.sort()
            log.info("DICOM: C-GET %s from %s: %d stored (%d already there), %d failed%s", result.study_uid, node,
                     result.completed, result.duplicates, result.failed, ", cancelled" if result.cancelled else "")
            if not assoc.is_established:
                for r in results[i + 1:]:
                    r.cancelled = result.cancelled
                    r.error = "" if result.cancelled else f"DICOM node {node}: the association ended early"
                break
            state["current"] = None
    return results


def move_studies(node: RemoteNode, study_uids: Sequence[str], dest_aet: str, *, calling_aet: str,
                 progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
                 timeout: float = DEFAULT_TIMEOUT_S, retrieve_timeout: float = RETRIEVE_TIMEOUT_S
                 ) -> list[RetrieveResult]:
    """C-MOVE each study (one association) to ``dest_aet``, which the node must know (host and
    port in its configuration) and which must be listening, e.g. our own store SCP.

    Counts come from the node's responses; the instances arrive at the destination, not here.
    """
    from pynetdicom.sop_class import StudyRootQueryRetrieveInformationModelMove as MOVE  # type: ignore

    dest = check_ae_title(dest_aet)
    uids = _check_uids(study_uids)
    ae = make_ae(calling_aet, timeout, dimse_timeout=retrieve_timeout)
    ae.add_requested_context(MOVE)
    results = [RetrieveResult(u) for u in uids]
    with associate(node, ae, timeout=timeout) as assoc:
        for i, result in enumerate(results):
            if cancel is not None and cancel.cancelled:
                for r in results[i:]:
                    r.cancelled = True
                break
            msg_id = i + 1  # its own message ID: a late C-CANCEL never hits the next study
            watch = CancelWatch(cancel, assoc, lambda: assoc.send_c_cancel(msg_id, query_model=MOVE))
            with watch:
                responses = assoc.send_c_move(_retrieve_identifier(result.study_uid), dest, MOVE, msg_id=msg_id)
                _run_retrieve(assoc, node, responses, result, watch, progress, retrieve_timeout, "C-MOVE",
                              counted_locally=False)
            log.info("DICOM: C-MOVE %s from %s to %s: %d completed, %d failed%s", result.study_uid, node, dest,
                     result.completed, result.failed, ", cancelled" if result.cancelled else "")
            if not assoc.is_established:
                for r in results[i + 1:]:
                    r.cancelled = result.cancelled
                    r.error = "" if result.cancelled else f"DICOM node {node}: the association ended early"
                break
    return results
