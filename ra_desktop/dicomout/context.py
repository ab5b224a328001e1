"""Who and what a new DICOM object is about: the patient and study it joins, and the source image
it references. One :class:`ExportContext` per analysed image is shared by its SR, Secondary
Capture and Encapsulated PDF, so all three land in the same study.

- **DICOM source**: the new objects keep the source's patient and study identifiers (the Patient
  and General Study attributes listed in :data:`COPIED`; nothing else of the header) and its
  StudyInstanceUID, and reference the image by its SOP Class and SOP Instance UID.
- **Non-DICOM source** (PNG, JPEG...): there is nothing to join. The objects get a new study
  whose StudyInstanceUID is derived from the image's case id (a hash of the file's content), so
  the SR, SC and PDF of one file share a study however often they are exported; the patient ID is
  the one the worklist gives (``patient_id``), else empty. No image is referenced: the PNG has no
  SOP Instance UID, and inventing one would point PACS at an instance that does not exist.
- **De-identified** (the report's de-identify setting): patient name and ID become this
  workstation's keyed pseudonym of the patient ID (``ANON-...``, :mod:`ra_desktop.pseudonym`),
  birth date, sex, study date and time, accession number, study ID and referring physician are
  emptied, and the study, series and source instance UIDs are replaced by UIDs derived from the
  originals with the same key (:func:`derived_uid`): the objects of one study stay together, and
  the same derivation applied to a de-identified copy of the image gives the UIDs they
  reference, but without the key nobody can go back to the hospital's UIDs.
"""
from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import Any

from pydicom.dataset import Dataset

from ra_desktop.pseudonym import pseudonym, workstation_key

# Patient and General Study attributes copied from the source (the identifiers PACS files by).
COPIED = ("PatientName", "PatientID", "IssuerOfPatientID", "PatientBirthDate", "PatientSex",
          "StudyInstanceUID", "StudyDate", "StudyTime", "AccessionNumber", "StudyID",
          "ReferringPhysicianName", "StudyDescription")
# Type 2 attributes every new object carries, empty when unknown.
TYPE2 = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyDate", "StudyTime",
         "AccessionNumber", "StudyID", "ReferringPhysicianName")
# LO, 64 characters at most; the module docstring says in full what is done.
DEIDENTIFICATION_METHOD = "RA Desktop: keyed pseudonyms, dates removed, UIDs re-derived"
MANUFACTURER = "RA Desktop"


@dataclass(frozen=True)
class SourceImage:
    """The analysed image as the new objects reference it (UIDs derived when de-identified)."""

    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    modality: str | None = None
    rows: int | None = None
    columns: int | None = None
    header: Dataset | None = None  # image-level descriptors for the SR's image library


@dataclass(frozen=True)
class ExportContext:
    """Patient/study attributes for new objects, the source reference, and de-identification.

    ``patient_study`` holds exactly the attributes the new objects copy (already de-identified
    when asked). ``case_label`` names files: the case id, or its pseudonym when de-identified.
    """

    patient_study: Dataset
    source: SourceImage | None
    deidentified: bool
    case_label: str

    @property
    def study_instance_uid(self) -> str:
        return str(self.patient_study.StudyInstanceUID)

    def apply(self, ds: Dataset) -> Dataset:
        """Set the patient/study attributes (and the de-identification flags) on ``ds``."""
        for elem in self.patient_study:
            ds[elem.tag] = elem
        for keyword in TYPE2:
            if keyword not in ds:
                setattr(ds, keyword, "")
        if self.deidentified:
            ds.PatientIdentityRemoved = "YES"
            ds.DeidentificationMethod = DEIDENTIFICATION_METHOD
        set_character_set(ds)
        return ds

    def evidence(self) -> Dataset:
        """A header for highdicom's ``evidence``/``ref_dataset``: patient, study and (when there is
        one) the source image's identity. For a non-DICOM source its SOP UIDs are placeholders
        that the builders remove again (nothing is referenced)."""
        ds = self.apply(Dataset())
        ds.SpecificCharacterSet = "ISO_IR 192"
        if self.source is not None:
            if self.source.header is not None:
                for elem in self.source.header:
                    ds[elem.tag] = elem
            ds.SOPClassUID = self.source.sop_class_uid
            ds.SOPInstanceUID = self.source.sop_instance_uid
            ds.SeriesInstanceUID = self.source.series_instance_uid
        return ds


_TYPOGRAPHY = {"\u2014": "-", "\u2013": "-", "\u2265": ">=", "\u2264": "<=", "\u201c": '"', "\u201d": '"',
               "\u2018": "'", "\u2019": "'", "\u2026": "...", "\u00d7": "x", "\u00b7": "-", "\u2212": "-"}


def plain_text(text: str) -> str:
    """Typographic characters (dashes, quotes, ≥) as ASCII, so that most objects need no
    Specific Character Set; other characters (a reader's accented name) are kept."""
    for k, v in _TYPOGRAPHY.items():
        text = text.replace(k, v)
    return text


def _has_non_ascii(ds: Dataset) -> bool:
    for elem in ds.iterall():
        values = elem.value if isinstance(elem.value, (list, tuple)) or elem.VM > 1 else [elem.value]
        for value in values:
            if isinstance(value, str) or type(value).__name__ == "PersonName":
                if not str(value).isascii():
                    return True
    return False


def set_character_set(ds: Dataset) -> Dataset:
    """No Specific Character Set when every text is ASCII (the default repertoire, which every
    validator checks), else ISO_IR 192 (UTF-8)."""
    if _has_non_ascii(ds):
        ds.SpecificCharacterSet = "ISO_IR 192"
    elif "SpecificCharacterSet" in ds:
        del ds.SpecificCharacterSet
    return ds


def derived_uid(kind: str, uid: str, key: bytes | None = None) -> str:
    """A ``2.25.`` UID derived from ``uid``: keyed with ``key`` (default: this workstation's
    pseudonym key) it cannot be traced back; the same inputs always give the same UID."""
    if key is None:
        key = workstation_key()
    digest = hmac.new(key, f"{kind}:{uid}".encode("utf-8"), hashlib.sha256).digest()
    return f"2.25.{uuid.UUID(bytes=digest[:16], version=4).int}"


def content_uid(kind: str, text: str) -> str:
    """A ``2.25.`` UID derived from ``text`` without a key (for values that identify nobody)."""
    return f"2.25.{uuid.uuid5(uuid.NAMESPACE_OID, f'ra-desktop:{kind}:{text}').int}"


def _text(ds: Dataset | None, keyword: str) -> str:
    if ds is None:
        return ""
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


# Image-level attributes kept for the SR's image library (no dates, no identifiers).
_IMAGE_DESCRIPTORS = ("Modality", "Rows", "Columns", "PatientOrientation", "ImagerPixelSpacing", "PixelSpacing",
                      "ImageLaterality", "Laterality", "ViewPosition", "BodyPartExamined")


def export_context(
    source: Dataset | None,
    radiograph: Any,
    *,
    deidentify: bool = False,
    key: bytes | None = None,
    patient_id: str | None = None,
    patient_name: str | None = None,
) -> ExportContext:
    """The :class:`ExportContext` of one analysed image.

    Parameters
    ----------
    source : pydicom Dataset or None
        The source file's header (pixels not needed); ``None`` for PNG, JPEG... sources.
    radiograph : Radiograph
        The loaded image (its case id, and patient data when the source is not DICOM).
    deidentify : bool
        Replace patient identifiers and UIDs (see the module docstring).
    key : bytes, optional
        Pseudonym/UID key; default the workstation's (:func:`ra_desktop.pseudonym.workstation_key`).
    patient_id, patient_name : str, optional
        What the worklist knows about a non-DICOM image's patient (ignored for DICOM sources,
        whose header is authoritative).
    """
    case_id = str(getattr(radiograph, "case_id", "") or "")
    ps = Dataset()
    src: SourceImage | None = None
    if source is not None and _text(source, "SOPInstanceUID"):
        for keyword in COPIED:
            if keyword in source and source[keyword].value not in (None, ""):
                ps[source[keyword].tag] = source[keyword]
        if not _text(source, "StudyInstanceUID"):  # a header without one still needs a study
            ps.StudyInstanceUID = content_uid("study", case_id or _text(source, "SOPInstanceUID"))
        header = Dataset()
        for keyword in _IMAGE_DESCRIPTORS:
            if keyword in source and source[keyword].value not in (None, ""):
                header[source[keyword].tag] = source[keyword]
        src = SourceImage(
            sop_class_uid=_text(source, "SOPClassUID"), sop_instance_uid=_text(source, "SOPInstanceUID"),
            series_instance_uid=_text(source, "SeriesInstanceUID") or content_uid("series", case_id),
            modality=_text(source, "Modality") or None, rows=source.get("Rows"), columns=source.get("Columns"),
            header=header)
    else:
        ps.StudyInstanceUID = content_uid("study", case_id)
        pid = patient_id or getattr(radiograph, "patient_id", None)
        name = patient_name or getattr(radiograph, "patient_name", None)
        if pid:
            ps.PatientID = str(pid)
        if name:
            ps.PatientName = str(name)
        date = getattr(radiograph, "study_date", None)
        if date:
            ps.StudyDate = str(date)
    if not deidentify:
        return ExportContext(ps, src, False, case_id)

    original_pid = _text(ps, "PatientID")
    # Linkable per patient on this workstation; a study without a patient ID is its own patient.
    alias = pseudonym(f"patient:{original_pid}" if original_pid else f"study:{ps.StudyInstanceUID}", key)
    clean = Dataset()
    clean.PatientName = alias + "^"  # one name component, said explicitly
    clean.PatientID = alias
    clean.StudyInstanceUID = derived_uid("study", str(ps.StudyInstanceUID), key)
    if src is not None:
        header = Dataset()
        for elem in src.header or Dataset():
            if elem.keyword not in ("ViewPosition", "BodyPartExamined"):  # free text in practice
                header[elem.tag] = elem
        src = SourceImage(
            sop_class_uid=src.sop_class_uid,
            sop_instance_uid=derived_uid("instance", src.sop_instance_uid, key),
            series_instance_uid=derived_uid("series", src.series_instance_uid, key),
            modality=src.modality, rows=src.rows, columns=src.columns, header=header)
    return ExportContext(clean, src, True, pseudonym(case_id, key))
