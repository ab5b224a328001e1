"""Results as DICOM (ra_desktop.dicomout, ``ra-desktop export-dicom``): the SR is read back with
pydicom and validated with DCMTK's ``dsrdump``, the Secondary Capture and Encapsulated PDF with
``dcmdump`` (and ``dcm2pdf``); UIDs, the no-verdict rule, the demo-model statement, scores and
measurements, de-identification and non-DICOM sources are checked on one analysed demo study.
"""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pydicom
import pytest

from ra_desktop.dicomout import (build_encapsulated_pdf, build_sc, build_sr, compose_view, export_context,
                                 report_pdf, write_dataset)
from ra_desktop.dicomout import codes
from ra_desktop.results import OODResult

DEMO_DICOM = Path(__file__).resolve().parent.parent / "resources" / "demo" / "RA" / "phantom_900000_000004.dcm"
DEMO_PNG = DEMO_DICOM.with_name("phantom_900000_000005.png")
KEY = bytes(range(32))
SCORES = {("R", "erosion", "MCP2"): 3, ("R", "jsn", "MCP2"): 2, ("R", "erosion", "scaphoid"): "NA",
          ("R", "erosion", "trapezium_trapezoid"): 1, ("L", "jsn", "capitate_scaphoid_lunate"): 4}
SIGNOFF = {"reader": "Dr Ada Reader", "agree": "disagree", "timestamp": 1700000000, "note": "see prior"}


def dcmtk(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"DCMTK's {name} is not installed: run `make setup` (it installs the Debian dcmtk package)")
    return path


def run_tool(name: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([dcmtk(name), *args], capture_output=True, text=True, timeout=60)


def analysed(path: Path, model):
    from ra_desktop.pipeline import analyse

    gen = analyse(path, model, explanations=("gradcam",))
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return stop.value


@pytest.fixture(scope="session")
def case(bundled_model):
    """The demo DICOM phantom analysed once, its header (with a birth date added to check it is
    copied and removed), and its radiogrammetry."""
    from ra_desktop.measure import measure_hand

    result = analysed(DEMO_DICOM, bundled_model)
    header = pydicom.dcmread(DEMO_DICOM, stop_before_pixels=True)
    header.PatientBirthDate = "19610203"
    header.PatientName = "Doe^Jane"
    return {"result": result, "header": header, "manifest": bundled_model.manifest,
            "hand": measure_hand(result.radiograph), "model": bundled_model}


def items(ds):
    """Every SR content item below ``ds``, depth first."""
    for item in ds.get("ContentSequence", []):
        yield item
        yield from items(item)


def concept(item) -> tuple[str, str]:
    c = item.ConceptNameCodeSequence[0]
    return c.CodeValue, c.CodingSchemeDesignator


def nums(ds, code) -> list:
    return [i for i in items(ds) if i.ValueType == "NUM" and concept(i) == (code.value, code.scheme_designator)]


def code_values(ds) -> set[tuple[str, str]]:
    out = set()
    for i in items(ds):
        if i.ValueType == "CODE":
            c = i.ConceptCodeSequence[0]
            out.add((c.CodeValue, c.CodingSchemeDesignator))
    return out


def texts(ds) -> str:
    return "\n".join(str(i.TextValue) for i in items(ds) if i.ValueType == "TEXT")


def site_of(item) -> str:
    return next(c.ConceptCodeSequence[0].CodeValue for c in item.ContentSequence
                if concept(c) == ("363698007", "SCT"))


def build_all(case, **kw):
    c = case
    ctx = export_context(c["header"], c["result"].radiograph, key=KEY, **kw)
    sr = build_sr(c["header"], c["result"].radiograph, c["result"], manifest=c["manifest"], scores=SCORES,
                  measurements=c["hand"], signoff=SIGNOFF, context=ctx)
    sc = build_sc(c["header"], c["result"].radiograph, c["result"], manifest=c["manifest"], context=ctx)
    pdf = report_pdf(c["result"], manifest=c["manifest"], deidentify=ctx.deidentified, key=KEY)
    ep = build_encapsulated_pdf(c["header"], c["result"].radiograph, pdf, context=ctx)
    return sr, sc, ep, pdf


def dsrdump_clean(path: Path) -> str:
    proc = run_tool("dsrdump", "-Ee", str(path))
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip() == "", proc.stderr  # no errors, not even warnings
    return proc.stdout


def test_sr_validates_with_dsrdump_and_keeps_the_study(case, tmp_path):
    sr, _, _, _ = build_all(case)
    path = write_dataset(sr, tmp_path)
    out = dsrdump_clean(path)
    assert "Comprehensive SR Document" in out and "Imaging Measurement Report" in out
    back = pydicom.dcmread(path)
    src = case["header"]
    assert back.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.33"  # Comprehensive SR
    assert back.StudyInstanceUID == src.StudyInstanceUID
    assert back.PatientID == src.PatientID and str(back.PatientName) == "Doe^Jane"
    assert back.PatientBirthDate == "19610203" and back.AccessionNumber == src.AccessionNumber
    new = {back.SOPInstanceUID, back.SeriesInstanceUID}
    assert len(new) == 2 and not new & {src.SOPInstanceUID, src.SeriesInstanceUID}
    again = build_sr(src, case["result"].radiograph, case["result"], manifest=case["manifest"])
    assert again.SOPInstanceUID not in new and again.SeriesInstanceUID not in new
    # Every measurement group references the source image by its SOP Instance UID, and so does
    # the evidence list.
    groups = [i for i in items(back) if i.ValueType == "CONTAINER" and concept(i) == ("125007", "DCM")]
    assert len(groups) == 6  # AI result, sign-off, right hand, left hand, both hands, radiogrammetry
    for g in groups:
        refs = [i.ReferencedSOPSequence[0] for i in g.ContentSequence if i.ValueType == "IMAGE"]
        assert [(r.ReferencedSOPClassUID, r.ReferencedSOPInstanceUID) for r in refs] == \
            [(src.SOPClassUID, src.SOPInstanceUID)]
    evidence = back.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0]
    assert evidence.ReferencedSOPSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    # The private scheme is declared; code values fit SH (16 characters).
    schemes = {s.CodingSchemeDesignator for s in back.CodingSchemeIdentificationSequence}
    assert codes.PRIVATE_SCHEME in schemes
    for i in back.iterall():
        if i.keyword == "CodeValue":
            assert len(i.value) <= 16, i.value
        assert i.keyword != "LongCodeValue"


def test_sr_ai_result_model_and_demo_statement(case):
    sr, _, _, _ = build_all(case)
    result, manifest = case["result"], case["manifest"]
    assert result.ood is not None and result.ood.in_distribution  # the demo phantom is in distribution
    assert nums(sr, codes.AI_PROBABILITY)[0].MeasuredValueSequence[0].FloatingPointValue == \
        pytest.approx(result.probability)
    assert float(nums(sr, codes.AI_THRESHOLD)[0].MeasuredValueSequence[0].NumericValue) == \
        pytest.approx(result.threshold, abs=1e-9)
    label = codes.RHEUMATOID_ARTHRITIS if result.label == "RA" else codes.NORMAL
    found = code_values(sr)
    assert (label.value, "SCT") in found and (codes.OOD_IN.value, codes.PRIVATE_SCHEME) in found
    assert float(nums(sr, codes.OOD_DISTANCE)[0].MeasuredValueSequence[0].NumericValue) == \
        pytest.approx(result.ood.distance, rel=1e-6)
    # The model: name, version and hash (TID 4019), and that it is a demo trained on phantoms.
    assert manifest.synthetic_training_data
    assert (codes.SYNTHETIC_PHANTOMS.value, codes.PRIVATE_SCHEME) in found
    text = texts(sr)
    assert "Trained on synthetic phantoms" in text and "not for clinical use" in text
    assert manifest.name in text and manifest.version in text and manifest.weights_sha256 in text
    algo = {concept(i): str(i.TextValue) for i in items(sr) if i.ValueType == "TEXT"}
    assert algo[("111001", "DCM")] == manifest.name and algo[("111003", "DCM")] == manifest.version
    # The reader's sign-off: who, disagree, when.
    assert (codes.DISAGREES.value, codes.PRIVATE_SCHEME) in found
    names = [str(i.PersonName) for i in items(sr) if i.ValueType == "PNAME"]
    assert "Dr Ada Reader^" in names
    assert [i.DateTime for i in items(sr) if i.ValueType == "DATETIME"]
    assert "see prior" in text


def test_out_of_distribution_gives_no_verdict(case, tmp_path):
    result = dataclasses.replace(case["result"], ood=OODResult(distance=7.5, threshold=1.0, in_distribution=False))
    sr = build_sr(case["header"], result.radiograph, result, manifest=case["manifest"])
    dsrdump_clean(write_dataset(sr, tmp_path))
    for code in (codes.AI_PROBABILITY, codes.AI_THRESHOLD):
        assert nums(sr, code) == []
    assert not [i for i in items(sr) if i.ValueType == "CODE" and concept(i) == (codes.AI_LABEL.value, codes.PRIVATE_SCHEME)]
    found = code_values(sr)
    assert (codes.MODEL_NOT_APPLICABLE.value, codes.PRIVATE_SCHEME) in found
    assert (codes.OOD_OUT.value, codes.PRIVATE_SCHEME) in found
    assert (codes.RHEUMATOID_ARTHRITIS.value, "SCT") not in found and (codes.NORMAL.value, "SCT") not in found
    assert "No verdict" in texts(sr) and "does not apply" in texts(sr)
    assert float(nums(sr, codes.OOD_DISTANCE)[0].MeasuredValueSequence[0].NumericValue) == 7.5
    # The annotated view shows no map and says so (no colour bar: as wide as the plain view).
    plain = compose_view(result.radiograph, dataclasses.replace(result, heatmaps={}), manifest=case["manifest"])
    assert compose_view(result.radiograph, result, manifest=case["manifest"]).shape == plain.shape


def test_scores_and_measurements_round_trip(case, tmp_path):
    sr, _, _, _ = build_all(case)
    back = pydicom.dcmread(write_dataset(sr, tmp_path))
    got = {}
    for code, kind in ((codes.SVDH_EROSION, "erosion"), (codes.SVDH_JSN, "jsn")):
        for item in nums(back, code):
            lat = next(m.ConceptCodeSequence[0].CodeValue for c in item.ContentSequence
                       if concept(c) == ("363698007", "SCT") for m in c.ContentSequence)
            hand = {codes.RIGHT.value: "R", codes.LEFT.value: "L"}[lat]
            got[(hand, kind, site_of(item))] = int(float(item.MeasuredValueSequence[0].NumericValue))
    site_codes = {k: codes.svdh_site(k[2], k[2]).value for k in SCORES}
    assert got == {(h, k, site_codes[(h, k, s)]): v for (h, k, s), v in SCORES.items() if v != "NA"}
    totals = [float(i.MeasuredValueSequence[0].NumericValue) for i in nums(back, codes.SVDH_TOTAL)]
    assert totals == [6.0, 4.0, 10.0]  # right, left, both
    assert [float(i.MeasuredValueSequence[0].NumericValue) for i in nums(back, codes.SVDH_NOT_ASSESSABLE)] == \
        [1.0, 0.0, 1.0]
    assert "Scaphoid erosion" in texts(back)
    hand = case["hand"]
    assert hand.measurable and hand.unit == "mm"
    for bone_name, bone in hand.bones.items():
        if not bone.valid:
            continue
        site = codes.bone_site(bone_name).value
        for code, value in ((codes.DXR_W, bone.W), (codes.DXR_T, bone.T), (codes.DXR_MCI, bone.MCI)):
            item = next(i for i in nums(back, code) if site_of(i) == site)
            assert float(item.MeasuredValueSequence[0].NumericValue) == pytest.approx(value, rel=1e-6)
            unit = item.MeasuredValueSequence[0].MeasurementUnitsCodeSequence[0].CodeValue
            assert unit == ("1" if code is codes.DXR_MCI else "mm")
    valid_joints = [j for j in hand.joints.values() if j.valid]
    assert len(nums(back, codes.JSW_MIN)) == len(valid_joints)


def test_secondary_capture_is_the_composite(case, tmp_path):
    _, sc, _, _ = build_all(case)
    path = write_dataset(sc, tmp_path)
    proc = run_tool("dcmdump", "-q", str(path))
    assert proc.returncode == 0 and "E:" not in proc.stderr, proc.stderr
    back = pydicom.dcmread(path)
    src = case["header"]
    assert back.SOPClassUID == "1.2.840.10008.5.1.4.1.1.7" and back.Modality == "OT"
    assert back.BurnedInAnnotation == "YES" and back.PhotometricInterpretation == "RGB"
    assert back.StudyInstanceUID == src.StudyInstanceUID and back.PatientID == src.PatientID
    assert back.SOPInstanceUID != src.SOPInstanceUID and back.SeriesInstanceUID != src.SeriesInstanceUID
    assert back.SourceImageSequence[0].ReferencedSOPInstanceUID == src.SOPInstanceUID
    expected = compose_view(case["result"].radiograph, case["result"], manifest=case["manifest"])
    assert back.pixel_array.dtype == np.uint8 and np.array_equal(back.pixel_array, expected)
    # DCMTK decodes the same pixels.
    png = tmp_path / "dcmtk.png"
    proc = run_tool("dcmj2pnm", "+on", str(path), str(png))
    assert proc.returncode == 0, proc.stderr
    from PIL import Image

    assert np.array_equal(np.asarray(Image.open(png).convert("RGB")), expected)
    # The notice band is red and the overlay coloured: more than a grey picture.
    assert (expected[..., 0].astype(int) - expected[..., 2]).max() > 100


def test_encapsulated_pdf_carries_the_report_bytes(case, tmp_path):
    _, _, ep, pdf = build_all(case)
    path = write_dataset(ep, tmp_path)
    proc = run_tool("dcmdump", "-q", str(path))
    assert proc.returncode == 0 and "E:" not in proc.stderr, proc.stderr
    back = pydicom.dcmread(path)
    assert back.SOPClassUID == "1.2.840.10008.5.1.4.1.1.104.1" and back.Modality == "DOC"
    assert back.MIMETypeOfEncapsulatedDocument == "application/pdf" and back.DocumentTitle
    assert back.ConceptNameCodeSequence[0].CodeValue == "18748-4"
    doc = back.EncapsulatedDocument
    assert len(doc) % 2 == 0 and back.EncapsulatedDocumentLength == len(pdf)
    assert doc[:len(pdf)] == pdf and doc[len(pdf):] in (b"", b"\x00")
    assert back.StudyInstanceUID == case["header"].StudyInstanceUID
    assert back.SourceInstanceSequence[0].ReferencedSOPInstanceUID == case["header"].SOPInstanceUID
    if shutil.which("dcm2pdf"):
        out = tmp_path / "back.pdf"
        proc = run_tool("dcm2pdf", str(path), str(out))
        assert proc.returncode == 0, proc.stderr
        assert out.read_bytes().rstrip(b"\x00") == pdf.rstrip(b"\x00")
    with pytest.raises(ValueError):
        build_encapsulated_pdf(case["header"], case["result"].radiograph, b"not a pdf")


def test_deidentified_objects_carry_no_patient_data(case, tmp_path):
    src = case["header"]
    objs = build_all(case, deidentify=True)[:3]
    secrets = [b"Doe^Jane", b"Doe", str(src.PatientID).encode(), b"19610203", str(src.StudyDate).encode(),
               str(src.AccessionNumber).encode(), str(src.StudyInstanceUID).encode(),
               str(src.SOPInstanceUID).encode(), str(src.SeriesInstanceUID).encode()]
    studies = set()
    for ds in objs:
        path = write_dataset(ds, tmp_path)
        raw = path.read_bytes()
        for secret in secrets:
            assert secret not in raw, (ds.Modality, secret)
        back = pydicom.dcmread(path)
        assert back.PatientIdentityRemoved == "YES" and back.DeidentificationMethod
        assert back.PatientBirthDate == "" and back.StudyDate == "" and back.AccessionNumber == ""
        assert str(back.PatientID).startswith("ANON-") and str(back.PatientName).startswith("ANON-")
        studies.add(back.StudyInstanceUID)
    assert len(studies) == 1 and studies != {src.StudyInstanceUID}  # one study, not the hospital's
    dsrdump_clean(tmp_path / next(p.name for p in tmp_path.iterdir() if p.name.startswith("RA-SR")))
    # The same key gives the same study, and the de-identified references agree with each other.
    again = build_sr(src, case["result"].radiograph, case["result"], manifest=case["manifest"], deidentify=True,
                     key=KEY)
    assert again.StudyInstanceUID in studies
    sr, sc = objs[0], objs[1]
    ref = sr.CurrentRequestedProcedureEvidenceSequence[0].ReferencedSeriesSequence[0].ReferencedSOPSequence[0]
    assert ref.ReferencedSOPInstanceUID == sc.SourceImageSequence[0].ReferencedSOPInstanceUID
    # The reader's free-text note and the sign-off time (a date of care) are left out.
    assert "see prior" not in texts(sr) and not [i for i in items(sr) if i.ValueType == "DATETIME"]


def test_non_dicom_source_gets_its_own_study(bundled_model, tmp_path):
    result = analysed(DEMO_PNG, bundled_model)
    rg = result.radiograph
    assert rg.format == "PNG"
    sr = build_sr(None, rg, result, manifest=bundled_model.manifest, patient_id="MRN-42")
    sc = build_sc(None, rg, result, manifest=bundled_model.manifest, patient_id="MRN-42")
    ep = build_encapsulated_pdf(None, rg, report_pdf(result, manifest=bundled_model.manifest), patient_id="MRN-42")
    assert sr.StudyInstanceUID == sc.StudyInstanceUID == ep.StudyInstanceUID
    assert sr.PatientID == sc.PatientID == ep.PatientID == "MRN-42"
    assert "CurrentRequestedProcedureEvidenceSequence" not in sr and "SourceImageSequence" not in sc
    assert not [i for i in items(sr) if i.ValueType == "IMAGE"]  # nothing to reference
    assert sc.PatientOrientation == ""  # unknown, not invented
    dsrdump_clean(write_dataset(sr, tmp_path))
    proc = run_tool("dcmdump", "-q", str(write_dataset(sc, tmp_path)))
    assert proc.returncode == 0 and "E:" not in proc.stderr, proc.stderr


def test_write_dataset_is_atomic_and_never_overwrites(case, tmp_path, monkeypatch):
    sr = build_sr(case["header"], case["result"].radiograph, case["result"], manifest=case["manifest"])
    tmp_path = tmp_path / "out"
    first = write_dataset(sr, tmp_path, "x.dcm")
    second = write_dataset(sr, tmp_path, "x.dcm")
    assert (first.name, second.name) == ("x.dcm", "x_2.dcm")

    def broken(fh, **kw):
        fh.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(sr, "save_as", broken)
    with pytest.raises(OSError):
        write_dataset(sr, tmp_path, "y.dcm")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.dcm", "x_2.dcm"]


@pytest.mark.slow
def test_cli_exports_and_names_a_bad_file(tmp_path, capsys):
    from ra_desktop.cli import main

    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "out"
    rc = main(["export-dicom", str(bad), str(DEMO_DICOM), "--out", str(out), "--sr", "--pdf", "--device", "cpu"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "broken.png" in err
    names = sorted(p.name for p in out.iterdir())
    assert len(names) == 2 and names[0].startswith("RA-PDF_") and names[1].startswith("RA-SR_")
    dsrdump_clean(out / names[1])
