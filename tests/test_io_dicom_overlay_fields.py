"""Birth date and study description read from a DICOM header for the viewer's corner overlays
(issue 23): dates validated as study dates are, descriptions cut to LO's 64 characters."""
from __future__ import annotations

import numpy as np

from ra_desktop.io import load_radiograph as load_image
from tests.io_fixtures import write_dicom


def test_birth_date_and_study_description_are_read(tmp_path):
    px = np.arange(64, dtype=np.uint16).reshape(8, 8)
    path = write_dicom(tmp_path / "a.dcm", px, PatientBirthDate="19580312", StudyDescription="XR HAND BOTH PA")
    r = load_image(path)
    assert r.patient_birth_date == "19580312"
    assert r.study_description == "XR HAND BOTH PA"
    assert "19580312" not in repr(r) and "HAND BOTH" not in repr(r)  # patient data never in a repr


def test_a_malformed_birth_date_and_a_huge_description_are_bounded(tmp_path):
    px = np.arange(64, dtype=np.uint16).reshape(8, 8)
    path = write_dicom(tmp_path / "b.dcm", px, PatientBirthDate="1958-03-12", StudyDescription="X" * 5000)
    r = load_image(path)
    assert r.patient_birth_date is None
    assert r.study_description == "X" * 64


def test_absent_fields_are_none(tmp_path):
    r = load_image(write_dicom(tmp_path / "c.dcm", np.zeros((8, 8), np.uint16)))
    assert r.patient_birth_date is None and r.study_description is None
