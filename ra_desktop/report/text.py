"""Header text made safe to print in a report, a summary or a CSV file.

Patient name, ID, view, body part and UIDs come from the image file: whatever its sender wrote.
Here such text loses control characters (terminal escapes, bidi overrides that reorder what is
printed, and the report's own page-count placeholder), is shortened to fit a table cell, and is
kept from starting a spreadsheet formula. The rules themselves live in :mod:`ra_desktop.textsafe`
(below every layer, so scoring can use them too); this module adds the report's header limits.
"""
from __future__ import annotations

from ra_desktop.textsafe import ELLIPSIS, clean, csv_cell, shorten

__all__ = ["ELLIPSIS", "HEADER_CHARS", "clean", "csv_cell", "header_text", "shorten"]

# Longest legal DICOM person name (3 component groups of 64) fits; anything longer is cut.
HEADER_CHARS = 200


def header_text(value: object, limit: int = HEADER_CHARS) -> str:
    """A header value (name, ID, view, UID...) ready for a report table."""
    return shorten(clean(value), limit)
