"""Store SCP: C-ECHO and C-STORE of hand radiographs into the :class:`~ra_desktop.dicomnet.inbox.Inbox`.

Usage (GUI or ``ra-desktop listen``)::

    listener = StoreListener("RADESKTOP", 11112, allowed_callers=("XRAY1",),
                             worklist=store, on_received=callback)
    listener.start()          # returns at once; associations run in pynetdicom's threads
    ...
    listener.stop()           # no new associations, port freed; waits for transfers in flight

``on_received(received: Received)`` is called once per C-STORE (stored, duplicate or refused; see
``Received.ok``/``stored``/``row_id``) **from the association's thread**, after the file is on disk
and its row is in the worklist. Keep it light: post the event to the GUI thread and return.

Accepted: the projection X-ray storage SOP classes a hand radiograph arrives in (CR; DX, MG and
intra-oral for presentation and processing; XA/RF; Secondary Capture incl. multi-frame greyscale
byte and word) with every transfer syntax the loader has a decoder for. Other SOP classes (CT, MR,
SR...) are not offered: the sender learns at association time that we do not take them.
An association whose calling AE title is not on the allow-list (when one is set) or whose called
AE title is not ours is rejected. Each association runs in its own thread, so a garbage byte
stream or a rejected caller does not disturb a transfer beside it.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from ra_desktop.dicomnet.inbox import (
    MAX_DATASET_BYTES,
    OUT_OF_RESOURCES,
    Inbox,
    Received,
    add_to_worklist,
)
from ra_desktop.settings import check_ae_title
from ra_desktop.worklist.store import WorklistStore

log = logging.getLogger(__name__)

# SOP classes a hand radiograph may arrive in (PS3.4 B.5), and which the loader reads.
STORAGE_SOP_CLASSES = (
    "1.2.840.10008.5.1.4.1.1.1",  # Computed Radiography Image Storage
    "1.2.840.10008.5.1.4.1.1.1.1",  # Digital X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.1.1",  # Digital X-Ray Image Storage - For Processing
    "1.2.840.10008.5.1.4.1.1.1.2",  # Digital Mammography X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.2.1",  # Digital Mammography X-Ray Image Storage - For Processing
    "1.2.840.10008.5.1.4.1.1.1.3",  # Digital Intra-Oral X-Ray Image Storage - For Presentation
    "1.2.840.10008.5.1.4.1.1.1.3.1",  # Digital Intra-Oral X-Ray Image Storage - For Processing
    "1.2.840.10008.5.1.4.1.1.12.1",  # X-Ray Angiographic Image Storage
    "1.2.840.10008.5.1.4.1.1.12.2",  # X-Ray Radiofluoroscopic Image Storage
    "1.2.840.10008.5.1.4.1.1.7",  # Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.2",  # Multi-frame Grayscale Byte Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.3",  # Multi-frame Grayscale Word Secondary Capture Image Storage
    "1.2.840.10008.5.1.4.1.1.7.4",  # Multi-frame True Color Secondary Capture Image Storage
)
VERIFICATION = "1.2.840.10008.1.1"

# Transfer syntaxes offered, best first, kept only when pydicom has a decoder installed for them.
_TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
    "1.2.840.10008.1.2",  # Implicit VR Little Endian
    "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
    "1.2.840.10008.1.2.2",  # Explicit VR Big Endian (retired, still sent by old modalities)
    "1.2.840.10008.1.2.4.50",  # JPEG Baseline (Process 1)
    "1.2.840.10008.1.2.4.51",  # JPEG Extended (Process 2 & 4)
    "1.2.840.10008.1.2.4.57",  # JPEG Lossless (Process 14)
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless SV1
    "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Near-Lossless
    "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
    "1.2.840.10008.1.2.4.91",  # JPEG 2000
    "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
    "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
    "1.2.840.10008.1.2.4.203",  # HTJ2K
    "1.2.840.10008.1.2.5",  # RLE Lossless
)
_NATIVE = {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}


def decodable_transfer_syntaxes() -> list[str]:
    """The transfer syntaxes the loader can decode here (native ones always; compressed ones when
    their pylibjpeg plugin is installed)."""
    from pydicom.pixels import get_decoder

    out = []
    for ts in _TRANSFER_SYNTAXES:
        if ts in _NATIVE:
            out.append(ts)
            continue
        try:
            if get_decoder(ts).is_available:
                out.append(ts)
        except (NotImplementedError, ValueError):
            continue
    return out


@dataclass
class _AssocStats:
    calling_ae: str
    peer: str
    started: float = field(default_factory=time.monotonic)
    stored: int = 0
    duplicates: int = 0
    failed: int = 0
    nbytes: int = 0
    pending_bytes: int = 0  # P-DATA received since the last C-STORE was handled (the size guard)
    too_large: bool = False


class StoreListener:
    """A store SCP on ``host:port`` named ``ae_title``; start/stop from any thread.

    Parameters
    ----------
    ae_title : str
        Our AE title; associations addressed to another title are rejected.
    port : int
        TCP port (104 needs privileges; 11112 is the usual unprivileged one). 0: any free port
        (see :attr:`port` after :meth:`start`).
    host : str
        Interface to listen on; "" = all interfaces, "127.0.0.1" = this computer only.
    allowed_callers : iterable of str
        Calling AE titles accepted; empty = any caller.
    worklist : WorklistStore, optional
        Where new instances are added (before ``on_received`` is called).
    on_received : callable, optional
        ``on_received(Received)``, called from the association's thread for each C-STORE.
    inbox : Inbox, optional
        Where files go (default: ``user_data_dir()/received``).
    max_bytes : int
        Largest dataset accepted; a bigger one is refused (0xA700) and its association aborted
        while it is still arriving.
    """

    def __init__(self, ae_title: str, port: int, *, host: str = "", allowed_callers: Iterable[str] = (),
                 worklist: WorklistStore | None = None, on_received: Callable[[Received], None] | None = None,
                 inbox: Inbox | None = None, max_bytes: int = MAX_DATASET_BYTES,
                 sop_classes: Iterable[str] = STORAGE_SOP_CLASSES) -> None:
        self.ae_title = check_ae_title(ae_title).strip()
        self.allowed_callers = tuple(check_ae_title(a).strip() for a in allowed_callers)
        self.host, self._port = host, int(port)
        self.worklist = worklist
        self.on_received = on_received
        self.max_bytes = int(max_bytes)
        self.inbox = inbox or Inbox(max_bytes=self.max_bytes)
        self.sop_classes = tuple(sop_classes)
        self._server = None
        self._ae = None
        self._lock = threading.Lock()
        self._stats: dict[int, _AssocStats] = {}  # id(association) -> counts
        self._busy = 0  # C-STOREs being handled right now
        self._idle = threading.Condition(self._lock)
        self.totals = {"associations": 0, "rejected": 0, "stored": 0, "duplicates": 0, "failed": 0}

    # ---- life cycle ------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        if self._server is not None:
            return int(self._server.server_address[1])
        return self._port

    @property
    def is_running(self) -> bool:
        return self._server is not None

    def start(self) -> None:
        """Open the port and return; raises ``OSError`` when the port is taken or not allowed."""
        from pynetdicom import AE, evt

        if self._server is not None:
            return
        ae = AE(ae_title=self.ae_title)
        ae.require_called_aet = True
        ae.require_calling_aet = list(self.allowed_callers)
        ae.maximum_associations = 10
        ae.network_timeout = 60  # an idle or stalled peer is dropped, its thread freed
        ae.acse_timeout = 30
        ae.dimse_timeout = 60
        ae.maximum_pdu_size = 0  # no limit on what we accept per PDU: sender's choice
        syntaxes = decodable_transfer_syntaxes()
        ae.add_supported_context(VERIFICATION, ["1.2.840.10008.1.2", "1.2.840.10008.1.2.1"])
        for sop in self.sop_classes:
            ae.add_supported_context(sop, syntaxes)
        handlers = [
            (evt.EVT_C_STORE, self._handle_store),
            (evt.EVT_C_ECHO, lambda event: 0x0000),
            (evt.EVT_ACCEPTED, self._on_accepted),
            (evt.EVT_REJECTED, self._on_rejected),
            (evt.EVT_RELEASED, self._on_closed),
            (evt.EVT_ABORTED, self._on_closed),
            (evt.EVT_DATA_RECV, self._on_data),
        ]
        self._server = ae.start_server((self.host, self._port), block=False, evt_handlers=handlers)
        self._ae = ae
        log.info("DICOM listener %s on port %d (allowed callers: %s)", self.ae_title, self.port,
                 ", ".join(self.allowed_callers) or "any")

    def stop(self, grace_s: float = 30.0) -> None:
        """Stop listening (the port is free when this returns) without losing an instance in flight.

        Associations already open may finish for up to ``grace_s`` seconds; any still open after
        that are aborted, but only between two C-STOREs: a store being written completes first.
        The sender is told of an abort, so it knows which instances to send again.
        """
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()  # no new associations; the listening socket is closed
        deadline = time.monotonic() + grace_s
        while server.active_associations and time.monotonic() < deadline:
            time.sleep(0.05)
        for assoc in server.active_associations:
            with self._idle:  # not in the middle of writing an instance
                self._idle.wait_for(lambda: self._busy == 0, timeout=60)
            # A C-STORE that begins just now still completes in its own thread (its file is kept);
            # only its response is lost, and the sender's resend is then answered as a duplicate.
            assoc.abort()
        # One short wait for all of them together: a caller that connected and said nothing (its
        # thread ends at the ACSE timeout) must not hold the window or a service stop for long.
        join_deadline = time.monotonic() + 3.0
        for assoc in server.active_associations:
            assoc.join(max(0.0, join_deadline - time.monotonic()))
        log.info("DICOM listener %s stopped (%d associations, %d stored, %d duplicates, %d refused, "
                 "%d callers rejected)", self.ae_title, self.totals["associations"], self.totals["stored"],
                 self.totals["duplicates"], self.totals["failed"], self.totals["rejected"])

    def __enter__(self) -> StoreListener:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- events (pynetdicom threads) -------------------------------------------------------
    def _stats_for(self, event) -> _AssocStats:
        key = id(event.assoc)
        st = self._stats.get(key)
        if st is None:
            st = self._stats[key] = _AssocStats(_calling(event), _peer(event))
        return st

    def _on_accepted(self, event) -> None:
        with self._lock:
            self._stats_for(event)
            self.totals["associations"] += 1

    def _on_rejected(self, event) -> None:
        with self._lock:
            self.totals["rejected"] += 1
            self._stats.pop(id(event.assoc), None)
        log.warning("DICOM association from %s (%s) rejected: calling AE title not allowed or called AE "
                    "title not %s", _calling(event) or "-", _peer(event), self.ae_title)

    def _on_closed(self, event) -> None:
        with self._lock:
            st = self._stats.pop(id(event.assoc), None)
        if st is None:
            return
        how = "released" if event.event.name == "EVT_RELEASED" else "aborted"
        log.info("DICOM association from %s (%s) %s after %.1f s: %d stored, %d duplicates, %d refused, "
                 "%.1f MB%s", st.calling_ae or "-", st.peer, how, time.monotonic() - st.started, st.stored,
                 st.duplicates, st.failed, st.nbytes / 1e6,
                 " (aborted: dataset over the size limit)" if st.too_large else "")

    def _on_data(self, event) -> None:
        """Size guard while a dataset is still arriving (pynetdicom buffers it in memory)."""
        data = event.data
        if data[:1] != b"\x04":  # P-DATA-TF only
            return
        with self._lock:
            st = self._stats.get(id(event.assoc))
            if st is None:
                return
            st.pending_bytes += len(data)
            over = st.pending_bytes > self.max_bytes + (1 << 20) and not st.too_large
            if over:
                st.too_large = True
                st.failed += 1
                self.totals["failed"] += 1
        if over:
            log.warning("DICOM association from %s (%s): dataset over the %.0f MB limit, aborting",
                        st.calling_ae or "-", st.peer, self.max_bytes / 1e6)
            event.assoc.abort()  # in a handler: queues the A-ABORT and returns

    def _handle_store(self, event):
        with self._lock:
            self._busy += 1
            st = self._stats_for(event)
            st.pending_bytes = 0
        try:
            try:
                sop = str(event.request.AffectedSOPInstanceUID or "")
                # Too large: refused by the inbox before anything is written.
                received = self.inbox.receive(_file_prefix(event), sop, calling_ae=st.calling_ae)
            except Exception as exc:  # noqa: BLE001 - one bad instance must not end the listener
                log.exception("storing a received instance failed")
                received = Received(status=OUT_OF_RESOURCES, calling_ae=st.calling_ae,
                                    reason=f"internal error: {type(exc).__name__}")
            if received.ok and self.worklist is not None:
                try:
                    received = add_to_worklist(self.worklist, received)
                except Exception:  # noqa: BLE001 - the file is stored; the worklist can rescan it
                    log.exception("adding a received instance to the worklist failed")
            with self._lock:
                st.nbytes += received.nbytes
                key = "failed" if not received.ok else "duplicates" if received.duplicate else "stored"
                setattr(st, key, getattr(st, key) + 1)
                self.totals[key] += 1
            if self.on_received is not None:
                try:
                    self.on_received(received)
                except Exception:  # noqa: BLE001 - the GUI's problem must not fail the sender
                    log.exception("on_received callback failed")
            return _status(received)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()


def _file_prefix(event) -> list:
    """Preamble, ``DICM``, the file meta pynetdicom builds from the request, then the dataset as
    it arrived (not decoded here: only the hardened loader parses what a sender wrote)."""
    from pynetdicom.dsutils import encode_file_meta

    return [b"\x00" * 128, b"DICM", encode_file_meta(event.file_meta), event.request.DataSet.getbuffer()]


def _status(received: Received):
    if received.ok:
        return 0x0000
    from pydicom import Dataset

    ds = Dataset()
    ds.Status = received.status
    text = (received.reason or "refused").encode("ascii", "replace").decode().replace("\\", "/")
    ds.ErrorComment = text[:64]  # LO: 64 characters, default character set
    return ds


def _calling(event) -> str:
    try:
        return str(event.assoc.requestor.ae_title).strip()
    except Exception:  # noqa: BLE001
        return ""


def _peer(event) -> str:
    try:
        return f"{event.assoc.requestor.address}:{event.assoc.requestor.port}"
    except Exception:  # noqa: BLE001
        return "?"
