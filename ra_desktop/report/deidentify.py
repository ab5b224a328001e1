"""Strip a :class:`ReportInput` of what identifies the patient, before anything is laid out.

Done once, on the plain data, so the PDF text, its metadata, its file name and the batch summary
all see the same cleaned input: the case id (a DICOM SOP Instance UID, traceable to the patient)
becomes the workstation pseudonym, and name, ID, study date, file path and the reader's free-text
note and sign-off time (a date of care) are dropped. The report never carries other DICOM
identifiers (accession number, institution, physicians, device serial, other UIDs): they are not
read into :class:`ReportInput` at all.
"""
from __future__ import annotations

import dataclasses

from ra_desktop.pseudonym import pseudonym
from ra_desktop.report.model import REMOVED, ReportInput


def deidentify(inp: ReportInput, key: bytes | None = None) -> ReportInput:
    """A copy of ``inp`` without patient identifiers; ``key`` defaults to the workstation's."""
    if inp.deidentified:
        return inp
    signoff = inp.signoff
    if signoff is not None:
        # A note is free text ("Mrs Doe, 2nd visit"): it cannot be checked, so it goes.
        signoff = dataclasses.replace(signoff, note=REMOVED if signoff.note else "", timestamp="")
    return dataclasses.replace(
        inp, case_id=pseudonym(inp.case_id, key), patient_name=None, patient_id=None,
        study_date=None, source_file="", signoff=signoff, deidentified=True,
    )
