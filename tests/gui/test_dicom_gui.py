"""The DICOM node in the window, against real peers: DCMTK's storescu pushes to our listener and
the rows appear live; the query dialog finds, retrieves and fetches priors from Orthanc; results go
back to Orthanc as SR, Secondary Capture and Encapsulated PDF. Nothing is mocked but dialogs."""
from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import pydicom
import pytest
from pydicom.uid import generate_uid
from PySide6.QtWidgets import QFileDialog, QInputDialog

from ra_desktop import paths
from ra_desktop.settings import Settings
from tests.dicom_peers import dcmtk_tool, free_port, orthanc  # noqa: F401 - the fixture
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui

DEMO_DICOM = sorted(paths.demo_dir().glob("*/*.dcm"))


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _settings(**changes) -> Settings:
    return Settings(explanations=("gradcam",), reader_name="Dr Test").replace(**changes)


def test_listener_is_off_until_enabled_then_rows_arrive_live(make_window, qtbot):
    port = free_port()
    w = make_window(None, _settings(dicom_port=port))
    assert w.dicom.listener is None and not _port_open(port)
    assert "not receiving" in w.dicom.indicator.text()
    w.receive_action.trigger()  # DICOM > Receive images
    assert w.dicom.listener is not None and _port_open(port)
    assert "RADESKTOP" in w.dicom.indicator.text() and str(port) in w.dicom.indicator.text()
    assert w.settings.dicom_listener_enabled  # remembered

    files = [str(p) for p in DEMO_DICOM[:3]]
    out = subprocess.run([dcmtk_tool("storescu"), "-aec", "RADESKTOP", "-aet", "MODALITY", "127.0.0.1",
                          str(port), *files], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    wait_rows(qtbot, w, 3)
    qtbot.waitUntil(lambda: "3 received" in w.dicom.indicator.text(), timeout=5000)
    received = [r for r in w.worklist.model.rows() if "received" in r.path]
    assert len(received) == 3 and {r.patient_id for r in received} == {
        pydicom.dcmread(f, stop_before_pixels=True).PatientID for f in files}
    # The same instances again: stored once, listed once
    subprocess.run([dcmtk_tool("storescu"), "-aec", "RADESKTOP", "127.0.0.1", str(port), *files],
                   capture_output=True, timeout=60, check=True)
    qtbot.wait(500)
    assert w.worklist.model.rowCount() == 3 and len(w.store.rows()) == 3

    w.receive_action.trigger()  # off again: the port is free
    assert w.dicom.listener is None and not _port_open(port)


def test_received_studies_are_analysed_when_asked(make_window, tiny_model_dir, qtbot):
    port = free_port()
    w = make_window(tiny_model_dir, _settings(dicom_port=port, dicom_listener_enabled=True, dicom_auto_analyse=True))
    assert w.dicom.listener is not None
    subprocess.run([dcmtk_tool("storescu"), "-aec", "RADESKTOP", "127.0.0.1", str(port), str(DEMO_DICOM[0])],
                   capture_output=True, timeout=60, check=True)
    wait_rows(qtbot, w, 1)
    qtbot.waitUntil(lambda: w.worklist.model.rows()[0].probability is not None, timeout=60000)


def test_a_port_in_use_is_said_and_the_app_goes_on(make_window):
    with socket.socket() as taken:
        taken.bind(("", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        w = make_window(None, _settings(dicom_port=port, dicom_listener_enabled=True))
        assert w.dicom.listener is None
        assert "not receiving" in w.dicom.indicator.text()


def test_settings_page_validates_and_tests_the_connection(make_window, orthanc, qtbot):  # noqa: F811
    from ra_desktop.ui.settings_dialog import SettingsDialog

    w = make_window(None, wait_model=False)
    dlg = SettingsDialog(w.settings, w)
    page = dlg.dicom
    page.node_edit.setText("not a node")
    page._add_node()
    assert page.nodes.count() == 0 and "AETITLE@host:port" in page.test_result.text()
    page.node_edit.setText(orthanc.node)
    page._add_node()
    task = page.test_connection()
    qtbot.waitUntil(lambda: task.isFinished(), timeout=20000)
    qtbot.waitUntil(lambda: "C-ECHO ok" in page.test_result.text(), timeout=2000)
    page.aet.setText("BAD\\AE")
    with pytest.raises(ValueError):
        page.values()
    dlg.accept()  # refused: the dialog stays, says why
    assert dlg.result() == 0 and any("backslash" in m for m in w.message_boxes)
    page.aet.setText("READER1")
    page.allowed.setText("CR_ROOM, DX_ROOM")
    new = dlg.result_settings()
    assert new.dicom_nodes == (orthanc.node,) and new.dicom_ae_title == "READER1"
    assert new.dicom_allowed_callers == ("CR_ROOM", "DX_ROOM")


def _prior_of(path: Path, folder: Path, date: str) -> Path:
    """The same patient's hand, an earlier study: new UIDs, an earlier date."""
    ds = pydicom.dcmread(path)
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.StudyDate = date
    out = folder / f"prior_{date}.dcm"
    ds.save_as(out)
    return out


def test_query_retrieve_and_priors_from_orthanc(make_window, orthanc, tmp_path, qtbot):  # noqa: F811
    orthanc.clear()
    current = DEMO_DICOM[-1]
    patient = pydicom.dcmread(current, stop_before_pixels=True).PatientID
    prior = _prior_of(current, tmp_path, "20180102")
    orthanc.upload_files([*DEMO_DICOM, prior])
    w = make_window(None, _settings(dicom_nodes=(orthanc.node,)), wait_model=False)

    from ra_desktop.ui import dicom_actions

    dlg = dicom_actions.query(w)
    dlg.patient_id.setText(patient)
    dlg.search()
    qtbot.waitUntil(lambda: dlg.table.rowCount() == 2, timeout=20000)  # the current study and its prior
    assert {dlg.table.item(i, 2).text() for i in range(2)} == {"20180102", "20201106"}
    dlg.table.selectAll()
    with qtbot.waitSignal(dlg.retrieved, timeout=30000) as got:
        dlg.retrieve()
    assert len(got.args[0]) == 2
    wait_rows(qtbot, w, 2)
    assert {r.study_date for r in w.worklist.model.rows()} == {"20180102", "20201106"}
    dlg.close()

    # Get priors for the open (current) study: only the earlier one is offered
    row = next(r for r in w.worklist.model.rows() if r.study_date == "20201106")
    w.worklist.select_row(row.id)
    w.worklist._emit_now()
    priors = dicom_actions.priors(w)
    qtbot.waitUntil(lambda: "Looking" not in priors.message.text(), timeout=30000)
    assert priors.table.rowCount() == 1 and priors.table.item(0, 2).text() == "20180102"
    priors.close()


def test_results_go_back_to_orthanc_and_to_a_folder(make_window, tiny_model_dir, orthanc, tmp_path,  # noqa: F811
                                                    qtbot, monkeypatch):
    orthanc.clear()
    w = make_window(tiny_model_dir, _settings(dicom_nodes=(orthanc.node,)))
    w.add_paths([str(DEMO_DICOM[0])])
    wait_rows(qtbot, w, 1)
    row = w.worklist.model.rows()[0]
    w.worklist.select_row(row.id)
    w.worklist._emit_now()
    qtbot.waitUntil(lambda: w.current_result is not None and "gradcam" in w.current_result.heatmaps, timeout=60000)
    w.findings.agree.setChecked(True)
    w.sign_off("agree", "")

    from ra_desktop.ui import dicom_actions

    monkeypatch.setattr(QInputDialog, "getItem", staticmethod(lambda *a, **k: (orthanc.node, True)))
    dicom_actions.send_results(w)
    qtbot.waitUntil(lambda: len(orthanc.instances()) == 3, timeout=60000)
    modalities = sorted(orthanc.tags(i)["Modality"] for i in orthanc.instances())
    assert modalities == ["DOC", "OT", "SR"]
    source = pydicom.dcmread(DEMO_DICOM[0], stop_before_pixels=True)
    for i in orthanc.instances():
        tags = orthanc.tags(i)
        assert tags["StudyInstanceUID"] == source.StudyInstanceUID and tags["PatientID"] == source.PatientID
    qtbot.waitUntil(lambda: "sent to ORTHANC" in w.status_text.text(), timeout=10000)

    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder)))
    dicom_actions.save_results(w)
    qtbot.waitUntil(lambda: len(list(folder.glob("*.dcm"))) == 3, timeout=60000)
    sr = next(pydicom.dcmread(p) for p in folder.glob("RA-SR_*.dcm"))
    assert sr.Modality == "SR" and sr.StudyInstanceUID == source.StudyInstanceUID
