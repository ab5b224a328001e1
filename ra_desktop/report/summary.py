"""The batch summary: one row per study, written as CSV and as a one-page PDF table.

Rows carry header text (patient name and ID, case id) from the image files: both writers clean it
(:mod:`ra_desktop.report.text`), the CSV so no cell runs as a spreadsheet formula, the PDF so a
long name is cut to fit its cell and a character the font cannot draw is shown and counted.
"""
from __future__ import annotations

import csv
import io
from dataclasses import astuple, dataclass, fields
from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from ra_desktop import APP_NAME, __version__
from ra_desktop.report.fonts import PdfFonts
from ra_desktop.report.model import PAPER_SIZES_MM
from ra_desktop.report.pdf import MARGIN
from ra_desktop.report.text import clean, csv_cell, shorten

OK = "written"
FAILED = "failed"
CANCELLED = "cancelled"


@dataclass(frozen=True)
class SummaryRow:
    """One study in a batch: what was found and where its report went (or why it failed)."""

    source: str
    case_id: str = ""
    patient: str = ""
    probability: str = ""
    label: str = ""
    ood: str = ""
    status: str = OK
    report_file: str = ""
    reason: str = ""
    # The reader's Sharp/van der Heijde totals ("" when the study was not scored).
    svdh_reader: str = ""
    svdh_hands: str = ""
    svdh_erosion: str = ""
    svdh_jsn: str = ""
    svdh_total: str = ""
    svdh_not_assessable: str = ""
    svdh_unscored: str = ""
    # Radiogrammetry (report/radiogrammetry.py csv_cells: "" when not measured or not valid; the
    # status column says why a value is missing).
    rg_method_version: str = ""
    rg_unit: str = ""
    rg_measurable: str = ""
    rg_mean_mci: str = ""
    rg_MC2_W: str = ""
    rg_MC2_M: str = ""
    rg_MC2_T: str = ""
    rg_MC2_MCI: str = ""
    rg_MC2_status: str = ""
    rg_MC3_W: str = ""
    rg_MC3_M: str = ""
    rg_MC3_T: str = ""
    rg_MC3_MCI: str = ""
    rg_MC3_status: str = ""
    rg_MC4_W: str = ""
    rg_MC4_M: str = ""
    rg_MC4_T: str = ""
    rg_MC4_MCI: str = ""
    rg_MC4_status: str = ""
    rg_MCP2_jsw_min: str = ""
    rg_MCP2_jsw_mean: str = ""
    rg_MCP2_status: str = ""
    rg_MCP3_jsw_min: str = ""
    rg_MCP3_jsw_mean: str = ""
    rg_MCP3_status: str = ""
    rg_MCP4_jsw_min: str = ""
    rg_MCP4_jsw_mean: str = ""
    rg_MCP4_status: str = ""
    rg_MCP5_jsw_min: str = ""
    rg_MCP5_jsw_mean: str = ""
    rg_MCP5_status: str = ""
    rg_PIP2_jsw_min: str = ""
    rg_PIP2_jsw_mean: str = ""
    rg_PIP2_status: str = ""
    rg_PIP3_jsw_min: str = ""
    rg_PIP3_jsw_mean: str = ""
    rg_PIP3_status: str = ""
    rg_PIP4_jsw_min: str = ""
    rg_PIP4_jsw_mean: str = ""
    rg_PIP4_status: str = ""
    rg_PIP5_jsw_min: str = ""
    rg_PIP5_jsw_mean: str = ""
    rg_PIP5_status: str = ""


HEADER = tuple(f.name for f in fields(SummaryRow))
SUMMARY_CELL_CHARS = 200  # a table row must fit on one page


def summary_csv(rows: list[SummaryRow]) -> bytes:
    """CSV bytes (UTF-8 with BOM so spreadsheet programs show "—" and accents correctly)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADER)
    w.writerows([csv_cell(v) for v in astuple(r)] for r in rows)
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def summary_pdf(rows: list[SummaryRow], institution: str, paper: str = "a4",
                now: datetime | None = None) -> bytes:
    """A landscape table of the batch (case, patient, probability, label, OOD, status, file).

    Parameters
    ----------
    rows : list of SummaryRow
    institution : str
        Header line.
    paper : {"a4", "letter"}
    now : datetime, optional
        Shown in the header (tests pin it).
    """
    now = now or datetime.now()
    w_mm, h_mm = PAPER_SIZES_MM[paper]
    pdf = FPDF(orientation="L", unit="mm", format=(w_mm, h_mm))
    pdf.alias_nb_pages(None)  # no page count here: a "{nb}" in a name prints as written
    fonts = PdfFonts(pdf)
    family = fonts.family

    def t(s: str) -> str:
        return fonts.printable(shorten(clean(s), SUMMARY_CELL_CHARS))

    pdf.set_margins(MARGIN, MARGIN, MARGIN)
    pdf.set_auto_page_break(True, margin=MARGIN)
    pdf.add_page()
    pdf.set_font(family, "B", 14)
    pdf.cell(0, 7, t(institution), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(family, "", 9)
    n_ok = sum(r.status == OK for r in rows)
    pdf.cell(0, 5, t(f"RA report batch: {n_ok} of {len(rows)} studies written · {APP_NAME} {__version__} · "
                     f"{now.strftime('%Y-%m-%d %H:%M')}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    pdf.set_font(family, "", 7.5)
    cols = ("Case ID", "Patient", "P(RA)", "Label", "OOD", "Status", "Report file / reason")
    with pdf.table(col_widths=(44, 38, 14, 16, 30, 18, 100), text_align="LEFT", line_height=3.8,
                   headings_style=FontFace(emphasis="BOLD", fill_color=(230, 230, 230)),
                   borders_layout="HORIZONTAL_LINES", padding=(0.6, 1)) as table:
        table.row([t(c) for c in cols])
        for r in rows:
            last = Path(r.report_file).name if r.status == OK else (r.reason or r.source)
            style = None if r.status == OK else FontFace(color=(170, 20, 20))
            cells = table.row(style=style)
            for v in (r.case_id or r.source, r.patient, r.probability, r.label, r.ood, r.status, last):
                cells.cell(t(str(v)))
    unshown = sum(fonts.missing(clean(f"{r.case_id or r.source}{r.patient}")) > 0 for r in rows)
    if unshown:
        pdf.ln(2)
        pdf.set_font(family, "B", 8)
        pdf.set_text_color(170, 20, 20)
        pdf.multi_cell(0, 4, t(f"{unshown} {'study has' if unshown == 1 else 'studies have'} a patient name, "
                               f"ID or case ID with characters this font cannot show, printed as {fonts.mark}. "
                               "Check against the original records."), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())
