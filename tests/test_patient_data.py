"""Patient data: no network at run time, no patient name in the log, de-identified reports.

A DICOM of a demo phantom is written with a patient name, ID and birth date, in a folder and
file named after the patient (as real exports often are), and run through the real code paths.
"""
from __future__ import annotations

import csv
import io
import json
import logging
import socket
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ra_desktop import audit, paths
from tests.io_fixtures import write_dicom

pytest.importorskip("torch")

SECRETS = ("Doe", "Jane", "PID-4711", "19610203")
# Other identifying DICOM attributes a de-identified report must not carry either.
DICOM_IDS = dict(AccessionNumber="ACC-98765", InstitutionName="Mercy Hospital Springfield",
                 ReferringPhysicianName="House^Gregory", DeviceSerialNumber="SN-55501",
                 StudyInstanceUID="1.2.3.4.5.6.7.8.900", SeriesInstanceUID="1.2.3.4.5.6.7.8.901")


@pytest.fixture
def patient_dicom(tmp_path) -> Path:
    pixels = np.asarray(Image.open(paths.demo_dir() / "RA" / "phantom_900000_000005.png")).astype(np.uint16)
    folder = tmp_path / "Doe_Jane_PID-4711"
    folder.mkdir()
    return write_dicom(folder / "Doe_Jane_19610203.dcm", pixels[::2, ::2].copy(),
                       PatientName="Doe^Jane", PatientID="PID-4711", PatientBirthDate="19610203",
                       PatientSex="F", StudyDate="20250314", BodyPartExamined="HAND", ImageLaterality="L",
                       **DICOM_IDS)


@pytest.fixture
def no_network(monkeypatch):
    """Every way to open a connection or resolve a name raises; the calls are recorded."""
    calls: list[str] = []

    def refuse(name):
        def fn(*args, **kwargs):
            calls.append(name)
            raise OSError(f"network access attempted: socket.{name}")
        return fn

    for name in ("socket", "create_connection", "getaddrinfo", "gethostbyname", "socketpair"):
        monkeypatch.setattr(socket, name, refuse(name))
    return calls


@pytest.fixture
def app_log():
    """The app's own log set-up (rotating file in the user log folder, its filters)."""
    from ra_desktop.app import setup_logging

    log_file = setup_logging()
    yield log_file
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_ra_desktop", False)]:
        root.removeHandler(h)
        h.close()


def _pdf(path: Path):
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(path.read_bytes()))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    meta = " ".join(str(v) for v in (reader.metadata or {}).values())
    xmp = reader.xmp_metadata
    return text, meta + (str(xmp.xmp_creator) if xmp is not None else "")


def test_predict_explain_and_report_run_with_the_network_blocked(patient_dicom, tmp_path, no_network, capsys):
    from ra_desktop.cli import main
    from ra_desktop.settings import Settings, save_settings

    save_settings(Settings(reader_name="Dr Offline"))
    assert main(["predict", str(patient_dicom), "--json", "--device", "cpu"]) == 0
    rec = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert rec["ok"] and 0.0 <= rec["probability"] <= 1.0
    # report with the SHAP overlay runs both explanations (Grad-CAM for the regions, then SHAP)
    out = tmp_path / "reports"
    assert main(["report", str(patient_dicom), "--out", str(out), "--overlay", "shap", "--summary",
                 "--device", "cpu"]) == 0
    assert len(list(out.glob("RA-report_*.pdf"))) == 1
    with pytest.raises(OSError):  # the block is real: it would have stopped any connection
        socket.create_connection(("127.0.0.1", 9))
    assert no_network == ["create_connection"]  # ...and nothing but that probe ever tried
    # the headless commands wrote the audit trail: what, which case, which reader and model
    from ra_desktop import paths

    bundled = json.loads((paths.default_model_dir() / "manifest.json").read_text())
    model = f"{bundled['name']} {bundled['version']}"
    events = [(e["action"], e["source"], e["reader"], e["model"]) for e in audit.read_events()]
    assert events == [("analysed", "cli predict", "Dr Offline", model),
                      ("analysed", "cli report", "Dr Offline", model),
                      ("exported", "cli report", "Dr Offline", model)]


def test_log_names_cases_by_id_never_by_patient(patient_dicom, tmp_path, app_log, monkeypatch, capsys):
    import ra_desktop.io.loader as loader
    import ra_desktop.pipeline as pipeline
    from ra_desktop.cli import main
    from ra_desktop.io import load_radiograph
    from ra_desktop.model import load_model
    from ra_desktop.worker.inference import BATCH, InferenceThread, Job
    from ra_desktop.worker.scan import describe

    case_id = load_radiograph(patient_dicom).case_id
    assert describe(patient_dicom).patient_name == "Doe^Jane"  # the scan reads the name (for the table)
    # the GUI's inference lane, run synchronously: one good analysis...
    lane = InferenceThread()
    lane._model = load_model(paths.default_model_dir(), "cpu")
    finished, failed = [], []
    lane.job_finished.connect(lambda jid, res: finished.append(res))
    lane.job_failed.connect(lambda jid, reason: failed.append(reason))
    lane._run_job(Job(1, 7, str(patient_dicom), BATCH, ("gradcam",)))
    assert finished and finished[0].radiograph.patient_name == "Doe^Jane"
    # ...and one unexpected failure whose message quotes the path (logged with its traceback)
    real_analyse = pipeline.analyse
    monkeypatch.setattr(pipeline, "analyse", lambda *a, **k: (_ for _ in ()).throw(
        RuntimeError(f"cannot process '{patient_dicom}'")))
    lane._run_job(Job(2, 8, str(patient_dicom), BATCH, ("gradcam",)))
    monkeypatch.setattr(pipeline, "analyse", real_analyse)
    assert failed
    # an unexpected loader error (logged by the loader with the file's path)
    real_read = loader._read_bytes  # under both the scan's header read and the full load
    monkeypatch.setattr(loader, "_read_bytes", lambda path, *a: (_ for _ in ()).throw(ValueError(f"odd {path}")))
    assert describe(patient_dicom).error
    monkeypatch.setattr(loader, "_read_bytes", real_read)
    # the headless report of the same file
    assert main(["report", str(patient_dicom), "--out", str(tmp_path / "out"), "--device", "cpu"]) == 0
    capsys.readouterr()

    for h in logging.getLogger().handlers:
        h.flush()
    text = app_log.read_text(encoding="utf-8")
    assert f"case {case_id}) failed" in text and "RuntimeError" in text  # the failure is logged, by case id
    assert "unexpected error loading <path:" in text  # the loader's path was there, and hashed
    for secret in SECRETS:
        assert secret not in text, f"{secret!r} in the log"
    # the audit log names the case by id too
    events = audit.read_events()
    assert {e["action"] for e in events} >= {audit.ANALYSED, audit.EXPORTED}
    assert all(e["case_id"] == case_id for e in events)
    raw = audit.audit_path().read_text(encoding="utf-8")
    assert not any(secret in raw for secret in SECRETS)


def test_deidentified_report_has_no_patient_data_in_text_metadata_or_names(patient_dicom, tmp_path, capsys):
    from ra_desktop.cli import main
    from ra_desktop.io import load_radiograph
    from ra_desktop.pseudonym import key_path, pseudonym

    sop_uid = load_radiograph(patient_dicom).case_id
    assert sop_uid.startswith("1.2.")  # a real SOP Instance UID, the thing to hide
    alias = pseudonym(sop_uid)  # this workstation's key (created here, as the CLI would)
    plain, deid = tmp_path / "plain", tmp_path / "deid"
    assert main(["report", str(patient_dicom), "--out", str(plain), "--device", "cpu"]) == 0
    assert main(["report", str(patient_dicom), "--out", str(deid), "--deidentify", "--summary",
                 "--device", "cpu"]) == 0
    capsys.readouterr()
    (normal_pdf,) = plain.glob("RA-report_*.pdf")
    text, _ = _pdf(normal_pdf)
    assert "Doe^Jane" in text and "PID-4711" in text  # the check below can see them when present

    (pdf,) = deid.glob("RA-report_*.pdf")
    text, meta = _pdf(pdf)
    assert "removed (de-identified)" in text
    # the UID is printed shortened in headers: its two ends must be absent too
    hidden = (*SECRETS, "2025-03-14", "20250314", "Doe_Jane", sop_uid, sop_uid[:14], sop_uid[-14:],
              *DICOM_IDS.values(), "House", "Mercy")
    for secret in hidden:
        assert secret not in text, f"{secret!r} in the de-identified PDF text"
        assert secret not in meta, f"{secret!r} in the de-identified PDF metadata"
        assert secret not in pdf.name
    assert alias in text and alias in meta and pdf.name.startswith(f"RA-report_{alias}_")
    (summary_csv,) = deid.glob("RA-report-summary_*.csv")
    (summary_pdf,) = deid.glob("RA-report-summary_*.pdf")
    rows = list(csv.reader(summary_csv.read_text(encoding="utf-8-sig").splitlines()))
    flat = " ".join(" ".join(r) for r in rows)
    summary_text, summary_meta = _pdf(summary_pdf)
    assert len(rows) == 2 and alias in flat and alias in summary_text
    for secret in hidden:
        assert secret not in flat, f"{secret!r} in the de-identified summary CSV"
        assert secret not in summary_text + summary_meta, f"{secret!r} in the de-identified summary PDF"
    # a second export of the same study, later: the same pseudonym (a teacher can refer back)
    again = tmp_path / "again"
    assert main(["report", str(patient_dicom), "--out", str(again), "--deidentify", "--device", "cpu"]) == 0
    capsys.readouterr()
    (pdf2,) = again.glob("RA-report_*.pdf")
    assert pdf2.name.startswith(f"RA-report_{alias}_") and alias in _pdf(pdf2)[0]
    assert key_path().is_file()
    # the workstation's audit trail keeps the real case id, says the export was de-identified
    exports = [e for e in audit.read_events() if e["action"] == audit.EXPORTED]
    assert [(e["case_id"], e["deidentified"], e.get("pseudonym")) for e in exports] == [
        (sop_uid, False, None), (sop_uid, True, alias), (sop_uid, True, alias)]


@pytest.fixture
def header_text_dicom(tmp_path) -> Path:
    """A body part that pydicom complains about once cut to 16 characters, and a hostile UID."""
    import warnings

    with warnings.catch_warnings():  # writing it makes pydicom warn too: not the app's log yet
        warnings.simplefilter("ignore")
        return write_dicom(tmp_path / "crafted.dcm", np.zeros((32, 32), np.uint16),
                           BodyPartExamined="Jane Doe MRN 12345678", SOPInstanceUID="1.2.3\x00/../../x")


def test_pydicom_messages_never_quote_header_text_in_the_log(header_text_dicom, app_log):
    from ra_desktop.io import load_radiograph
    from ra_desktop.worker.scan import describe

    assert load_radiograph(header_text_dicom).body_part == "Jane Doe MRN 123"  # loads, cut to CS length
    describe(header_text_dicom)
    logging.getLogger("pydicom").error("Invalid value for VR UI: %r", "1.2.3 Jane Doe")  # even at ERROR
    for h in logging.getLogger().handlers:
        h.flush()
    text = app_log.read_text(encoding="utf-8")
    for quoted in ("Jane", "MRN", "1.2.3", "../"):
        assert quoted not in text, f"{quoted!r} in the log"
    assert "pydicom" in text  # a message was there, its text withheld
