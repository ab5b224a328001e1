"""Writing phantoms to disk (16-bit PNG, DICOM DX, ground-truth JSON + mask); finding ground
truth again for an image path is :mod:`ra_desktop.io.ground_truth` (re-exported here).

Layout::

    DIR/RA/<stem>.png|.dcm          images only, so a folder scan of RA/ and Normal/ finds images
    DIR/Normal/<stem>.png|.dcm
    DIR/ground_truth/<stem>.json    ground truth
    DIR/ground_truth/<stem>_mask.png  uint8 lesion mask (value = joint index + 1, see JSON)
    DIR/labels.csv                  path (relative to DIR), label, patient_id, severity
"""
from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

import numpy as np
from PIL import Image

from ra_desktop.io.ground_truth import load_ground_truth  # noqa: F401 - its home is io; re-exported here

DX_PRESENTATION = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation


def case_stem(seed: int, index: int) -> str:
    """File stem of case ``index`` of data set ``seed``."""
    return f"phantom_{int(seed)}_{int(index):06d}"


def patient_id(seed: int, index: int) -> str:
    return f"PHANTOM-{int(seed)}-{int(index)}"


def write_png16(path: Path, image: np.ndarray) -> None:
    """Write a uint16 array as a 16-bit greyscale PNG."""
    Image.fromarray(np.ascontiguousarray(image.astype(np.uint16))).save(path,
                                                                       compress_level=3)


def write_dicom(path: Path, image: np.ndarray, gt: dict, seed: int, index: int,
                patient: str | None = None) -> None:
    """Write a DX For Presentation object, explicit VR little endian, with deterministic UIDs."""
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

    def uid(kind: str) -> str:
        return generate_uid(entropy_srcs=["ra-desktop-phantom", str(seed), str(index), kind])

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = DX_PRESENTATION
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    # Deterministic plausible study date/time from the seed.
    day = _dt.date(2020, 1, 1) + _dt.timedelta(days=(int(seed) * 7919 + int(index) * 31) % 1800)
    ds.SOPClassUID = DX_PRESENTATION
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.FrameOfReferenceUID = uid("frame")
    ds.PatientName = f"PHANTOM^{int(index)}"
    ds.PatientID = patient or patient_id(seed, index)
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    ds.StudyDate = ds.SeriesDate = ds.ContentDate = day.strftime("%Y%m%d")
    ds.StudyTime = ds.SeriesTime = ds.ContentTime = f"{9 + index % 8:02d}{index % 60:02d}00"
    ds.AccessionNumber = f"PH{int(seed) % 100000:05d}{int(index) % 100000:05d}"
    ds.StudyID = str(index)
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.ReferringPhysicianName = ""
    ds.Manufacturer = "RA Desktop"
    ds.ManufacturerModelName = "Synthetic phantom generator"
    ds.SoftwareVersions = gt.get("generator", "")
    ds.Modality = "DX"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["DERIVED", "PRIMARY"]
    ds.ConversionType = "SYN"
    ds.BodyPartExamined = "HAND"
    ds.ImageLaterality = gt["laterality"]
    ds.Laterality = gt["laterality"]
    ds.ViewPosition = "PA"
    ds.PatientOrientation = ["A", "F"] if gt["laterality"] == "R" else ["P", "F"]
    ds.StudyDescription = "XR HAND PA (SYNTHETIC PHANTOM)"
    ds.SeriesDescription = "SYNTHETIC PHANTOM"
    ds.ImageComments = (f"SYNTHETIC PHANTOM - not a patient. label={gt['label']} "
                        f"severity={gt['severity']} seed={seed} index={index}")
    ds.BurnedInAnnotation = "NO"
    sp = gt["pixel_spacing_mm"]
    ds.PixelSpacing = [f"{sp[0]:.5f}", f"{sp[1]:.5f}"]
    ds.ImagerPixelSpacing = [f"{sp[0]:.5f}", f"{sp[1]:.5f}"]
    ds.PixelSpacingCalibrationType = "GEOMETRY"
    lo, hi = np.percentile(image[:: 4, :: 4], [0.5, 99.5])
    ds.WindowCenter = f"{(lo + hi) / 2:.0f}"
    ds.WindowWidth = f"{max(hi - lo, 1):.0f}"
    ds.RescaleIntercept = "0"
    ds.RescaleSlope = "1"
    ds.RescaleType = "US"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = int(image.shape[0]), int(image.shape[1])
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.PixelIntensityRelationship = "LOG"
    ds.PixelIntensityRelationshipSign = 1
    ds.LossyImageCompression = "00"
    ds.PixelData = np.ascontiguousarray(image.astype("<u2")).tobytes()
    ds.save_as(path, enforce_file_format=True)


def write_case(out_dir: Path, case, seed: int, index: int, formats=("png",), patient: str | None = None) -> dict:
    """Write one :class:`PhantomCase` in the layout above; return its labels.csv row.

    ``patient``: the patient ID (default one per case; twins share their RA case's)."""
    patient = patient or patient_id(seed, index)
    stem = case_stem(seed, index)
    label = case.ground_truth["label"]
    img_dir = out_dir / label
    gt_dir = out_dir / "ground_truth"
    img_dir.mkdir(parents=True, exist_ok=True)
    gt_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for fmt in formats:
        if fmt == "png":
            write_png16(img_dir / f"{stem}.png", case.image)
        elif fmt in ("dcm", "dicom"):
            fmt = "dcm"
            write_dicom(img_dir / f"{stem}.dcm", case.image, case.ground_truth, seed, index, patient)
        else:
            raise ValueError(f"unknown format {fmt!r} (png, dcm)")
        paths.append(f"{label}/{stem}.{fmt}")
    gt = dict(case.ground_truth, patient_id=patient, files=paths,
              mask_file=f"ground_truth/{stem}_mask.png")
    (gt_dir / f"{stem}.json").write_text(json.dumps(gt, indent=1))
    Image.fromarray(case.mask).save(gt_dir / f"{stem}_mask.png", optimize=True)
    # One labels.csv row per case (the first format written), so formats never duplicate cases.
    return {"path": paths[0], "label": label, "patient_id": patient,
            "severity": case.ground_truth["severity"]}
