"""One page per scoring-quiz session: the learner, the deck, each case's totals against the phantom's
truth, and the session's agreement statistics. Teaching material about phantoms, not patients.
"""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF

from ra_desktop import __version__
from ra_desktop.report.files import write_atomic
from ra_desktop.report.fonts import PdfFonts
from ra_desktop.teaching.deck import DIFFICULTIES
from ra_desktop.teaching.quiz import AGREE, MISSED, OVER, UNDER
from ra_desktop.teaching.results import SessionResult
from ra_desktop.textsafe import clean, shorten

_MARGIN = 15.0
_INK, _MUTED = (20, 20, 20), (90, 90, 90)
_ROW_H = 5.2
MAX_ROWS = 40  # one page; a longer session's other cases are in its CSV
NOTICE = ("Synthetic phantoms made by RA Desktop's generator, not patients. The truth is the generator's "
          "lesions expressed as Sharp/van der Heijde grades; teaching material, not a clinical or "
          "certified assessment.")
_COLUMNS = (("Case", 12), ("Phantom", 48), ("Learner total", 24), ("Truth total", 22), ("Difference", 22),
            ("Agree", 14), ("Over", 12), ("Under", 13), ("Missed", 13))


def _phantom(spec) -> str:
    side = "right" if spec.side == "R" else "left"
    kind = f"RA, severity {spec.severity}" if spec.label == "RA" else "normal"
    extra = " + DIP OA" if "dip_oa" in spec.findings else ""
    return f"{kind}{extra}, {side}"


def quiz_pdf_bytes(result: SessionResult) -> bytes:
    pdf = FPDF(unit="mm", format="A4")
    fonts = PdfFonts(pdf)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(False)
    pdf.set_title("Scoring quiz: session results")
    pdf.set_creator(f"RA Desktop {__version__}")
    pdf.add_page()

    def text(size: float, s: str, bold: bool = False, colour=_INK, h: float | None = None) -> None:
        pdf.set_font(fonts.family, "B" if bold else "", size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, h or size * 0.45, fonts.printable(clean(s)), new_x="LMARGIN", new_y="NEXT", align="L")

    deck = result.deck
    about = DIFFICULTIES.get(deck.difficulty, ("",))[0]
    text(16, "Sharp/van der Heijde scoring quiz", bold=True, h=8)
    text(10, f"Learner: {shorten(result.learner, 80)}", bold=True, h=6)
    text(9.5, f"Deck: {deck.difficulty}" + (f" ({about})" if about else "") + f", seed {deck.seed}, "
              f"{len(deck.cases)} cases · answered {len(result.answers)} · session {result.session_id} · "
              f"started {result.started.replace('T', ' ').replace('Z', ' UTC')}", colour=_MUTED, h=5)
    pdf.ln(2)
    s = result.stats()

    def num(x, fmt):
        return "—" if x is None else format(x, fmt)

    text(11, f"Weighted kappa {num(s.kappa, '.2f')}   ·   mean absolute difference of totals "
             f"{num(s.mad_total, '.1f')}   ·   exact agreement {num(s.exact_share, '.0%')} of {s.compared} areas",
         bold=True, h=6)
    text(8.5, "Kappa: quadratic-weighted, over every area scored by both the learner and the truth, erosion "
              "(0–5) and narrowing (0–4) pooled. Totals: every area the truth grades; an area left unscored "
              "counts 0. Difference = learner − truth. Missed: damage in the truth scored 0 or not at all.",
         colour=_MUTED)
    pdf.ln(3)

    pdf.set_font(fonts.family, "B", 8.5)
    pdf.set_text_color(*_INK)
    pdf.set_fill_color(230, 230, 230)
    for name, w in _COLUMNS:
        pdf.cell(w, _ROW_H + 0.8, fonts.printable(name), border="B", fill=True, align="C" if w < 30 else "L")
    pdf.ln(_ROW_H + 0.8)
    pdf.set_font(fonts.family, "", 8.5)
    for a in result.answers[:MAX_ROWS]:
        fb = a.feedback()
        diff = fb.total_difference
        cells = (str(a.number), _phantom(a.spec), str(fb.learner_total), str(fb.truth_total),
                 f"{diff:+d}" if diff else "0", *(str(fb.count(v)) for v in (AGREE, OVER, UNDER, MISSED)))
        for (_, w), value in zip(_COLUMNS, cells):
            pdf.cell(w, _ROW_H, fonts.printable(value), border="B", align="C" if w < 30 else "L")
        pdf.ln(_ROW_H)
    if len(result.answers) > MAX_ROWS:
        pdf.ln(1)
        text(8.5, f"… and {len(result.answers) - MAX_ROWS} more cases: every case and area is in the session's CSV.",
             colour=_MUTED)
    if not result.answers:
        text(9, "No case answered.", colour=_MUTED)
    pdf.set_y(-24)
    text(8.5, NOTICE, colour=_MUTED)
    pdf.set_font(fonts.family, "", 7)
    pdf.cell(0, 4, fonts.printable(f"RA Desktop {__version__} · scoring quiz · printed {datetime.now():%Y-%m-%d %H:%M}"),
             align="C")
    return bytes(pdf.output())


def write_quiz_pdf(result: SessionResult, path: str | Path) -> Path:
    """Write the session's page to ``path`` (replaced if it exists: the same session, newer)."""
    data = quiz_pdf_bytes(result)
    return write_atomic(path, lambda fh: fh.write(data), overwrite=True)
