"""C-STORE SCU: send our results (SR, Secondary Capture, Encapsulated PDF) and images to a node.

Qt-free and blocking: "Send to PACS" runs :func:`send` in a worker thread with a progress
callback (called in that thread after each instance) and a CancelToken (checked between
instances; C-STORE has no C-CANCEL, so the instance on the wire finishes first).

The presentation contexts are the ones the given instances need: one per SOP class for the
uncompressed transfer syntaxes (Explicit and Implicit VR Little Endian, so the node may pick
either) and one per SOP class and compressed transfer syntax (sent as they are, never
recompressed). More than 128 contexts are spread over several associations. Each instance gets
its own status; one that fails (unreadable file, class the node refused, failure status) does
not stop the rest.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Union

from ra_desktop.cancel import CancelToken
from ra_desktop.dicomnet.nodes import (
    DEFAULT_TIMEOUT_S, DicomNetError, Progress, ProgressCallback, RemoteNode, associate, lost_reason, make_ae,
)
from ra_desktop.textsafe import clean, shorten

if TYPE_CHECKING:
    from pydicom.dataset import Dataset

log = logging.getLogger(__name__)

MAX_CONTEXTS = 128
#: Seconds allowed for each C-STORE response (a large image over a slow link).
STORE_TIMEOUT_S = 60.0

SendItem = Union["Dataset", str, Path]


@dataclass(frozen=True)
class InstanceStatus:
    """What happened to one instance."""

    source: str                   # the file name, or "dataset <SOP Instance UID>"
    sop_instance_uid: str = ""
    sop_class_uid: str = ""
    status: int | None = None     # the node's C-STORE status; None when it was never sent
    error: str = ""               # why it failed ("" when stored)

    @property
    def ok(self) -> bool:
        """Stored: success, or a warning (0xB000, 0xB006, 0xB007: stored with coercion)."""
        return self.status is not None and (self.status == 0x0000 or (self.status >> 12) == 0xB)


@dataclass
class SendResult:
    node: RemoteNode
    instances: list[InstanceStatus] = field(default_factory=list)
    cancelled: bool = False

    @property
    def sent(self) -> int:
        return sum(1 for i in self.instances if i.ok)

    @property
    def failed(self) -> list[InstanceStatus]:
        return [i for i in self.instances if not i.ok]

    @property
    def ok(self) -> bool:
        return not self.cancelled and bool(self.instances) and not self.failed


@dataclass
class _Item:
    index: int
    source: str
    item: Any
    sop_class: str = ""
    sop_instance: str = ""
    transfer_syntax: str = ""


def _uncompressed() -> tuple[str, ...]:
    from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

    return (ExplicitVRLittleEndian, ImplicitVRLittleEndian)


def _describe(index: int, item: SendItem) -> _Item:
    """Find SOP class, instance and transfer syntax (a file's header only); ValueError if none."""
    import pydicom
    from pydicom.dataset import Dataset
    from pydicom.uid import ExplicitVRLittleEndian

    if isinstance(item, Dataset):
        meta = getattr(item, "file_meta", None)
        ts = str(meta.get("TransferSyntaxUID", "") if meta is not None else "") or ExplicitVRLittleEndian
        sop_instance = str(item.get("SOPInstanceUID", "") or "")
        it = _Item(index, f"dataset {shorten(clean(sop_instance), 64) or index + 1}", item,
                   str(item.get("SOPClassUID", "") or ""), sop_instance, ts)
    else:
        path = Path(item)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path, stop_before_pixels=True)
        except (OSError, Exception) as exc:  # noqa: BLE001 - any unreadable file is one failed item
            raise ValueError(f"not a readable DICOM file ({type(exc).__name__})") from None
        ts = str(ds.file_meta.get("TransferSyntaxUID", "") or "") or ExplicitVRLittleEndian
        it = _Item(index, path.name, path, str(ds.get("SOPClassUID", "") or ""), str(ds.get("SOPInstanceUID", "") or ""), ts)
    if not it.sop_class or not it.sop_instance:
        raise ValueError("no SOP Class UID or SOP Instance UID")
    return it


def _contexts_of(it: _Item) -> list[tuple[str, tuple[str, ...]]]:
    if it.transfer_syntax in _uncompressed():
        return [(it.sop_class, _uncompressed())]
    return [(it.sop_class, (it.transfer_syntax,))]


def _groups(items: list[_Item]) -> list[list[_Item]]:
    """Items split so that each group needs at most MAX_CONTEXTS presentation contexts."""
    groups: list[list[_Item]] = []
    current: list[_Item] = []
    contexts: set[tuple[str, tuple[str, ...]]] = set()
    for it in items:
        need = set(_contexts_of(it)) - contexts
        if current and len(contexts) + len(need) > MAX_CONTEXTS:
            groups.append(current)
            current, contexts = [], set()
            need = set(_contexts_of(it))
        current.append(it)
        contexts |= need
    if current:
        groups.append(current)
    return groups


def _load(it: _Item) -> "Dataset":
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset

    if isinstance(it.item, Dataset):
        ds = it.item
        if "TransferSyntaxUID" not in getattr(ds, "file_meta", {}):
            copy = Dataset(ds)  # shares the elements; the caller's dataset stays as it was
            meta = FileMetaDataset(getattr(ds, "file_meta", FileMetaDataset()))
            meta.TransferSyntaxUID = it.transfer_syntax
            copy.file_meta = meta
            return copy
        return ds
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(it.item)


def _store_one(assoc: Any, it: _Item, node: RemoteNode, timeout: float) -> InstanceStatus:
    from pydicom.uid import UID

    base = dict(source=it.source, sop_instance_uid=it.sop_instance, sop_class_uid=it.sop_class)
    try:
        ds = _load(it)
    except Exception as exc:  # noqa: BLE001 - one unreadable file fails alone
        return InstanceStatus(**base, error=f"could not be read ({type(exc).__name__})")
    try:
        status = assoc.send_c_store(ds, msg_id=(it.index % 65535) + 1)
    except ValueError as exc:  # no accepted context for this class / transfer syntax, or not encodable
        name = UID(it.sop_class).name
        accepted = any(cx.abstract_syntax == it.sop_class for cx in assoc.accepted_contexts)
        if not accepted:
            return InstanceStatus(**base, error=f"{node} does not accept {name}")
        return InstanceStatus(**base, error=f"could not be sent: {shorten(clean(exc), 200)}")
    if "Status" not in status:
        return InstanceStatus(**base, error=f"no C-STORE response: {lost_reason(assoc, timeout)}")
    code = int(status.Status)
    item = InstanceStatus(**base, status=code)
    if not item.ok:
        comment = shorten(clean(status.get("ErrorComment", "") or ""), 200)
        return InstanceStatus(**base, status=code, error=f"{node} answered status 0x{code:04X}"
                              + (f" ({comment})" if comment else ""))
    return item


def send(node: RemoteNode, datasets_or_paths: Iterable[SendItem], *, calling_aet: str,
         progress: ProgressCallback | None = None, cancel: CancelToken | None = None,
         timeout: float = DEFAULT_TIMEOUT_S, store_timeout: float = STORE_TIMEOUT_S) -> SendResult:
    """C-STORE each dataset or DICOM file to ``node``; one :class:`InstanceStatus` each, in order.

    Files are read one at a time (only their headers beforehand). Raises :class:`DicomNetError`
    when no association can be made at all; a later lost association fails the instances it
    did not send, with the reason. Blocks: call from a worker thread.
    """
    items = list(datasets_or_paths)
    statuses: list[InstanceStatus | None] = [None] * len(items)
    described: list[_Item] = []
    for i, item in enumerate(items):
        try:
            described.append(_describe(i, item))
        except ValueError as exc:
            source = Path(item).name if isinstance(item, (str, Path)) else f"dataset {i + 1}"
            statuses[i] = InstanceStatus(source, error=str(exc))
    result = SendResult(node)
    total = len(items)

    def report(current: str) -> None:
        if progress is not None:
            done = [s for s in statuses if s is not None]
            ok = sum(1 for s in done if s.ok)
            progress(Progress(ok, total - len(done), len(done) - ok, 0, current))

    report("")
    associated = False
    for group in _groups(described):
        if cancel is not None and cancel.cancelled:
            break
        ae = make_ae(calling_aet, timeout, dimse_timeout=store_timeout)
        for abstract, syntaxes in sorted({cx for it in group for cx in _contexts_of(it)}):
            ae.add_requested_context(abstract, list(syntaxes))
        try:
            with associate(node, ae, timeout=timeout) as assoc:
                associated = True
                for it in group:
                    if cancel is not None and cancel.cancelled:
                        break
                    if not assoc.is_established:
                        statuses[it.index] = InstanceStatus(it.source, it.sop_instance, it.sop_class,
                                                            error=f"not sent: {lost_reason(assoc, store_timeout)}")
                    else:
                        statuses[it.index] = _store_one(assoc, it, node, store_timeout)
                    report(it.source)
        except DicomNetError as exc:
            if not associated:
                raise
            for it in group:
                if statuses[it.index] is None:
                    statuses[it.index] = InstanceStatus(it.source, it.sop_instance, it.sop_class, error=exc.reason)
            report("")
    result.cancelled = cancel is not None and cancel.cancelled and any(s is None for s in statuses)
    result.instances = [s if s is not None else InstanceStatus(
        Path(items[i]).name if isinstance(items[i], (str, Path)) else f"dataset {i + 1}", error="cancelled")
        for i, s in enumerate(statuses)]
    log.info("DICOM: C-STORE to %s: %d of %d stored%s", node, result.sent, total,
             ", cancelled" if result.cancelled else "")
    return result
