"""The DICOM receiver (store SCP) against real DCMTK peers: ``echoscu`` and ``storescu`` on loopback.

Nothing here skips: without DCMTK the tests fail and say to run ``make setup``.
"""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from ra_desktop.dicomnet.inbox import CANNOT_UNDERSTAND, OUT_OF_RESOURCES, UNKNOWN_STUDY, Inbox
from ra_desktop.dicomnet.listener import StoreListener, decodable_transfer_syntaxes
from ra_desktop.worklist import WorklistStore
from tests.io_fixtures import DATA_STORE_FILES, PYDICOM_FILES, write_dicom

ROOT = Path(__file__).resolve().parent.parent
DEMO = sorted((ROOT / "resources" / "demo").rglob("*.dcm"))
AET = "RADESKTOP"
LOOPBACK = "127.0.0.1"


def _dcmtk(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"DCMTK's {tool} is not installed: run `make setup` (scripts/install-sysdeps.sh installs dcmtk)")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        return s.getsockname()[1]


# storescu proposes the uncompressed transfer syntaxes only, plus the one an option names: files are
# sent in groups, one association per transfer syntax, each proposing that syntax as it is.
_PROPOSE = {
    "1.2.840.10008.1.2.1.99": "-xd", "1.2.840.10008.1.2.4.50": "-xy", "1.2.840.10008.1.2.4.51": "-xx",
    "1.2.840.10008.1.2.4.70": "-xs", "1.2.840.10008.1.2.4.80": "-xt", "1.2.840.10008.1.2.4.81": "-xu",
    "1.2.840.10008.1.2.4.90": "-xv", "1.2.840.10008.1.2.4.91": "-xw", "1.2.840.10008.1.2.5": "-xr",
}


def _storescu_cmd(port: int, files, calling: str, called: str, option: str | None = None) -> list[str]:
    return [_dcmtk("storescu"), "-v", "-R", *([option] if option else []), "-aet", calling, "-aec", called,
            LOOPBACK, str(port), *map(str, files)]


def storescu(port: int, files, *, calling: str = "STORESCU", called: str = AET, timeout: float = 120,
             background: bool = False):
    """``storescu`` of ``files`` (one run per transfer syntax); the runs' outputs joined, the worst
    exit status. ``background``: one uncompressed run as a ``Popen``."""
    if background:
        return subprocess.Popen(_storescu_cmd(port, files, calling, called), stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)
    groups: dict[str | None, list] = {}
    for f in files:
        ts = str(pydicom.dcmread(f, stop_before_pixels=True).file_meta.TransferSyntaxUID)
        groups.setdefault(_PROPOSE.get(ts), []).append(f)
    runs = [subprocess.run(_storescu_cmd(port, group, calling, called, option), capture_output=True, text=True,
                           timeout=timeout) for option, group in groups.items()]
    return subprocess.CompletedProcess(runs[0].args, max(r.returncode for r in runs),
                                       "".join(r.stdout for r in runs), "".join(r.stderr for r in runs))


def echoscu(port: int, *, calling: str = "ECHOSCU", called: str = AET) -> subprocess.CompletedProcess:
    return subprocess.run([_dcmtk("echoscu"), "-aet", calling, "-aec", called, LOOPBACK, str(port)],
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def store():
    s = WorklistStore()
    yield s
    s.close()


@pytest.fixture
def received():
    got: list = []
    lock = threading.Lock()

    def on_received(r):
        with lock:
            got.append(r)
    on_received.items = got
    return on_received


@pytest.fixture
def listener(store, received):
    lst = StoreListener(AET, 0, host=LOOPBACK, worklist=store, on_received=received)
    lst.start()
    yield lst
    lst.stop(grace_s=5)


def _copy_with_new_uids(src: Path, dst: Path, sop_class: str | None = None) -> Path:
    ds = pydicom.dcmread(src)
    uid = generate_uid()
    ds.SOPInstanceUID = uid
    ds.file_meta.MediaStorageSOPInstanceUID = uid
    ds.StudyInstanceUID = generate_uid()
    if sop_class:
        ds.SOPClassUID = sop_class
        ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.save_as(dst, enforce_file_format=True)
    return dst


# (file, SOP class to give it or None): one per transfer syntax the loader decodes, CR and SC.
_CORPUS = [
    ("RG3_J2KR.dcm", None),  # CR, JPEG 2000 lossless (pydicom-data)
    ("RG3_J2KI.dcm", None),  # CR, JPEG 2000
    ("SC_rgb_jpeg_dcmd.dcm", None),  # SC, implicit VR little endian
    ("SC_rgb_small_odd_big_endian.dcm", None),  # explicit VR big endian
    ("image_dfl.dcm", None),  # deflated explicit VR little endian
    ("SC_rgb_jpeg_dcmtk.dcm", None),  # JPEG baseline
    ("JPGExtended.dcm", None),  # JPEG extended
    ("SC_rgb_jpeg_gdcm.dcm", None),  # JPEG lossless SV1
    ("JPEGLSNearLossless_16.dcm", None),  # JPEG-LS near-lossless
    ("emri_small_jpeg_ls_lossless.dcm", "1.2.840.10008.5.1.4.1.1.7"),  # JPEG-LS lossless (sent as SC)
    ("GDCMJ2K_TextGBR.dcm", None),  # JPEG 2000 lossless
    ("SC_rgb_rle_16bit.dcm", None),  # RLE
    ("SC_rgb_16bit_2frame.dcm", None),  # multi-frame
]


def _find(name: str) -> Path:
    for folder in (PYDICOM_FILES, DATA_STORE_FILES):
        if folder is not None and (folder / name).is_file():
            return folder / name
    pytest.fail(f"test file {name} is missing: pydicom and pydicom-data are dev dependencies (make setup)")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    """Third-party files with fresh UIDs (the originals share SOP Instance UIDs), plus a DX and an MG."""
    out = tmp_path_factory.mktemp("corpus")
    files = [_copy_with_new_uids(_find(name), out / name, sop) for name, sop in _CORPUS]
    px = (np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 7) % 4096
    for name, sop_class in (("dx.dcm", "1.2.840.10008.5.1.4.1.1.1.1"), ("dx_proc.dcm", "1.2.840.10008.5.1.4.1.1.1.1.1"),
                            ("mg.dcm", "1.2.840.10008.5.1.4.1.1.1.2")):
        p = write_dicom(out / name, px, StudyInstanceUID=generate_uid(), Modality=name[:2].upper())
        ds = pydicom.dcmread(p)
        ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = sop_class
        ds.save_as(p, enforce_file_format=True)
    files += [out / "dx.dcm", out / "dx_proc.dcm", out / "mg.dcm"]
    return files


def _sop(path: Path) -> str:
    return str(pydicom.dcmread(path, stop_before_pixels=True).SOPInstanceUID)


def _case_ids(store: WorklistStore) -> list[str]:
    return [r.case_id for r in store.rows()]


def _wait(predicate, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def _leftovers(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


# ---- tests ------------------------------------------------------------------------------------
def test_echo(listener):
    r = echoscu(listener.port)
    assert r.returncode == 0, r.stderr


def test_every_transfer_syntax_the_loader_decodes_is_offered():
    offered = set(decodable_transfer_syntaxes())
    assert {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51", "1.2.840.10008.1.2.4.57", "1.2.840.10008.1.2.4.70",
            "1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81", "1.2.840.10008.1.2.4.90", "1.2.840.10008.1.2.4.91",
            "1.2.840.10008.1.2.5"} <= offered


def test_storescu_pushes_land_in_the_worklist_exactly_once(listener, store, received, corpus):
    files = [*DEMO, *corpus]
    assert len(DEMO) >= 6
    expected = {_sop(f) for f in files}
    assert len(expected) == len(files)
    r = storescu(listener.port, files)
    assert r.returncode == 0 and "Response (Success)" in r.stdout + r.stderr, r.stdout + r.stderr
    assert "Store Response (Error" not in r.stdout + r.stderr and "Store Response (Warning" not in r.stderr
    assert sorted(_case_ids(store)) == sorted(expected)
    rows = store.rows()
    assert all(row.status == "new" and row.format == "DICOM" for row in rows)
    assert {r.sop_instance_uid for r in received.items} == expected and all(r.stored for r in received.items)
    for row in rows:  # <study>/<sop>.dcm under the user data folder, owner-only
        p = Path(row.path)
        assert p.parent.parent == listener.inbox.root and p.name == f"{row.case_id}.dcm"
        assert p.stat().st_mode & 0o777 == 0o600 and p.parent.stat().st_mode & 0o777 == 0o700
    dx = next(row for row in rows if row.case_id == _sop(corpus[-3]))
    assert pydicom.dcmread(dx.path).SOPClassUID == "1.2.840.10008.5.1.4.1.1.1.1"

    # Pushed again: success for the sender, nothing new anywhere.
    r = storescu(listener.port, files)
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(_case_ids(store)) == sorted(expected)
    again = received.items[len(expected):]
    assert len(again) == len(files) and all(x.ok and x.duplicate and x.row_id is None for x in again)
    assert len(list(listener.inbox.root.glob("*/*.dcm"))) == len(expected)


def test_original_test_files_sharing_uids_land_once_each(listener, store):
    """pydicom-data's originals: several files carry the same SOP Instance UID. The same image in
    another encoding (big endian) lands once; another image (RLE 16-bit) is kept as a conflict."""
    names = ["RG1_UNCR.dcm", "RG1_J2KR.dcm", "RG3_UNCR.dcm", "RG3_J2KR.dcm", "SC_rgb_rle.dcm",
             "SC_rgb_rle_16bit.dcm", "JPEG2000.dcm", "SC_rgb_small_odd.dcm", "SC_rgb_small_odd_big_endian.dcm"]
    files = [_find(n) for n in names]
    r = storescu(listener.port, files)
    assert r.returncode == 0, r.stdout + r.stderr
    ids = _case_ids(store)
    conflicts = [i for i in ids if i.startswith("conflict:")]
    assert sorted(set(ids) - set(conflicts)) == sorted({_sop(f) for f in files}) and len(ids) < len(files)
    assert len(conflicts) == 1 and len(ids) == len(files) - 1


def test_rejected_caller_does_not_disturb_a_concurrent_transfer(store, received):
    lst = StoreListener(AET, 0, host=LOOPBACK, allowed_callers=("GOODSCU",), worklist=store, on_received=received)
    lst.start()
    try:
        big = [_find("RG1_UNCR.dcm"), *DEMO]  # a few seconds of transfer
        good = storescu(lst.port, big, calling="GOODSCU", background=True)
        bad = [storescu(lst.port, DEMO[:1], calling="INTRUDER", background=True) for _ in range(3)]
        out_good = good.communicate(timeout=120)[0]
        outs_bad = [b.communicate(timeout=60)[0] for b in bad]
        assert good.returncode == 0, out_good
        for b, out in zip(bad, outs_bad):
            assert b.returncode != 0 and "Association Rejected" in out, out
        assert echoscu(lst.port, calling="STRANGER").returncode != 0  # echo is not a way in either
        assert echoscu(lst.port, calling="GOODSCU").returncode == 0
        assert echoscu(lst.port, calling="GOODSCU", called="OTHERAE").returncode != 0  # not our title
        assert len(store) == len(big)
        assert lst.totals["rejected"] >= 5
    finally:
        lst.stop(grace_s=5)


def test_garbage_on_the_port_does_not_stop_the_listener(listener, store):
    good = storescu(listener.port, [_find("RG1_UNCR.dcm"), *DEMO], background=True)
    rng = np.random.default_rng(1)
    payloads = [
        rng.integers(0, 256, 65536, dtype=np.uint8).tobytes(),
        b"\x01\x00" + (0xFFFFFFF0).to_bytes(4, "big") + b"\x00" * 100,  # an A-ASSOCIATE-RQ claiming 4 GB
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"\x04\x00\x00\x00\x00\x10" + b"\xff" * 16,  # P-DATA before any association
        b"",
    ]
    for data in payloads:
        with socket.create_connection((LOOPBACK, listener.port), timeout=10) as s:
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                s.settimeout(5)
                s.recv(1024)
            except OSError:
                pass  # reset by the listener: fine
    out = good.communicate(timeout=120)[0]
    assert good.returncode == 0, out
    assert len(store) == len(DEMO) + 1
    assert echoscu(listener.port).returncode == 0
    assert storescu(listener.port, DEMO[:2]).returncode == 0  # and it still stores


def test_malformed_dataset_gets_a_failure_status_and_leaves_nothing(listener, store, received, tmp_path):
    bad = write_dicom(tmp_path / "truncated.dcm", rows=512, cols=512, pixel_bytes=b"\x00" * 1000,
                      StudyInstanceUID=generate_uid())
    r = storescu(listener.port, [bad])
    text = r.stdout + r.stderr
    assert "Received Store Response (Error: CannotUnderstand)" in text, text
    assert len(received.items) == 1 and received.items[0].status == CANNOT_UNDERSTAND
    assert "pixel" in received.items[0].reason
    assert len(store) == 0 and _leftovers(listener.inbox.root) == []
    assert echoscu(listener.port).returncode == 0


def test_oversized_dataset_is_refused_while_it_arrives(store, received, tmp_path):
    lst = StoreListener(AET, 0, host=LOOPBACK, worklist=store, on_received=received, max_bytes=1_000_000)
    lst.start()
    try:
        r = storescu(lst.port, [_find("RG1_UNCR.dcm")])  # 7.2 MB
        assert r.returncode != 0 or "Out of Resources" in r.stdout + r.stderr
        assert len(store) == 0 and _leftovers(lst.inbox.root) == []
        assert lst.totals["failed"] == 1
        small = write_dicom(tmp_path / "small.dcm", np.zeros((32, 32), np.uint16), StudyInstanceUID=generate_uid())
        assert storescu(lst.port, [small]).returncode == 0 and len(store) == 1
    finally:
        lst.stop(grace_s=5)


def test_inbox_refuses_hostile_uids_and_oversize(tmp_path):
    inbox = Inbox(tmp_path / "received", max_bytes=200_000)
    src = write_dicom(tmp_path / "a.dcm", np.zeros((16, 16), np.uint16), StudyInstanceUID="../../../evil")
    data = src.read_bytes()
    for uid in ("../../etc/passwd", "1.2.3/../../4", "1.2." + "3" * 100, "", "1.2.3\0"):
        r = inbox.receive(data, uid)
        assert r.status == CANNOT_UNDERSTAND and r.path is None, uid
    assert inbox.receive(b"\x00" * 300_000, "1.2.3").status == OUT_OF_RESOURCES
    # A valid SOP Instance UID but a hostile Study Instance UID: the file goes to unknown-study/.
    sop = str(pydicom.dcmread(src).SOPInstanceUID)
    r = inbox.receive(data, sop)
    assert r.stored and r.path == inbox.root / UNKNOWN_STUDY / f"{sop}.dcm" and r.case.case_id == sop
    # The request announcing another SOP Instance UID than the dataset's is refused.
    assert inbox.receive(data, "1.2.3.4").status == CANNOT_UNDERSTAND
    assert sorted(p.relative_to(inbox.root) for p in _leftovers(inbox.root)) == [Path(UNKNOWN_STUDY, f"{sop}.dcm")]
    assert not list((tmp_path).glob("**/evil*"))


def test_inbox_cleans_half_written_files_of_a_crash(tmp_path):
    root = tmp_path / "received"
    Inbox(root)
    (root / ".incoming" / "dead.part").write_bytes(b"half")
    Inbox(root)
    assert _leftovers(root) == []


def test_stop_waits_for_a_transfer_in_flight_and_frees_the_port(store):
    gate = threading.Event()
    lst = StoreListener(AET, 0, host=LOOPBACK, worklist=store, on_received=lambda r: gate.wait(10))
    lst.start()
    port = lst.port
    proc = storescu(port, DEMO[:3], background=True)
    assert _wait(lambda: lst._busy > 0)  # the first C-STORE is being handled (held in the callback)
    threading.Timer(1.0, gate.set).start()
    t0 = time.monotonic()
    lst.stop(grace_s=0)  # aborts the association, but only once the store in hand is complete
    assert time.monotonic() - t0 >= 0.9
    out = proc.communicate(timeout=60)[0]
    rows = store.rows()
    assert 1 <= len(rows) <= 3 and all(Path(r.path).is_file() for r in rows), out
    assert _leftovers(lst.inbox.root / ".incoming") == []
    _port_is_free(port)
    again = StoreListener(AET, port, host=LOOPBACK, worklist=store)  # and a listener can take it again
    again.start()
    try:
        assert storescu(port, DEMO[:3]).returncode == 0 and len(store) == 3  # resent: the rest arrive
    finally:
        again.stop(grace_s=5)


def _port_is_free(port: int) -> None:
    """A listener can open the port again (as pynetdicom does: SO_REUSEADDR, so the closed
    connections' TIME_WAIT does not count)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((LOOPBACK, port))
        s.listen()


def _cli_env(home: Path) -> dict:
    env = dict(os.environ, RA_DESKTOP_HOME=str(home), PYTHONPATH=str(ROOT))
    env.pop("QT_QPA_PLATFORM", None)
    return env


def test_cli_listen_receives_and_stops_on_sigterm(tmp_path):
    from tests.tiny_model import make_tiny_model_folder

    model = make_tiny_model_folder(tmp_path / "m")
    home = tmp_path / "home"
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "ra_desktop", "listen", "--aet", "CLINICRX", "--port", str(port), "--host", LOOPBACK,
         "--allow", "STORESCU", "ECHOSCU", "--analyse", "--model", str(model), "--device", "cpu"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_cli_env(home), cwd=ROOT)
    try:
        assert _wait(lambda: proc.poll() is None and echoscu(port, called="CLINICRX").returncode == 0, 90), \
            proc.stdout.read() if proc.poll() is not None else "listener did not start"
        r = storescu(port, DEMO[:2], called="CLINICRX")
        assert r.returncode == 0, r.stdout + r.stderr
        assert storescu(port, DEMO[:1], called="CLINICRX", calling="NOTALLOWED").returncode != 0
        db = home / "data" / "worklist.sqlite"
        ws = WorklistStore(db)
        assert _wait(lambda: [row.status for row in ws.rows()] == ["done", "done"], 60), ws.rows()
        assert all(row.probability is not None and row.model_name == "tiny-test-model" for row in ws.rows())
        ws.close()
        # A transfer under way when SIGTERM arrives is finished, then the process exits 0.
        late = storescu(port, [_find("RG1_UNCR.dcm")], called="CLINICRX", background=True)
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        out = proc.communicate(timeout=60)[0]
        late_out = late.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out
    assert "association from STORESCU" in out and "stopped:" in out
    assert "PHANTOM" not in out  # no patient names or IDs in the log
    ws = WorklistStore(home / "data" / "worklist.sqlite")
    n = len(ws)
    assert n in (2, 3)
    if late.returncode == 0:  # the sender was told "stored": it is
        assert n == 3, late_out
    print(f"transfer under way at SIGTERM: storescu exit {late.returncode}, {n - 2} stored")
    assert all(Path(row.path).is_file() for row in ws.rows())
    assert not list((home / "data" / "received" / ".incoming").iterdir())
    _port_is_free(port)


def test_a_reused_sop_uid_with_other_pixels_is_kept_beside_the_first(tmp_path, store):
    from ra_desktop.dicomnet.inbox import add_to_worklist

    inbox = Inbox(tmp_path / "received")
    sop, study = generate_uid(), generate_uid()
    first = write_dicom(tmp_path / "a.dcm", np.full((16, 16), 100, np.uint16), SOPInstanceUID=sop,
                        StudyInstanceUID=study)
    other = write_dicom(tmp_path / "b.dcm", np.full((16, 16), 200, np.uint16), SOPInstanceUID=sop,
                        StudyInstanceUID=study)
    a = add_to_worklist(store, inbox.receive(first.read_bytes(), sop))
    b = add_to_worklist(store, inbox.receive(other.read_bytes(), sop))
    assert a.stored and b.stored and b.ok  # the sender sees success: nothing of it was dropped
    assert a.path.name == f"{sop}.dcm" and b.path.parent == a.path.parent and b.path != a.path
    assert b.path.read_bytes() == other.read_bytes() and a.path.read_bytes() == first.read_bytes()
    # the worklist shows both, the second as a conflict (never under the first one's case id)
    rows = store.rows()
    assert [r.path for r in rows] == [str(a.path), str(b.path)]
    assert rows[0].case_id == sop and rows[1].case_id.startswith("conflict:")
    # each one sent again is a duplicate of its own copy; nothing more is written
    for src, kept in ((first, a.path), (other, b.path)):
        again = add_to_worklist(store, inbox.receive(src.read_bytes(), sop))
        assert again.ok and again.duplicate and again.path == kept and again.row_id is None
    assert len(_leftovers(inbox.root)) == 2 and len(store) == 2
    assert Inbox(inbox.root).find(sop) == a.path  # the first copy stays the one its UID names
