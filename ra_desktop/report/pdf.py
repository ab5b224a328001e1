"""Lay out a :class:`ReportModel` as PDF bytes with fpdf2. Headless: no display, no Qt.

Fonts are chosen by :mod:`ra_desktop.report.fonts` (DejaVu Sans, else core Helvetica); every text
goes through ``_ReportPDF.t``, so header text from the image file (see :mod:`ra_desktop.report.text`)
never carries control characters and a character no font can draw is shown as a mark and said so.
Images are embedded losslessly (PNG/Flate): the radiograph as 8-bit grey, the overlay as RGB.
"""
from __future__ import annotations

import io
import re
from collections.abc import Callable
from pathlib import Path

from fpdf import FPDF
from fpdf.fonts import FontFace

from ra_desktop.report.fonts import PdfFonts, to_latin1  # noqa: F401 - to_latin1 kept importable here
from ra_desktop.report.model import PAPER_SIZES_MM, SYNTHETIC_NOTICE, ReportModel, Table
from ra_desktop.report.pdf_pictures import INK as _INK, colourbar, marker, picture
from ra_desktop.report.text import clean, shorten

MARGIN = 12.0
_MUTED = (90, 90, 90)
_WARN_RED = (170, 20, 20)
_RULE = (170, 170, 170)
# Page-count placeholder: holds a control character, which ``t`` strips from every other text,
# so a tag such as "MRN{nb}77" (fpdf2's default alias) prints as written.
PAGES_ALIAS = "\x1fpages\x1f"
# Longest text in one table cell: a row must fit on one page, or fpdf2 cannot draw the table.
TABLE_CELL_CHARS = 400
# The footer: body text stops BOTTOM_MARGIN mm above the page edge; the footer's last line ends
# FOOTER_BOTTOM mm above it (inside any printer's unprintable edge), so FOOTER_ROOM mm hold it.
BOTTOM_MARGIN = 17.0
FOOTER_BOTTOM = 5.0
FOOTER_ROOM = BOTTOM_MARGIN
FOOTER_SIZES = (6.5, 6.0, 5.5)  # pt, largest first
FOOTER_LEADING = 0.46  # mm of line height per pt of font size
FOOTER_CHARS = 400  # a line of run details longer than this (a strange provenance) is cut


def _short(case_id: str, keep: int = 14) -> str:
    """Long DICOM UIDs abbreviated for headers and footers (the full id is in the table)."""
    return case_id if len(case_id) <= 2 * keep + 1 else f"{case_id[:keep]}…{case_id[-keep:]}"


class _ReportPDF(FPDF):
    def __init__(self, report: ReportModel) -> None:
        super().__init__(unit="mm", format=PAPER_SIZES_MM[report.paper])
        self.report = report
        self.typefaces = PdfFonts(self)  # not .fonts: FPDF's own font table
        self.unicode = self.typefaces.unicode
        self.family = self.typefaces.family
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self._footer_plan = self._plan_footer()
        self.set_auto_page_break(True, margin=max(BOTTOM_MARGIN, self._footer_height(self._footer_plan)))
        self.set_title(clean(f"{report.title} - {report.case_id}"))
        self.set_creator("RA Desktop")
        self.alias_nb_pages(PAGES_ALIAS)

    def t(self, text: str) -> str:
        """Every text goes through here: no control characters, nothing the fonts cannot draw."""
        return self.typefaces.printable(clean(text, keep_newlines=True))

    def font(self, size: float, bold: bool = False, colour: tuple[int, int, int] = _INK) -> None:
        self.set_font(self.family, "B" if bold else "", size)
        self.set_text_color(*colour)

    def footer(self) -> None:
        # On every page: run details (timings, app version, date) under a hairline, then who the
        # report is about and that the AI result is decision support only, beside the page number.
        # Every line was wrapped to the printable width when the report began (_plan_footer), and
        # the case lines leave room for the page number, so nothing runs off the page or overlaps.
        size, lh, run_lines, case_lines, page_w = self._footer_plan
        y = self.h - FOOTER_BOTTOM - lh * (len(run_lines) + len(case_lines))
        self.font(size, colour=_MUTED)
        self.set_draw_color(*_RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, y - 0.5, self.w - self.r_margin, y - 0.5)
        for line in run_lines:
            self.set_xy(self.l_margin, y)
            self.cell(self.content_w, lh, line, align="L")
            y += lh
        for line in case_lines:
            self.set_xy(self.l_margin, y)
            self.cell(self.content_w - page_w, lh, line, align="L")
            y += lh
        # Flush right for a total with as many digits as this page's number (the total is only
        # known at the end: fpdf2 fills in the alias, whose own width would misplace a right align).
        label = self.t(f"page {self.page_no()}/")
        width = self.get_string_width(label + "9" * len(str(self.page_no()))) + 2 * self.c_margin
        self.set_xy(self.w - self.r_margin - min(width, page_w), y - lh)
        self.cell(page_w, lh, label + PAGES_ALIAS, align="L")

    def _wrap(self, text: str, width: float) -> list[str]:
        """``text`` made printable and broken into lines no wider than ``width`` mm in the current
        font (the cell's margins included): at its " · " separators first, which never end or
        start a line, then at spaces, and a word longer than a line at characters."""
        room = width - 2 * self.c_margin - 0.2
        fits = lambda line: self.get_string_width(line) <= room  # noqa: E731
        sep = self.t(" · ")
        lines: list[str] = []
        line = ""
        for part in re.split(r"\s+·\s+", text):
            part = self.t(part)
            if not part:
                continue
            if line and fits(line + sep + part):
                line += sep + part
                continue
            if line:
                lines.append(line)
            line = ""
            for word in part.split(" "):
                if fits(f"{line} {word}" if line else word):
                    line = f"{line} {word}" if line else word
                    continue
                if line:
                    lines.append(line)
                line = ""
                for ch in word:  # a word alone wider than the line: break it where it must
                    if line and not fits(line + ch):
                        lines.append(line)
                        line = ""
                    line += ch
        if line:
            lines.append(line)
        return lines

    def _plan_footer(self) -> tuple[float, float, list[str], list[str], float]:
        """Font size, line height, run-detail lines, case lines and the page number's width.

        The footer's text is the same on every page, so it is laid out once: the largest size
        from ``FOOTER_SIZES`` at which it fits above the bottom margin; if even the smallest does
        not (very long run details), the bottom margin grows so body text never runs into it.
        """
        run = "  ·  ".join(shorten(part, FOOTER_CHARS) for part in self.report.footer)
        case = f"Case {_short(self.report.case_id)} · decision support, not a diagnosis"
        if any(w == SYNTHETIC_NOTICE for w in self.report.warnings):
            case += f" · {SYNTHETIC_NOTICE}"
        plan = None
        for size in FOOTER_SIZES:
            self.font(size, colour=_MUTED)
            lh = size * FOOTER_LEADING
            page_w = max(self.get_string_width(self.t("page 999/999")),
                         self.get_string_width(self.t("page 999/") + PAGES_ALIAS)) + 2 * self.c_margin + 2
            plan = (size, lh, self._wrap(run, self.content_w), self._wrap(case, self.content_w - page_w),
                    page_w)
            if self._footer_height(plan) <= FOOTER_ROOM:
                break
        assert plan is not None
        return plan

    @staticmethod
    def _footer_height(plan: tuple[float, float, list[str], list[str], float]) -> float:
        _, lh, run_lines, case_lines, _ = plan
        return FOOTER_BOTTOM + lh * (len(run_lines) + len(case_lines)) + 1.5  # 1.5: rule and air

    @property
    def content_w(self) -> float:
        return self.w - self.l_margin - self.r_margin


def _header(pdf: _ReportPDF, r: ReportModel) -> None:
    pdf.font(15, bold=True)
    pdf.multi_cell(0, 7, pdf.t(r.institution), new_x="LMARGIN", new_y="NEXT")
    pdf.font(9, colour=_MUTED)
    pdf.cell(pdf.content_w * 0.55, 5, pdf.t(r.title), align="L")
    pdf.cell(0, 5, pdf.t(f"Case {_short(r.case_id)}"), align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_draw_color(*_INK)
    pdf.set_line_width(0.5)
    pdf.line(pdf.l_margin, pdf.get_y() + 0.5, pdf.w - pdf.r_margin, pdf.get_y() + 0.5)
    pdf.ln(2.5)


def _warnings(pdf: _ReportPDF, r: ReportModel) -> None:
    if not r.warnings:
        return
    pdf.set_draw_color(*_WARN_RED)
    pdf.set_fill_color(253, 236, 234)
    pdf.set_line_width(0.4)
    pdf.font(9.5, bold=True, colour=_WARN_RED)
    pdf.multi_cell(0, 5, pdf.t("\n".join(f"⚠ {w}" if pdf.unicode else f"! {w}" for w in r.warnings)),
                   border=1, fill=True, padding=(1.5, 2.5), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _finding(pdf: _ReportPDF, r: ReportModel) -> None:
    f = r.finding
    pdf.set_fill_color(240, 243, 247)
    pdf.font(12, bold=True)
    pdf.multi_cell(0, 6.5, pdf.t(f.sentence), fill=True, padding=(2, 2.5, 0.5, 2.5),
                   new_x="LMARGIN", new_y="NEXT")
    pdf.font(9, colour=_WARN_RED if f.ood_warning else _INK)
    pdf.multi_cell(0, 4.8, pdf.t(f"Out-of-distribution check: {f.ood_text}"), fill=True,
                   padding=(0.5, 2.5, 2, 2.5), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _scores(pdf: _ReportPDF, r: ReportModel) -> None:
    """The reader's Sharp/van der Heijde tables, both hands side by side."""
    hands = [t for t in r.scores if t.rows]
    notes = [t for t in r.scores if not t.rows]  # progression: full width, under the hands
    if not hands:
        return
    rows = max(len(t.rows) for t in hands)
    if pdf.get_y() + 12 + 4.2 * (rows + 1) > pdf.h - pdf.b_margin:
        pdf.add_page()
    y0, gap = pdf.get_y(), 6.0
    width = (pdf.content_w - gap * (len(hands) - 1)) / len(hands)
    bottoms = []
    for i, table in enumerate(hands):
        pdf.set_y(y0)
        bottoms.append(_table(pdf, table, pdf.l_margin + i * (width + gap), width, size=7.5))
    pdf.set_xy(pdf.l_margin, max(bottoms) + 2)
    for table in notes:
        pdf.set_y(_table(pdf, table, pdf.l_margin, pdf.content_w))


def _radiogrammetry(pdf: _ReportPDF, r: ReportModel) -> None:
    """Radiogrammetry tables, full width, each kept on one page."""
    for table in r.radiogrammetry:
        if pdf.get_y() + 14 + 4.2 * (len(table.rows) + 1) > pdf.h - pdf.b_margin:
            pdf.add_page()
        pdf.set_y(_table(pdf, table, pdf.l_margin, pdf.content_w))


def _annotations(pdf: _ReportPDF, r: ReportModel) -> None:
    """The reader's annotations: the marked radiograph on the left, their table beside it."""
    if not r.annotations:
        return
    img, gap = r.annotation_image, 6.0
    if img is None:
        for table in r.annotations:
            pdf.set_y(_table(pdf, table, pdf.l_margin, pdf.content_w))
        return
    h_img, w_img = img.rgb.shape[:2]
    w = pdf.content_w * 0.4
    h = min(w * h_img / w_img, 100.0)
    w = h * w_img / h_img
    _keep_together(pdf, h + 18)
    x, y0 = pdf.l_margin, pdf.get_y()
    _heading(pdf, img.title, w)
    top = pdf.get_y()
    pdf.image(picture(img.rgb), x=x, y=top, w=w, h=h, title=img.title)
    pdf.set_draw_color(*_RULE)
    pdf.rect(x, top, w, h)
    marker(pdf, img.marker, x, top)
    pdf.font(7.5, colour=_MUTED)
    pdf.set_xy(x, top + h + 1)
    pdf.multi_cell(w, 3.6, pdf.t(img.caption), align="L", new_x="LEFT", new_y="NEXT")
    bottom = pdf.get_y()
    pdf.set_y(y0)
    page = pdf.page_no()
    for table in r.annotations:
        pdf.set_y(_table(pdf, table, x + w + gap, pdf.content_w - w - gap))
    pdf.set_xy(pdf.l_margin, max(bottom, pdf.get_y()) if pdf.page_no() == page else pdf.get_y())


def _heading(pdf: _ReportPDF, text: str, width: float = 0) -> None:
    pdf.font(10, bold=True)
    pdf.cell(width, 5.5, pdf.t(text), new_x="LEFT", new_y="NEXT")


def _table(pdf: _ReportPDF, table: Table, x: float, width: float, key_w: float | None = None,
           size: float = 8.5) -> float:
    """Draw ``table`` in the column [x, x + width]; returns the y below it."""
    old = pdf.l_margin
    pdf.set_left_margin(x)
    pdf.set_x(x)
    _heading(pdf, table.title, width)
    pdf.font(size)
    pdf.set_draw_color(*_RULE)
    pdf.set_line_width(0.2)
    if table.col_widths:
        widths = tuple(f * width for f in table.col_widths)
        rows = [table.header, *table.rows] if table.header else table.rows
        heading_style = FontFace(emphasis="BOLD", fill_color=(230, 230, 230)) if table.header else None
    elif table.header:
        widths = (8, width - 8 - 20, 20) if len(table.header) == 3 else None
        rows = [table.header, *table.rows]
        heading_style = FontFace(emphasis="BOLD", fill_color=(230, 230, 230))
    else:
        kw = key_w or width * 0.32
        widths, rows, heading_style = (kw, width - kw), table.rows, None
    if rows:
        with pdf.table(width=width, col_widths=widths, align="LEFT", text_align="LEFT",
                       first_row_as_headings=bool(table.header), headings_style=heading_style,
                       borders_layout="HORIZONTAL_LINES", line_height=4.2, padding=(0.6, 1)) as t:
            for row in rows:
                cells = t.row()
                for i, cell in enumerate(row):
                    bold = not table.header and i == 0
                    text = pdf.t(shorten(str(cell), TABLE_CELL_CHARS))
                    cells.cell(text, style=FontFace(emphasis="BOLD") if bold else None)
    if table.note:
        pdf.font(8, colour=_MUTED)
        pdf.multi_cell(width, 4, pdf.t(table.note), new_x="LEFT", new_y="NEXT")
    y = pdf.get_y()
    pdf.set_left_margin(old)
    pdf.set_x(old)
    return y + 2


def _patient(pdf: _ReportPDF, r: ReportModel) -> None:
    # Two key/value columns side by side keep the identity block short.
    half = len(r.patient.rows) // 2
    gap = 6.0
    w = (pdf.content_w - gap) / 2
    y0 = pdf.get_y()
    left = Table(r.patient.title, r.patient.rows[:half])
    right = Table(" ", r.patient.rows[half:])
    y1 = _table(pdf, left, pdf.l_margin, w, key_w=26)
    pdf.set_y(y0)
    y2 = _table(pdf, right, pdf.l_margin + w + gap, w, key_w=22)
    pdf.set_xy(pdf.l_margin, max(y1, y2))
    _unshown(pdf, r.patient)


def _unshown(pdf: _ReportPDF, table: Table) -> None:
    """Say which header values hold characters the fonts cannot draw (printed as a mark)."""
    counts = [(key, pdf.typefaces.missing(clean(value))) for key, value in table.rows]
    lines = [f"{key}: {n} character{'s' if n > 1 else ''} this report's font cannot show, printed as "
             f"{pdf.typefaces.mark}. Check against the original record." for key, n in counts if n]
    if not lines:
        return
    pdf.font(8.5, bold=True, colour=_WARN_RED)
    pdf.multi_cell(0, 4.2, pdf.t("\n".join(lines)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(1.5)


def _images(pdf: _ReportPDF, r: ReportModel) -> None:
    bar_w = 24.0
    gap = 5.0
    n = len(r.images)
    avail_w = (pdf.content_w - bar_w - gap * (n - 1)) / max(n, 1) if n > 1 else pdf.content_w * 0.55
    max_h = 90.0 if r.paper == "a4" else 74.0
    h_img, w_img = r.images[0].rgb.shape[:2]
    w = min(avail_w, max_h * w_img / h_img)
    h = w * h_img / w_img
    needed = h + 28
    if pdf.get_y() + needed > pdf.h - pdf.b_margin:
        pdf.add_page()
    y0 = pdf.get_y()
    x = pdf.l_margin
    bottom = y0
    for img in r.images:
        pdf.set_xy(x, y0)
        _heading(pdf, img.title, w)
        if img.colourbar is not None:  # the scale's name sits above the bar, beside the title
            pdf.font(7, colour=_MUTED)
            pdf.set_xy(x + w + 1.0, y0 + 1.2)
            pdf.cell(bar_w, 4, pdf.t(img.colourbar.title))
            pdf.set_xy(x, y0 + 5.5)
        top = pdf.get_y()
        pdf.image(picture(img.rgb), x=x, y=top, w=w, h=h, title=img.title)
        pdf.set_draw_color(*_RULE)
        pdf.rect(x, top, w, h)
        marker(pdf, img.marker, x, top)
        colourbar(pdf, img, x + w + 2.0, top, h)
        pdf.font(7.5, colour=_MUTED)
        pdf.set_xy(x, top + h + 1)
        pdf.multi_cell(w, 3.6, pdf.t(img.caption), align="L", new_x="LEFT", new_y="NEXT")
        bottom = max(bottom, pdf.get_y())
        x += w + gap + (bar_w if img.colourbar else 0)
    pdf.set_xy(pdf.l_margin, bottom + 2)


def _keep_together(pdf: _ReportPDF, height: float) -> None:
    """Start a new page unless ``height`` mm still fit (fpdf2 tables cannot be unbreakable)."""
    if pdf.get_y() + height > pdf.h - pdf.b_margin:
        pdf.add_page()


def _signoff(pdf: _ReportPDF, r: ReportModel, x: float, width: float) -> float:
    if r.signoff is not None:
        return _table(pdf, r.signoff, x, width, key_w=22, size=8.5)
    pdf.set_x(x)
    _heading(pdf, "Reader sign-off", width)
    pdf.font(8.5, colour=_MUTED)
    pdf.set_x(x)
    pdf.multi_cell(width, 4.2, pdf.t("Not yet reviewed: no reader has signed off this result."),
                   new_x="LEFT", new_y="NEXT")
    return pdf.get_y() + 2


def _intended_use(pdf: _ReportPDF, r: ReportModel, x: float, width: float) -> float:
    pdf.set_x(x)
    _heading(pdf, "Intended use", width)
    pdf.font(8, colour=_INK)
    pdf.set_x(x)
    pdf.multi_cell(width, 3.8, pdf.t(r.intended_use), align="L", new_x="LEFT", new_y="NEXT")
    return pdf.get_y() + 2


def _closing_body(pdf: _ReportPDF, r: ReportModel) -> None:
    gap = 6.0
    w = (pdf.content_w - gap) / 2
    y0 = pdf.get_y()
    y1 = _signoff(pdf, r, pdf.l_margin, w)
    pdf.set_y(y0)
    y2 = _intended_use(pdf, r, pdf.l_margin + w + gap, w)
    pdf.set_xy(pdf.l_margin, max(y1, y2))


def _closing(pdf: _ReportPDF, r: ReportModel) -> None:
    # Sign-off beside the intended-use statement (what a reader signs against), kept together:
    # rendered once on a scratch copy to see whether it still fits on this page.
    with pdf.offset_rendering() as trial:
        _closing_body(trial, r)
    if trial.page_break_triggered:
        pdf.add_page()
    _closing_body(pdf, r)


def render_pdf(report: ReportModel) -> bytes:
    """Lay out ``report`` and return the PDF file's bytes.

    Parameters
    ----------
    report : ReportModel
        Built by :func:`ra_desktop.report.builder.build_report`.

    Returns
    -------
    bytes
        A complete PDF document (A4 or Letter per ``report.paper``).
    """
    pdf = _ReportPDF(report)
    pdf.add_page()
    _header(pdf, report)
    _warnings(pdf, report)
    _finding(pdf, report)
    _patient(pdf, report)
    _images(pdf, report)
    _scores(pdf, report)
    _radiogrammetry(pdf, report)
    _annotations(pdf, report)
    # Regions and the model card side by side: both are short, and a reader compares them.
    y0 = pdf.get_y()
    if y0 + 50 > pdf.h - pdf.b_margin:
        pdf.add_page()
        y0 = pdf.get_y()
    left_w = 62.0
    y1 = _table(pdf, report.regions, pdf.l_margin, left_w)
    pdf.set_y(y0)
    y2 = _table(pdf, report.model_card, pdf.l_margin + left_w + 6, pdf.content_w - left_w - 6, key_w=34)
    pdf.set_xy(pdf.l_margin, max(y1, y2) if pdf.page_no() == 1 or y2 > y1 else y2)
    _closing(pdf, report)
    return bytes(pdf.output())


def write_chunks(data: bytes, fh: io.BufferedWriter | io.BytesIO, chunk: int = 1 << 16,
                 check: Callable[[], None] | None = None) -> None:
    """Write ``data`` in chunks, calling ``check`` between them (cancellation, tests)."""
    for start in range(0, len(data), chunk):
        if check is not None:
            check()
        fh.write(data[start:start + chunk])
