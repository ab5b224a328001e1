"""Our DICOM SCU (echo, C-FIND, C-GET, C-MOVE, C-STORE, the ``dicom`` CLI) against a real Orthanc.

Orthanc runs once for the module (tests/dicom_peers.py); DCMTK's echoscu/findscu check once
that the fixture is a real peer. Nothing here skips: a missing Orthanc or DCMTK fails with a
pointer to ``make setup``.
"""
from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.uid import generate_uid

from ra_desktop.cancel import CancelToken
from ra_desktop.dicomnet.nodes import DicomNetError, RemoteNode, echo, resolve_node
from ra_desktop.dicomnet.query import find_priors, find_studies
from ra_desktop.dicomnet.retrieve import get_studies, move_studies
from ra_desktop.dicomnet.send import send
from tests.dicom_peers import MOVE_DEST_AET, OrthancPeer, StoreSCP, dcmtk_tool, free_port
from tests.dicom_peers import orthanc  # noqa: F401 - the fixture
from tests.io_fixtures import PYDICOM_FILES, write_dicom

CALLING = "RADESKTOP"
DEMO = Path(__file__).resolve().parent.parent / "resources" / "demo"
BIG_STUDY_SIZE = 12
PYDICOM_NAMES = ("CT_small.dcm", "MR_small.dcm")


def _image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4000, (256, 256)).astype(np.uint16)


def _study(folder: Path, count: int, **tags) -> tuple[str, list[Path]]:
    """``count`` small CR images in one new study; (study UID, files)."""
    study = generate_uid()
    series = generate_uid()
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        files.append(write_dicom(folder / f"{i:03d}.dcm", _image(i), StudyInstanceUID=study, SeriesInstanceUID=series,
                                 InstanceNumber=i + 1, **tags))
    return study, files


@pytest.fixture(scope="module")
def pacs(orthanc: OrthancPeer, tmp_path_factory: pytest.TempPathFactory) -> dict:  # noqa: F811
    """Orthanc holding the demo DICOMs, two pydicom test files, a 12-instance study and a patient
    with earlier hand studies (and a foot and a CT that are not hand studies)."""
    orthanc.clear()
    tmp = tmp_path_factory.mktemp("pacs-data")
    demo = sorted(DEMO.glob("*/*.dcm"))
    big_uid, big_files = _study(tmp / "big", BIG_STUDY_SIZE, PatientID="BIG-1", PatientName="BIG^STUDY",
                                StudyDate="20230101", BodyPartExamined="HAND")
    priors = {}
    for date, modality, part in (("20210301", "DX", "HAND"), ("20200301", "CR", "HAND"), ("20190301", "DX", ""),
                                 ("20180301", "DX", "FOOT"), ("20170301", "CT", "HAND")):
        uid, _files = _study(tmp / f"prior-{date}", 1, PatientID="PRIOR-1", PatientName="PRIOR^PAT",
                             StudyDate=date, Modality=modality, BodyPartExamined=part) if part else \
            _study(tmp / f"prior-{date}", 1, PatientID="PRIOR-1", PatientName="PRIOR^PAT", StudyDate=date,
                   Modality=modality)
        priors[date] = uid
    uploads = [*demo, *(PYDICOM_FILES / n for n in PYDICOM_NAMES), *big_files,
               *sorted(tmp.glob("prior-*/*.dcm"))]
    for f in uploads:
        assert orthanc.upload(f)["Status"] == "Success"
    return {"node": RemoteNode.parse(orthanc.node), "demo": demo, "big_uid": big_uid, "big_files": big_files,
            "priors": priors, "count": len(uploads)}


def _sop_uids(files) -> set[str]:
    return {str(pydicom.dcmread(f, stop_before_pixels=True).SOPInstanceUID) for f in files}


# ---- C-ECHO ------------------------------------------------------------------------------------
def test_echo_ok(orthanc):  # noqa: F811
    result = echo(RemoteNode.parse(orthanc.node), calling_aet=CALLING)
    assert result.ok, result.error
    assert result.status == 0 and result.round_trip_ms is not None and result.round_trip_ms > 0


def test_echo_to_a_closed_port_fails_fast_and_says_why():
    node = RemoteNode("NOBODY", "127.0.0.1", free_port())
    start = time.monotonic()
    result = echo(node, calling_aet=CALLING, timeout=5)
    assert time.monotonic() - start < 2
    assert not result.ok and result.status is None
    assert str(node) in result.error and "connection refused" in result.error


def test_echo_to_a_silent_peer_times_out():
    """A peer that accepts the connection and never answers cannot hang the caller."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    held = []
    t = threading.Thread(target=lambda: held.append(server.accept()), daemon=True)
    t.start()
    try:
        node = RemoteNode("SILENT", "127.0.0.1", server.getsockname()[1])
        start = time.monotonic()
        result = echo(node, calling_aet=CALLING, timeout=1)
        assert time.monotonic() - start < 5
        assert not result.ok and "no answer" in result.error, result.error
    finally:
        for conn, _addr in held:
            conn.close()
        server.close()


def test_echo_rejected_association_gives_the_reason():
    from pynetdicom import AE
    from pynetdicom.sop_class import Verification

    ae = AE(ae_title="STRICT")
    ae.require_called_aet = True
    ae.add_supported_context(Verification)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False)
    try:
        result = echo(RemoteNode("WRONGNAME", "127.0.0.1", port), calling_aet=CALLING, timeout=5)
    finally:
        server.shutdown()
    assert not result.ok
    assert "rejected" in result.error and "called ae title not recognised" in result.error.lower(), result.error


def test_node_from_settings_spelling_and_configured_title():
    from ra_desktop.settings import Settings

    node = RemoteNode.parse("PACS@pacs.example:104")
    assert (node.ae_title, node.host, node.port) == ("PACS", "pacs.example", 104)
    assert str(node) == "PACS@pacs.example:104"
    assert resolve_node("PACS", Settings(dicom_nodes=("PACS@pacs.example:104",))) == node
    with pytest.raises(ValueError, match="unknown DICOM node"):
        resolve_node("OTHER", Settings(dicom_nodes=("PACS@pacs.example:104",)))
    with pytest.raises(ValueError):
        RemoteNode.parse("no-port@host")


# ---- C-FIND ------------------------------------------------------------------------------------
def test_find_by_patient_id_and_date_range(pacs):
    node = pacs["node"]
    one = find_studies(node, calling_aet=CALLING, patient_id="PHANTOM-900000-4",
                       date_from="2020-05-01", date_to="2020-05-31")
    assert [m.patient_id for m in one] == ["PHANTOM-900000-4"]
    m = one[0]
    assert m.study_date == "20200504" and m.modalities == ("DX",) and m.num_instances == 1
    assert m.study_uid == str(pydicom.dcmread(DEMO / "RA" / "phantom_900000_000004.dcm",
                                              stop_before_pixels=True).StudyInstanceUID)
    assert not find_studies(node, calling_aet=CALLING, patient_id="PHANTOM-900000-4", date_from="20200601")
    early = find_studies(node, calling_aet=CALLING, patient_id="PHANTOM-900000-*",
                         date_from="20200101", date_to="20200331")
    assert sorted(m.patient_id for m in early) == ["PHANTOM-900000-0", "PHANTOM-900000-2"]
    assert not early.truncated


def test_find_by_modality_and_name(pacs):
    node = pacs["node"]
    ct = find_studies(node, calling_aet=CALLING, modality="CT")
    ct_patient = str(pydicom.dcmread(PYDICOM_FILES / "CT_small.dcm", stop_before_pixels=True).PatientID)
    assert ct_patient in {m.patient_id for m in ct}
    assert all("CT" in m.modalities for m in ct)
    big = find_studies(node, calling_aet=CALLING, patient_name="BIG^*")
    assert [m.study_uid for m in big] == [pacs["big_uid"]] and big[0].num_instances == BIG_STUDY_SIZE


def test_find_caps_the_matches(pacs):
    everything = find_studies(pacs["node"], calling_aet=CALLING)
    assert len(everything) >= 10 and not everything.truncated
    capped = find_studies(pacs["node"], calling_aet=CALLING, max_matches=3)
    assert len(capped) == 3 and capped.truncated
    # the association ended cleanly: the next query works
    assert len(find_studies(pacs["node"], calling_aet=CALLING, patient_id="BIG-1")) == 1


def test_find_results_from_a_hostile_peer_are_cleaned_and_shortened():
    from pydicom import Dataset

    from ra_desktop.dicomnet.query import NAME_LIMIT, TEXT_LIMIT, _match_from

    ds = Dataset()
    ds.StudyInstanceUID = "1.2.3.4"
    ds.PatientName = "Doe\x1b[31m^Jane" + "x" * 10_000
    ds.PatientID = "<b>PID</b>\x00\n" + "9" * 500
    ds.StudyDate = "2024-01-01"
    m = _match_from(ds)
    assert "\x1b" not in m.patient_name and len(m.patient_name) <= NAME_LIMIT
    assert "\x00" not in m.patient_id and "\n" not in m.patient_id and len(m.patient_id) <= TEXT_LIMIT
    assert m.study_date == ""  # not YYYYMMDD
    ds.StudyInstanceUID = "1.2.3/../x"
    assert _match_from(ds) is None  # a study that cannot be named safely is left out


def test_find_rejects_bad_keys(pacs):
    with pytest.raises(ValueError):
        find_studies(pacs["node"], calling_aet=CALLING, patient_id="A\\B")
    with pytest.raises(ValueError):
        find_studies(pacs["node"], calling_aet=CALLING, date_from="2021-02-30")
    with pytest.raises(ValueError):
        find_studies(pacs["node"], calling_aet=CALLING, date_from="20220101", date_to="20210101")
    with pytest.raises(DicomNetError, match="connection refused"):
        find_studies(RemoteNode("X", "127.0.0.1", free_port()), calling_aet=CALLING)


def test_find_priors_gives_earlier_hand_studies_newest_first(pacs):
    priors = find_priors(pacs["node"], "PRIOR-1", "2021-03-01", calling_aet=CALLING)
    p = pacs["priors"]
    # 2021 is the current study (not before), 2018 is a foot, 2017 a CT
    assert [m.study_uid for m in priors] == [p["20200301"], p["20190301"]]
    assert [m.study_date for m in priors] == ["20200301", "20190301"]
    with pytest.raises(ValueError, match="exact"):
        find_priors(pacs["node"], "PRIOR-*", "2021-03-01", calling_aet=CALLING)


# ---- C-GET / C-MOVE ----------------------------------------------------------------------------
def test_c_get_stores_every_instance_once(pacs, tmp_path):
    seen = []
    results = get_studies(pacs["node"], [pacs["big_uid"]], tmp_path, calling_aet=CALLING, progress=seen.append)
    (r,) = results
    assert r.ok, r
    assert r.completed == BIG_STUDY_SIZE and r.failed == 0 and r.remaining == 0
    files = sorted((tmp_path / pacs["big_uid"]).glob("*.dcm"))
    assert len(files) == BIG_STUDY_SIZE == len(r.files)
    assert _sop_uids(files) == _sop_uids(pacs["big_files"])
    assert not list(tmp_path.rglob("*.part"))
    assert seen and seen[-1].completed == BIG_STUDY_SIZE
    # again: nothing new is written, every instance is a duplicate
    (again,) = get_studies(pacs["node"], [pacs["big_uid"]], tmp_path, calling_aet=CALLING)
    assert again.ok and again.duplicates == BIG_STUDY_SIZE
    assert len(list((tmp_path / pacs["big_uid"]).glob("*.dcm"))) == BIG_STUDY_SIZE


def test_c_get_several_studies_on_one_association(pacs, tmp_path):
    uids = [str(pydicom.dcmread(f, stop_before_pixels=True).StudyInstanceUID) for f in pacs["demo"][:3]]
    out = tmp_path / "got"
    results = get_studies(pacs["node"], uids, out, calling_aet=CALLING)
    assert [r.completed for r in results] == [1, 1, 1] and all(r.ok for r in results)
    assert sorted(p.name for p in out.iterdir() if not p.name.startswith(".")) == sorted(uids)


def test_c_move_delivers_to_a_storage_scp(pacs, orthanc):  # noqa: F811
    with StoreSCP(MOVE_DEST_AET, orthanc.port_of(MOVE_DEST_AET)) as scp:
        (r,) = move_studies(pacs["node"], [pacs["big_uid"]], MOVE_DEST_AET, calling_aet=CALLING)
        assert scp.wait_for(BIG_STUDY_SIZE, timeout=10)
    assert r.ok, r
    assert r.completed == BIG_STUDY_SIZE and r.failed == 0
    assert set(scp.received) == _sop_uids(pacs["big_files"])


def test_c_move_to_an_unknown_destination_fails_clearly(pacs):
    (r,) = move_studies(pacs["node"], [pacs["big_uid"]], "NOSUCHAE", calling_aet=CALLING)
    assert not r.ok and r.error and str(pacs["node"]) in r.error


def test_cancel_during_c_get_stops_it(pacs, tmp_path):
    token = CancelToken()

    def progress(p):
        if p.completed >= 2:
            token.cancel()

    start = time.monotonic()
    (r,) = get_studies(pacs["node"], [pacs["big_uid"]], tmp_path, calling_aet=CALLING, progress=progress,
                       cancel=token)
    assert time.monotonic() - start < 10
    assert r.cancelled and not r.ok
    assert 2 <= r.completed < BIG_STUDY_SIZE
    assert len(list((tmp_path / pacs["big_uid"]).glob("*.dcm"))) == r.completed
    # Orthanc is still fine afterwards
    assert echo(pacs["node"], calling_aet=CALLING).ok


def test_cancel_during_c_move_stops_it(pacs, orthanc):  # noqa: F811
    token = CancelToken()

    def progress(p):
        if p.completed >= 1:
            token.cancel()

    with StoreSCP(MOVE_DEST_AET, orthanc.port_of(MOVE_DEST_AET), delay_s=0.5) as scp:
        start = time.monotonic()
        (r,) = move_studies(pacs["node"], [pacs["big_uid"]], MOVE_DEST_AET, calling_aet=CALLING,
                            progress=progress, cancel=token)
        elapsed = time.monotonic() - start
    assert elapsed < 0.5 * BIG_STUDY_SIZE
    assert r.cancelled and not r.ok, r
    assert len(scp.received) < BIG_STUDY_SIZE
    assert echo(pacs["node"], calling_aet=CALLING).ok


def test_cancel_before_start_retrieves_nothing(pacs, tmp_path):
    token = CancelToken()
    token.cancel()
    (r,) = get_studies(pacs["node"], [pacs["big_uid"]], tmp_path, calling_aet=CALLING, cancel=token)
    assert r.cancelled and r.completed == 0


# ---- C-STORE -----------------------------------------------------------------------------------
def test_send_stores_and_reads_back_identical(orthanc, tmp_path):  # noqa: F811
    path = write_dicom(tmp_path / "new.dcm", _image(99), PatientID="SEND-1", PatientName="SEND^TEST",
                       StudyInstanceUID=generate_uid(), SeriesInstanceUID=generate_uid(), StudyDate="20240102")
    ds = pydicom.dcmread(path)
    seen = []
    result = send(RemoteNode.parse(orthanc.node), [path], calling_aet=CALLING, progress=seen.append)
    assert result.ok and result.sent == 1, result.instances
    assert result.instances[0].status == 0 and result.instances[0].sop_instance_uid == ds.SOPInstanceUID
    assert seen[-1].completed == 1 and seen[-1].remaining == 0
    oid = orthanc.instance_by_sop_uid(ds.SOPInstanceUID)
    assert oid is not None
    back = pydicom.dcmread(pydicom.filebase.DicomBytesIO(orthanc.file(oid)))
    assert back == ds  # every element of the dataset, pixel data included
    assert orthanc.tags(oid)["PatientID"] == "SEND-1"


def test_send_one_failure_does_not_stop_the_rest(orthanc, tmp_path):  # noqa: F811
    good = [write_dicom(tmp_path / f"g{i}.dcm", _image(i), PatientID="SEND-2", StudyInstanceUID=generate_uid(),
                        SeriesInstanceUID=generate_uid())
            for i in range(2)]
    not_dicom = tmp_path / "notes.txt"
    not_dicom.write_text("not a DICOM file")
    odd = pydicom.dcmread(good[0])
    odd.SOPClassUID = "1.2.3.4.5.6.7"  # a class nobody knows: Orthanc refuses the context
    odd.SOPInstanceUID = generate_uid()
    odd.file_meta.MediaStorageSOPClassUID = odd.SOPClassUID
    odd.file_meta.MediaStorageSOPInstanceUID = odd.SOPInstanceUID
    result = send(RemoteNode.parse(orthanc.node), [good[0], not_dicom, odd, good[1]], calling_aet=CALLING)
    ok = [i.ok for i in result.instances]
    assert ok == [True, False, False, True], result.instances
    assert "not a readable DICOM file" in result.instances[1].error
    assert "does not accept" in result.instances[2].error
    assert result.sent == 2 and not result.ok
    for f in good:
        assert orthanc.instance_by_sop_uid(str(pydicom.dcmread(f).SOPInstanceUID)) is not None


def test_send_sends_in_memory_datasets_and_compressed_files(orthanc):  # noqa: F811
    ds = pydicom.dcmread(PYDICOM_FILES / "MR_small.dcm")
    ds.SOPInstanceUID = generate_uid()
    del ds.file_meta  # built in memory: no transfer syntax yet
    jpeg2000 = PYDICOM_FILES / "JPEG2000.dcm"
    result = send(RemoteNode.parse(orthanc.node), [ds, jpeg2000], calling_aet=CALLING)
    assert result.ok, result.instances
    assert "file_meta" not in ds.__dict__ or "TransferSyntaxUID" not in ds.file_meta  # caller's dataset untouched
    oid = orthanc.instance_by_sop_uid(str(pydicom.dcmread(jpeg2000, stop_before_pixels=True).SOPInstanceUID))
    meta = pydicom.dcmread(pydicom.filebase.DicomBytesIO(orthanc.file(oid)), stop_before_pixels=True).file_meta
    assert meta.TransferSyntaxUID == pydicom.dcmread(jpeg2000, stop_before_pixels=True).file_meta.TransferSyntaxUID


def test_send_to_nobody_raises_with_the_reason(tmp_path):
    path = write_dicom(tmp_path / "x.dcm", _image(1))
    with pytest.raises(DicomNetError, match="connection refused"):
        send(RemoteNode("X", "127.0.0.1", free_port()), [path], calling_aet=CALLING)


# ---- CLI ---------------------------------------------------------------------------------------
def test_cli_echo_and_find_json(pacs, orthanc, capsys):  # noqa: F811
    from ra_desktop.cli import main
    from ra_desktop.settings import Settings, save_settings

    assert main(["dicom", "echo", orthanc.node]) == 0
    assert "C-ECHO ok" in capsys.readouterr().out
    save_settings(Settings(dicom_nodes=(orthanc.node,)))  # the test's own RA_DESKTOP_HOME
    assert main(["dicom", "echo", "ORTHANC"]) == 0
    capsys.readouterr()
    assert main(["dicom", "find", "ORTHANC", "--patient-id", "PHANTOM-900000-*", "--date-from", "2020-01-01",
                 "--date-to", "2020-03-31", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert sorted(r["patient_id"] for r in rows) == ["PHANTOM-900000-0", "PHANTOM-900000-2"]
    assert main(["dicom", "echo", f"X@127.0.0.1:{free_port()}"]) == 2
    assert "connection refused" in capsys.readouterr().err
    assert main(["dicom", "echo", "NOTCONFIGURED"]) == 2


def test_cli_get_and_send(pacs, orthanc, tmp_path, capsys):  # noqa: F811
    from ra_desktop.cli import main

    assert main(["dicom", "get", orthanc.node, pacs["big_uid"], "--out", str(tmp_path / "got")]) == 0
    assert len(list((tmp_path / "got" / pacs["big_uid"]).glob("*.dcm"))) == BIG_STUDY_SIZE
    path = write_dicom(tmp_path / "s.dcm", _image(5), PatientID="SEND-3", StudyInstanceUID=generate_uid(),
                        SeriesInstanceUID=generate_uid())
    assert main(["dicom", "send", orthanc.node, str(path)]) == 0
    assert "1 of 1 stored" in capsys.readouterr().out


# ---- DCMTK against the same fixture ------------------------------------------------------------
def test_dcmtk_echoscu_and_findscu_talk_to_the_fixture(pacs, orthanc):  # noqa: F811
    port = str(orthanc.dicom_port)
    echo_run = subprocess.run([dcmtk_tool("echoscu"), "-aet", CALLING, "-aec", orthanc.aet, "127.0.0.1", port],
                              capture_output=True, text=True, timeout=30)
    assert echo_run.returncode == 0, echo_run.stderr
    find_run = subprocess.run([dcmtk_tool("findscu"), "-S", "-aet", CALLING, "-aec", orthanc.aet,
                               "-k", "QueryRetrieveLevel=STUDY", "-k", "PatientID=BIG-1", "-k", "StudyInstanceUID",
                               "127.0.0.1", port], capture_output=True, text=True, timeout=30)
    assert find_run.returncode == 0, find_run.stderr
    assert pacs["big_uid"] in find_run.stdout + find_run.stderr


def test_c_move_to_our_own_listener(pacs, orthanc, tmp_path):  # noqa: F811
    """C-MOVE to RA Desktop's own store SCP (dicomnet.listener): every instance lands in its inbox."""
    from ra_desktop.dicomnet.inbox import Inbox
    from ra_desktop.dicomnet.listener import StoreListener
    from tests.dicom_peers import OWN_AET

    inbox = Inbox(tmp_path / "received")
    listener = StoreListener(OWN_AET, orthanc.port_of(OWN_AET), host="127.0.0.1", inbox=inbox)
    listener.start()
    try:
        (r,) = move_studies(pacs["node"], [pacs["big_uid"]], OWN_AET, calling_aet=CALLING)
    finally:
        listener.stop()
    assert r.ok and r.completed == BIG_STUDY_SIZE, r
    files = sorted((tmp_path / "received" / pacs["big_uid"]).glob("*.dcm"))
    assert _sop_uids(files) == _sop_uids(pacs["big_files"])
