"""Real DICOM peers for the networking tests: an Orthanc PACS on loopback, and a small store SCP.

Import the fixtures into a test module (``from tests.dicom_peers import orthanc  # noqa: F401``)
and use the helpers. Nothing here skips: when Orthanc is not installed the fixture fails and says
to run ``make setup`` (``scripts/install-sysdeps.sh`` installs ``orthanc`` and ``dcmtk``).

``orthanc`` (session scope) starts ``/usr/sbin/Orthanc`` with a temporary JSON configuration:
storage and index in a temporary folder, DICOM and HTTP on free loopback ports, no remote HTTP
access, no authentication, no plugins, every DICOM service allowed to every caller, and two
known C-MOVE destinations whose ports are chosen before Orthanc starts (``MOVE_DEST_AET`` for a
store SCP a test runs, ``OWN_AET`` for our own listener). More destinations can be added while
it runs with :meth:`OrthancPeer.add_modality`. Its REST API is read with ``urllib`` (loopback only).
Call :meth:`OrthancPeer.clear` at the start of a test that counts what Orthanc holds.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest

ORTHANC_BINARIES = ("/usr/sbin/Orthanc", "/usr/bin/Orthanc")
ORTHANC_AET = "ORTHANC"
MOVE_DEST_AET = "MOVESCP"   # C-MOVE destination: a store SCP run by a test (see StoreSCP)
OWN_AET = "RADESKTOP"       # our own listener's default AE title (settings.dicom_ae_title)
LOOPBACK = "127.0.0.1"
START_TIMEOUT_S = 30.0
HTTP_TIMEOUT_S = 30.0


def free_port() -> int:
    """A TCP port free on loopback right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((LOOPBACK, 0))
        return int(s.getsockname()[1])


def orthanc_binary() -> str:
    """Path of the Orthanc executable; fails the test (never skips) when it is not installed."""
    for candidate in (*ORTHANC_BINARIES, shutil.which("Orthanc") or ""):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    pytest.fail("Orthanc is not installed (looked for /usr/sbin/Orthanc): run `make setup` "
                "(scripts/install-sysdeps.sh installs the Debian packages orthanc and dcmtk)")


def dcmtk_tool(name: str) -> str:
    """Path of a DCMTK command-line tool (echoscu, findscu, storescu...); fails when absent."""
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"DCMTK's {name} is not installed: run `make setup` "
                    "(scripts/install-sysdeps.sh installs the Debian package dcmtk)")
    return path


def orthanc_config(workdir: Path, dicom_port: int, http_port: int,
                   modalities: dict[str, tuple[str, str, int]]) -> dict[str, Any]:
    """The JSON configuration of a throw-away Orthanc 1.10 (keys as in /etc/orthanc/orthanc.json)."""
    return {
        "Name": "RA Desktop test PACS",
        "StorageDirectory": str(workdir / "storage"),
        "IndexDirectory": str(workdir / "index"),
        "TemporaryDirectory": str(workdir / "tmp"),
        "StorageCompression": False,
        "Plugins": [],
        "LuaScripts": [],
        "ConcurrentJobs": 2,
        "HttpServerEnabled": True,
        "OrthancExplorerEnabled": False,
        "HttpPort": http_port,
        "HttpDescribeErrors": True,
        "WebDavEnabled": False,
        "RemoteAccessAllowed": False,
        "AuthenticationEnabled": False,
        "SslEnabled": False,
        "DicomServerEnabled": True,
        "DicomAet": ORTHANC_AET,
        "DicomCheckCalledAet": False,
        "DicomPort": dicom_port,
        "DicomTlsEnabled": False,
        "DicomAlwaysAllowEcho": True,
        "DicomAlwaysAllowStore": True,
        "DicomAlwaysAllowFind": True,
        "DicomAlwaysAllowFindWorklist": False,
        "DicomAlwaysAllowGet": True,
        "DicomAlwaysAllowMove": True,
        "DicomCheckModalityHost": False,
        "DicomModalities": {name: [aet, host, port] for name, (aet, host, port) in modalities.items()},
        "DicomModalitiesInDatabase": False,
        "DicomScpTimeout": 30,
        "DicomScuTimeout": 10,
        "DicomAssociationCloseDelay": 0,  # C-MOVE: release the association to us at once
        "UnknownSopClassAccepted": False,
        "OrthancPeers": {},
        "HttpProxy": "",
        "StableAge": 60,
        "SynchronousCMove": True,
        "LimitFindResults": 0,
        "LimitFindInstances": 0,
        "StrictAetComparison": False,
        "KeepAlive": True,
        "SaveJobs": False,
        "MaximumStorageSize": 0,
        "MaximumPatientCount": 0,
    }


@dataclass
class OrthancPeer:
    """A running Orthanc: where it listens and a small REST client (urllib, loopback only)."""

    workdir: Path
    dicom_port: int
    http_port: int
    modalities: dict[str, tuple[str, str, int]]
    process: subprocess.Popen | None = field(default=None, repr=False)
    aet: str = ORTHANC_AET
    host: str = LOOPBACK

    @property
    def node(self) -> str:
        """The peer as our settings spell a node: ``"ORTHANC@127.0.0.1:PORT"``."""
        return f"{self.aet}@{self.host}:{self.dicom_port}"

    @property
    def log_path(self) -> Path:
        return self.workdir / "orthanc.log"

    def port_of(self, aet: str) -> int:
        """Port of a configured C-MOVE destination by AE title (``MOVE_DEST_AET``, ``OWN_AET``)."""
        for dest_aet, _host, port in self.modalities.values():
            if dest_aet == aet:
                return port
        raise KeyError(aet)

    # -- REST -----------------------------------------------------------------------------
    def rest(self, method: str, path: str, body: bytes | None = None,
             content_type: str = "application/json") -> bytes:
        """One REST call; raises ``AssertionError`` with Orthanc's answer on an HTTP error."""
        req = urllib.request.Request(f"http://{LOOPBACK}:{self.http_port}{path}", data=body, method=method)
        if body is not None:
            req.add_header("Content-Type", content_type)
        try:
            with urllib.request.urlopen(req, timeout=HTTP_TIMEOUT_S) as resp:  # noqa: S310 (loopback)
                return resp.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:2000]
            raise AssertionError(f"Orthanc {method} {path}: HTTP {exc.code} {detail}") from None

    def get_json(self, path: str) -> Any:
        return json.loads(self.rest("GET", path))

    def upload(self, source: Path | bytes) -> dict[str, Any]:
        """``POST /instances`` one DICOM file; Orthanc's answer (ID, ParentStudy, Status...)."""
        data = Path(source).read_bytes() if not isinstance(source, bytes) else source
        return json.loads(self.rest("POST", "/instances", data, content_type="application/dicom"))

    def upload_files(self, paths: list[Path]) -> list[dict[str, Any]]:
        return [self.upload(p) for p in paths]

    def instances(self) -> list[str]:
        """Orthanc IDs of every stored instance."""
        return list(self.get_json("/instances"))

    def tags(self, instance_id: str) -> dict[str, Any]:
        """An instance's tags by keyword (``/instances/{id}/tags?simplify``)."""
        return dict(self.get_json(f"/instances/{instance_id}/tags?simplify"))

    def file(self, instance_id: str) -> bytes:
        """The stored DICOM file as Orthanc holds it (``/instances/{id}/file``)."""
        return self.rest("GET", f"/instances/{instance_id}/file")

    def instance_by_sop_uid(self, sop_instance_uid: str) -> str | None:
        """Orthanc ID of the instance with this SOP Instance UID, or None."""
        hits = json.loads(self.rest("POST", "/tools/lookup", sop_instance_uid.encode("ascii"),
                                    content_type="text/plain"))
        ids = [h["ID"] for h in hits if h.get("Type") == "Instance"]
        return ids[0] if ids else None

    def sop_instance_uids(self) -> set[str]:
        return {self.tags(i)["SOPInstanceUID"] for i in self.instances()}

    def clear(self) -> None:
        """Delete everything stored (patients, and with them studies, series, instances)."""
        for patient in self.get_json("/patients"):
            self.rest("DELETE", f"/patients/{patient}")

    def add_modality(self, name: str, aet: str, host: str, port: int) -> None:
        """Add or change a DICOM modality (a C-MOVE destination) while Orthanc runs."""
        body = json.dumps({"AET": aet, "Host": host, "Port": int(port)}).encode()
        self.rest("PUT", f"/modalities/{name}", body)
        self.modalities[name] = (aet, host, int(port))

    # -- life cycle ------------------------------------------------------------------------
    def wait_ready(self, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited with status {self.process.returncode}:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"http://{LOOPBACK}:{self.http_port}/system", timeout=1) as r:  # noqa: S310
                    if json.loads(r.read()).get("DicomAet") == self.aet and self._dicom_port_open():
                        return
            except (OSError, ValueError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"Orthanc did not answer on /system within {timeout:.0f} s:\n{self.log_tail()}")

    def _dicom_port_open(self) -> bool:
        try:
            with socket.create_connection((LOOPBACK, self.dicom_port), timeout=1):
                return True
        except OSError:
            return False

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


def start_orthanc(workdir: Path, modalities: dict[str, tuple[str, str, int]] | None = None,
                  attempts: int = 3) -> OrthancPeer:
    """Start Orthanc in ``workdir`` (config, storage, log) and wait until REST and DICOM answer.

    ``modalities`` maps a name to ``(AE title, host, port)``; by default ``MOVE_DEST_AET`` and
    ``OWN_AET`` on free loopback ports. Retries with new ports if one was taken meanwhile.
    """
    binary = orthanc_binary()
    if modalities is None:
        modalities = {"movescp": (MOVE_DEST_AET, LOOPBACK, free_port()),
                      "radesktop": (OWN_AET, LOOPBACK, free_port())}
    last: Exception | None = None
    for attempt in range(attempts):
        run_dir = workdir / f"run{attempt}"
        for sub in ("storage", "index", "tmp"):
            (run_dir / sub).mkdir(parents=True, exist_ok=True)
        peer = OrthancPeer(run_dir, free_port(), free_port(), dict(modalities))
        config = run_dir / "orthanc.json"
        config.write_text(json.dumps(orthanc_config(run_dir, peer.dicom_port, peer.http_port, modalities),
                                     indent=2), encoding="utf-8")
        peer.process = subprocess.Popen(  # noqa: S603 (our own binary and config)
            [binary, "--no-jobs", f"--logfile={peer.log_path}", str(config)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            cwd=run_dir)
        try:
            peer.wait_ready()
            return peer
        except RuntimeError as exc:
            last = exc
            peer.stop()
    raise RuntimeError(f"Orthanc would not start after {attempts} attempts: {last}")


@pytest.fixture(scope="session")
def orthanc(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrthancPeer]:
    """One Orthanc for the session; stopped (terminate, wait) at teardown."""
    peer = start_orthanc(tmp_path_factory.mktemp("orthanc"))
    try:
        yield peer
    finally:
        peer.stop()


# -- a store SCP of our own, for C-MOVE destinations ---------------------------------------------
class StoreSCP:
    """A minimal pynetdicom store SCP on loopback that keeps every received dataset in memory.

    ``delay_s`` slows each C-STORE answer (to cancel a C-MOVE while it runs).

    ``with StoreSCP(aet, port) as scp: ...`` then ``scp.received`` (SOP Instance UID -> dataset)
    and ``scp.wait_for(n)``. Accepts the storage SOP classes pynetdicom knows, every transfer
    syntax it knows, and C-ECHO.
    """

    def __init__(self, aet: str = MOVE_DEST_AET, port: int | None = None, delay_s: float = 0.0) -> None:
        self.aet = aet
        self.delay_s = delay_s  # wait before answering each C-STORE (a slow destination)
        self.port = port or free_port()
        self.received: dict[str, Any] = {}
        self.stores = 0  # every C-STORE, duplicates included
        self._lock = threading.Condition()
        self._server = None

    def _on_store(self, event) -> int:
        if self.delay_s:
            time.sleep(self.delay_s)
        ds = event.dataset
        ds.file_meta = event.file_meta
        with self._lock:
            self.stores += 1
            self.received[str(ds.SOPInstanceUID)] = ds
            self._lock.notify_all()
        return 0x0000

    def wait_for(self, count: int, timeout: float = 30.0) -> bool:
        with self._lock:
            return self._lock.wait_for(lambda: len(self.received) >= count, timeout)

    def __enter__(self) -> "StoreSCP":
        from pynetdicom import AE, AllStoragePresentationContexts, evt
        from pynetdicom.sop_class import Verification  # type: ignore[attr-defined]

        ae = AE(ae_title=self.aet)
        ae.network_timeout = ae.acse_timeout = ae.dimse_timeout = 30
        for cx in AllStoragePresentationContexts[:120]:
            ae.add_supported_context(cx.abstract_syntax, ALL_TRANSFER_SYNTAXES)
        ae.add_supported_context(Verification)
        self._server = ae.start_server((LOOPBACK, self.port), block=False,
                                       evt_handlers=[(evt.EVT_C_STORE, self._on_store)])
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server = None


def _all_transfer_syntaxes() -> list[str]:
    from pydicom.uid import AllTransferSyntaxes

    return list(AllTransferSyntaxes)


ALL_TRANSFER_SYNTAXES = _all_transfer_syntaxes()
