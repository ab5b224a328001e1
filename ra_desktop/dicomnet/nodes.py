"""Remote DICOM nodes (AE title, host, port), C-ECHO, and the association plumbing query.py and
send.py share. Qt-free; every function here blocks, so the GUI calls it from a worker thread.

Every association has timeouts on the TCP connect, the association negotiation (ACSE), each
DIMSE message and the network, so a dead, slow or hostile peer never hangs the caller. When an
association cannot be made, :class:`DicomNetError` names the node and the reason: unknown host,
connection refused, no answer in time, association rejected (with the peer's reason), aborted,
or none of the requested services accepted.
"""
from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterator, Sequence

from ra_desktop.errors import RADesktopError
from ra_desktop.settings import check_ae_title, parse_node

if TYPE_CHECKING:
    from pynetdicom.association import Association

    from ra_desktop.cancel import CancelToken
    from ra_desktop.settings import Settings

log = logging.getLogger(__name__)

#: Seconds allowed for the TCP connect, the association negotiation and each DIMSE message.
DEFAULT_TIMEOUT_S = 10.0
#: Seconds between a C-CANCEL and aborting the association when the peer keeps going.
CANCEL_GRACE_S = 3.0


@dataclass(frozen=True)
class RemoteNode:
    """A DICOM node we may call: AE title, host name or address, TCP port."""

    ae_title: str
    host: str
    port: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "ae_title", check_ae_title(self.ae_title))
        if not self.host or any(ch.isspace() for ch in self.host):
            raise ValueError(f"DICOM node host must be a host name or address: {self.host!r}")
        if not 1 <= int(self.port) <= 65535:
            raise ValueError(f"DICOM node port must be between 1 and 65535: {self.port!r}")
        object.__setattr__(self, "port", int(self.port))

    @classmethod
    def parse(cls, text: str) -> "RemoteNode":
        """``"AETITLE@host:port"`` (the settings' spelling) -> node; ValueError naming the fault."""
        return cls(*parse_node(text))

    def __str__(self) -> str:
        return f"{self.ae_title}@{self.host}:{self.port}"


def configured_nodes(settings: "Settings") -> list[RemoteNode]:
    """The nodes the user configured (``settings.dicom_nodes``), in their order."""
    return [RemoteNode.parse(text) for text in settings.dicom_nodes]


def resolve_node(text: str, settings: "Settings | None" = None) -> RemoteNode:
    """A node from ``"AETITLE@host:port"`` or from the AE title of a configured node.

    Raises ValueError when ``text`` is neither (the message lists the configured AE titles).
    """
    if "@" in text:
        return RemoteNode.parse(text)
    nodes = configured_nodes(settings) if settings is not None else []
    for node in nodes:
        if node.ae_title == text.strip():
            return node
    known = ", ".join(n.ae_title for n in nodes) or "none configured"
    raise ValueError(f"unknown DICOM node {text!r}: give AETITLE@host:port or a configured node's "
                     f"AE title ({known})")


class DicomNetError(RADesktopError):
    """An association or a DIMSE operation with a node failed; the message names node and reason."""

    def __init__(self, node: RemoteNode, reason: str):
        self.node = node
        self.reason = reason
        super().__init__(f"DICOM node {node}: {reason}")


@dataclass(frozen=True)
class EchoResult:
    """The answer to a C-ECHO ("test connection")."""

    node: RemoteNode
    ok: bool
    status: int | None = None        # the C-ECHO status (0x0000 = success), None without an answer
    round_trip_ms: float | None = None  # association, echo and release, in milliseconds
    error: str = ""                  # why not ok: names the node and the reason

    def __str__(self) -> str:
        if self.ok:
            return f"{self.node}: C-ECHO ok in {self.round_trip_ms:.0f} ms"
        return self.error


@dataclass(frozen=True)
class Progress:
    """Sub-operations of a retrieve or instances of a send, as last reported."""

    completed: int = 0
    remaining: int | None = None  # None when the peer does not say
    failed: int = 0
    warning: int = 0
    current: str = ""  # what is being worked on: a Study Instance UID, a file name

    @property
    def done(self) -> int:
        return self.completed + self.failed + self.warning


ProgressCallback = Callable[[Progress], None]


def make_ae(calling_aet: str, timeout: float = DEFAULT_TIMEOUT_S, dimse_timeout: float | None = None) -> Any:
    """A pynetdicom AE with our calling AE title and every timeout set (none is ever infinite)."""
    from pynetdicom import AE

    if not timeout or timeout <= 0:
        raise ValueError("a DICOM timeout must be a positive number of seconds")
    ae = AE(ae_title=check_ae_title(calling_aet))
    ae.connection_timeout = timeout
    ae.acse_timeout = timeout
    ae.dimse_timeout = dimse_timeout or timeout
    ae.network_timeout = max(timeout, dimse_timeout or 0)
    return ae


class _AssocWatch:
    """What happened while an association was being made (read by :func:`_failure_reason`)."""

    def __init__(self) -> None:
        self.connected = False
        self.started = time.monotonic()
        self.response: Any = None  # the A-ASSOCIATE-AC/RJ or A-ABORT primitive received

    def handlers(self) -> list[tuple[Any, Callable[..., None]]]:
        from pynetdicom import evt

        return [(evt.EVT_CONN_OPEN, self._on_open), (evt.EVT_ACSE_RECV, self._on_acse)]

    def _on_open(self, event: Any) -> None:
        self.connected = True

    def _on_acse(self, event: Any) -> None:
        if self.response is None:
            self.response = event.primitive


def _connect_reason(node: RemoteNode, timeout: float) -> str:
    """Why a TCP connection to ``node`` fails, found by trying once more (only after a failure)."""
    try:
        socket.getaddrinfo(node.host, node.port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return f"unknown host {node.host!r} ({exc.strerror})"
    try:
        with socket.create_connection((node.host, node.port), timeout=timeout):
            return "the connection was closed before the association was made"
    except ConnectionRefusedError:
        return f"connection refused (nothing listens on {node.host} port {node.port})"
    except (socket.timeout, TimeoutError):
        return f"no answer within {timeout:g} s (host down, or the port is filtered)"
    except OSError as exc:
        return f"cannot connect: {exc.strerror or exc}"


def _failure_reason(node: RemoteNode, assoc: Any, watch: _AssocWatch, timeout: float) -> str:
    rsp = watch.response
    if assoc.is_rejected and rsp is not None:
        try:
            return (f"association rejected ({rsp.result_str.lower()}) by the {rsp.source_str.lower()}: "
                    f"{rsp.reason_str.lower()}")
        except (AttributeError, KeyError, ValueError):
            return "association rejected"
    if assoc.is_rejected:
        return "association rejected"
    if not watch.connected:
        return _connect_reason(node, timeout)
    if rsp is None and (not assoc.is_aborted or time.monotonic() - watch.started >= 0.9 * timeout):
        return f"no answer to the association request within {timeout:g} s"
    if getattr(rsp, "result", None) == 0x00 and not assoc.accepted_contexts:
        wanted = sorted({str(cx.abstract_syntax.name) for cx in assoc.rejected_contexts})
        return "the node accepted none of the requested services: " + ", ".join(wanted)
    if type(rsp).__name__ in ("A_ABORT", "A_P_ABORT"):
        return "the node aborted the association request"
    if assoc.is_aborted:
        return "the connection closed without a DICOM answer (is this the node's DICOM port?)"
    return "the association could not be made"


@contextlib.contextmanager
def associate(node: RemoteNode, ae: Any, *, timeout: float = DEFAULT_TIMEOUT_S,
              ext_neg: Sequence[Any] | None = None,
              evt_handlers: Sequence[tuple[Any, Callable[..., Any]]] = ()) -> Iterator["Association"]:
    """An established association with ``node`` (released at exit, aborted on an exception).

    Raises :class:`DicomNetError` with the reason when it cannot be made.
    """
    watch = _AssocWatch()
    log.info("DICOM: associating %s -> %s", ae.ae_title, node)
    try:
        assoc = ae.associate(node.host, node.port, ae_title=node.ae_title, ext_neg=list(ext_neg or []) or None,
                             evt_handlers=[*watch.handlers(), *evt_handlers])
    except socket.gaierror as exc:  # pynetdicom resolves the host name before it connects
        raise DicomNetError(node, f"unknown host {node.host!r} ({exc.strerror})") from None
    except OSError as exc:
        raise DicomNetError(node, f"cannot connect: {exc.strerror or exc}") from None
    if not assoc.is_established:
        reason = _failure_reason(node, assoc, watch, timeout)
        log.warning("DICOM: %s: %s", node, reason)
        raise DicomNetError(node, reason)
    try:
        yield assoc
    except BaseException:
        if assoc.is_established:
            assoc.abort()
        raise
    else:
        if assoc.is_established:
            assoc.release()


def lost_reason(assoc: Any, timeout: float) -> str:
    """Why an established association ended early (after an empty response from pynetdicom)."""
    if assoc.is_aborted:
        return f"the association was aborted (by the node, or after no response within {timeout:g} s)"
    return f"no response within {timeout:g} s; the association was closed"


class CancelWatch:
    """Watches a :class:`CancelToken` while a DIMSE operation runs in the caller's thread.

    Once the token is set (or :meth:`trigger` is called, e.g. when a match cap is reached) it
    calls ``on_cancel`` (send the C-CANCEL) from its own thread; if the operation has not ended
    ``grace`` seconds later it aborts the association, which also wakes the caller blocked on the
    next message. Use as a context manager around the operation.
    """

    def __init__(self, token: "CancelToken | None", assoc: Any, on_cancel: Callable[[], None],
                 grace: float = CANCEL_GRACE_S, poll: float = 0.05) -> None:
        self._token, self._assoc, self._on_cancel = token, assoc, on_cancel
        self._grace, self._poll = grace, poll
        self._done = threading.Event()
        self._triggered = threading.Event()
        self.cancel_sent = False
        self.aborted = False
        self._thread = threading.Thread(target=self._run, name="dicom-cancel-watch", daemon=True)

    @property
    def requested(self) -> bool:
        """The operation is to stop: the token was set or :meth:`trigger` was called."""
        return self._triggered.is_set() or (self._token is not None and self._token.cancelled)

    def trigger(self) -> None:
        self._triggered.set()

    def __enter__(self) -> "CancelWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self.requested:
            if self._done.wait(self._poll):
                return
        try:
            self._on_cancel()
            self.cancel_sent = True
        except Exception as exc:  # the association may be gone already
            log.info("DICOM: C-CANCEL not sent: %s", exc)
        if self._done.wait(self._grace):
            return
        log.warning("DICOM: the node did not stop %g s after C-CANCEL; aborting the association", self._grace)
        self.aborted = True
        with contextlib.suppress(Exception):
            self._assoc.abort()
        with contextlib.suppress(Exception):  # wake the caller blocked on the next DIMSE message
            self._assoc.dimse.msg_queue.put((None, None))


def echo(node: RemoteNode, *, calling_aet: str, timeout: float = DEFAULT_TIMEOUT_S) -> EchoResult:
    """C-ECHO ``node`` ("test connection"). Never raises for a network failure: see ``error``.

    Blocks for at most a few times ``timeout`` (connect, negotiate, echo, release).
    """
    from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

    ae = make_ae(calling_aet, timeout)
    ae.add_requested_context(Verification)
    start = time.perf_counter()
    try:
        with associate(node, ae, timeout=timeout) as assoc:
            status = assoc.send_c_echo()
            code = int(status.Status) if "Status" in status else None
            if code is None:
                raise DicomNetError(node, f"no C-ECHO response ({lost_reason(assoc, timeout)})")
    except DicomNetError as exc:
        return EchoResult(node, False, error=str(exc))
    elapsed = (time.perf_counter() - start) * 1000.0
    if code != 0x0000:
        return EchoResult(node, False, code, elapsed, f"DICOM node {node}: C-ECHO answered status 0x{code:04X}")
    return EchoResult(node, True, code, elapsed)
