"""The PDF report as a DICOM Encapsulated PDF (SOP class 1.2.840.10008.5.1.4.1.1.104.1), built
with pydicom (highdicom has no Encapsulated Document class).

The PDF is the one ``ra-desktop report`` writes (:func:`report_pdf`, de-identified with the same
setting). Encapsulated Document (PS3.3 C.24.2): the bytes in EncapsulatedDocument, padded with
one NUL byte to an even length when needed, their true length in EncapsulatedDocumentLength,
MIME type ``application/pdf``, a DocumentTitle and a concept name (LOINC 18748-4).
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

import highdicom as hd
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID

from ra_desktop import APP_NAME, __version__
from ra_desktop.dicomout import codes
from ra_desktop.dicomout.context import MANUFACTURER, ExportContext, export_context, plain_text, set_character_set
from ra_desktop.report.builder import build_report
from ra_desktop.report.model import ReportOptions
from ra_desktop.report.pdf import render_pdf

ENCAPSULATED_PDF_STORAGE = "1.2.840.10008.5.1.4.1.1.104.1"
SERIES_NUMBER = 9903
SERIES_DESCRIPTION = "RA Desktop report (not for clinical use)"
DOCUMENT_TITLE = "Rheumatoid arthritis decision-support report (not for clinical use)"


def report_pdf(result: Any, *, manifest: Any = None, signoff: Any = None, scores: Any = None,
               deidentify: bool = False, key: bytes | None = None, options: Any = None,
               settings: Any = None, measurements: Any = None, annotations: Any = None) -> bytes:
    """The study's PDF report as bytes, exactly as ``ra-desktop report`` lays it out."""
    import dataclasses

    if options is None:
        options = ReportOptions(deidentify=deidentify, pseudonym_key=key)
    else:
        options = dataclasses.replace(options, deidentify=deidentify or options.deidentify,
                                      pseudonym_key=key if key is not None else options.pseudonym_key)
    return render_pdf(build_report(result, manifest, signoff, settings, options, scores=scores,
                                   measurements=measurements, annotations=annotations))


def _code(concept) -> Dataset:
    item = Dataset()
    item.CodeValue = concept.value
    item.CodingSchemeDesignator = concept.scheme_designator
    item.CodeMeaning = concept.meaning
    return item


def build_encapsulated_pdf(
    source: Dataset | None,
    radiograph: Any,
    pdf_bytes: bytes,
    *,
    title: str = DOCUMENT_TITLE,
    deidentify: bool = False,
    key: bytes | None = None,
    patient_id: str | None = None,
    context: ExportContext | None = None,
    institution: str | None = None,
) -> Dataset:
    """``pdf_bytes`` wrapped as an Encapsulated PDF in the source's study (see
    :func:`ra_desktop.dicomout.sr.build_sr` for the shared arguments). De-identifying the
    wrapper does not clean the PDF: pass the report made with ``deidentify=True``
    (:func:`report_pdf`) too."""
    data = bytes(pdf_bytes)
    if not data.startswith(b"%PDF"):
        raise ValueError("not a PDF document (it does not start with %PDF)")
    ctx = context or export_context(source, radiograph, deidentify=deidentify, key=key, patient_id=patient_id)
    now = datetime.now()
    sop_uid = hd.UID()
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ENCAPSULATED_PDF_STORAGE
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = Dataset()
    ds.file_meta = meta
    # SOP Common
    ds.SOPClassUID = ENCAPSULATED_PDF_STORAGE
    ds.SOPInstanceUID = sop_uid
    ds.InstanceCreationDate = now.strftime("%Y%m%d")
    ds.InstanceCreationTime = now.strftime("%H%M%S")
    ctx.apply(ds)  # Patient, General Study (and the de-identification flags)
    # Encapsulated Document Series
    ds.Modality = "DOC"
    ds.SeriesInstanceUID = hd.UID()
    ds.SeriesNumber = SERIES_NUMBER
    ds.SeriesDescription = SERIES_DESCRIPTION
    # General Equipment, SC Equipment
    ds.Manufacturer = MANUFACTURER
    ds.SoftwareVersions = f"{APP_NAME} {__version__}"
    if institution:
        ds.InstitutionName = institution
    ds.ConversionType = "WSD"  # workstation
    # Encapsulated Document
    ds.InstanceNumber = 1
    ds.ContentDate = now.strftime("%Y%m%d")
    ds.ContentTime = now.strftime("%H%M%S")
    ds.AcquisitionDateTime = now.strftime("%Y%m%d%H%M%S")
    ds.BurnedInAnnotation = "YES"  # a report prints patient data unless de-identified
    ds.RecognizableVisualFeatures = "NO"
    ds.DocumentTitle = plain_text(title)[:1024]
    ds.ConceptNameCodeSequence = [_code(codes.DIAGNOSTIC_IMAGING_REPORT)]
    ds.MIMETypeOfEncapsulatedDocument = "application/pdf"
    if ctx.source is not None:
        item = Dataset()
        item.ReferencedSOPClassUID = ctx.source.sop_class_uid
        item.ReferencedSOPInstanceUID = ctx.source.sop_instance_uid
        ds.SourceInstanceSequence = [item]
    ds.EncapsulatedDocumentLength = len(data)
    ds.EncapsulatedDocument = data + (b"\x00" if len(data) % 2 else b"")
    return set_character_set(ds)
