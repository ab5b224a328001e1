"""Text from outside made safe to print or to write into a CSV cell. No project imports.

Patient name, ID, view, body part and UIDs come from the image file (whatever its sender wrote);
reader names and case ids come from the user and from files. Here such text loses control
characters (terminal escapes, bidi overrides that reorder what is printed, and the report's own
page-count placeholder), is shortened to fit a table cell, and is kept from starting a
spreadsheet formula. It sits at the bottom of the package so that any layer (report, scoring)
can use it.
"""
from __future__ import annotations

import re

ELLIPSIS = "…"

_LINE_BREAKS = re.compile(r"[\t\n\r\v\f\x1c-\x1e\x85\u2028\u2029]")
# C0 and C1 controls, DEL, and the invisible marks that reorder text on the page.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
FORMULA_START = ("=", "+", "-", "@")
#: What :func:`csv_cell` puts before a cell that would start a formula.
CSV_QUOTE = "'"


def clean(text: object, keep_newlines: bool = False) -> str:
    """``text`` without control characters; tabs and line breaks become spaces.

    ``keep_newlines`` keeps ``"\\n"`` (our own multi-line texts); header text never has them.
    """
    s = str(text)
    if keep_newlines:
        return "\n".join(clean(part) for part in s.split("\n"))
    return _CONTROLS.sub("", _LINE_BREAKS.sub(" ", s))


def shorten(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters, ending in "…" when cut."""
    return text if len(text) <= limit else text[: max(limit - 1, 0)].rstrip() + ELLIPSIS


def csv_cell(value: object) -> str:
    """A CSV cell a spreadsheet program shows as text, never runs as a formula (OWASP).

    Cells starting with ``= + - @`` (after any leading spaces) get a leading single quote.
    """
    s = clean(value)
    return CSV_QUOTE + s if s.lstrip().startswith(FORMULA_START) else s
