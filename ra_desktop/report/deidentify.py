"""Strip a :class:`ReportInput` of what identifies the patient, before anything is laid out.

Done once, on the plain data, so the PDF text, its metadata, its file name and the batch summary
all see the same cleaned input: the case id (a DICOM SOP Instance UID, traceable to the patient)
becomes the workstation pseudonym, and name, ID, study date, file path and the reader's free-text
note and sign-off time (a date of care) are dropped. View, body part and modality are kept only
when they are DICOM code values: a sender can type a name and an MRN into any text tag. The report
never carries other DICOM identifiers (accession number, institution, physicians, device serial,
other UIDs): they are not read into :class:`ReportInput` at all.
"""
from __future__ import annotations

import dataclasses

from ra_desktop.pseudonym import pseudonym
from ra_desktop.report.model import REMOVED, ReportInput

FREE_TEXT = "not shown: free text"
# DICOM defined terms (PS3.3 C.8.11.5 View Position, C.7.3.1 Body Part Examined, Modality) that
# a hand or wrist radiograph may carry, plus LATERAL/OBLIQUE written out by some modalities.
VIEW_POSITIONS = frozenset({"AP", "PA", "LL", "RL", "RLD", "LLD", "RLO", "LLO", "LATERAL", "OBLIQUE"})
BODY_PARTS = frozenset({"HAND", "WRIST", "FINGER", "THUMB", "FOREARM", "ARM", "ELBOW", "SHOULDER",
                        "EXTREMITY", "UPPER EXTREMITY"})
MODALITIES = frozenset({"CR", "DX", "RG", "RF", "XA", "MG", "CT", "MR", "US", "NM", "PT", "OT", "SC"})


def coded(value: str | None, terms: frozenset[str]) -> str | None:
    """``value`` as its code when it is one of ``terms``, else :data:`FREE_TEXT` (None stays None)."""
    if not value:
        return value
    code = " ".join(str(value).split()).upper()
    return code if code in terms else FREE_TEXT


def deidentify(inp: ReportInput, key: bytes | None = None) -> ReportInput:
    """A copy of ``inp`` without patient identifiers; ``key`` defaults to the workstation's."""
    if inp.deidentified:
        return inp
    signoff = inp.signoff
    if signoff is not None:
        # A note is free text ("Mrs Doe, 2nd visit"): it cannot be checked, so it goes.
        signoff = dataclasses.replace(signoff, note=REMOVED if signoff.note else "", timestamp="")
    # Annotations are the reader's measurements and stay; their text labels are free text and go.
    notes = inp.annotations.without_text() if hasattr(inp.annotations, "without_text") else inp.annotations
    return dataclasses.replace(
        inp, case_id=pseudonym(inp.case_id, key), patient_name=None, patient_id=None, annotations=notes,
        study_date=None, source_file="", signoff=signoff, deidentified=True,
        view_position=coded(inp.view_position, VIEW_POSITIONS), body_part=coded(inp.body_part, BODY_PARTS),
        modality=coded(inp.modality, MODALITIES),
    )
