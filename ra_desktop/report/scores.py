"""The report's Sharp/van der Heijde section: a table per scored hand and the marked radiograph.

Plain data for :mod:`ra_desktop.report.pdf`. Scores are the reader's measurements, printed as
they were entered; not-assessable areas say so and stay out of the totals.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ra_desktop.report.model import ReportImage, ScoreSheetData, Table
from ra_desktop.scoring.svdh import EROSION, JSN, NOT_ASSESSABLE, SITES, hand_areas, totals
from ra_desktop.textsafe import shorten

_HANDS = {"R": "right", "L": "left"}
_MARK = (40, 170, 255)


def _cell(value) -> str:
    return "—" if value is None else ("not assessable" if value == NOT_ASSESSABLE else str(value))


def score_tables(sheet: ScoreSheetData | None) -> list[Table]:
    """One table per hand with any score: each site's erosion and narrowing score, totals below."""
    if sheet is None:
        return []
    hands = [h for h in ("R", "L") if any(k[0] == h for k in sheet.scores)]
    tables = []
    for hand in hands:
        labels = {a.site: a.label for a in hand_areas(hand)}
        kinds = {(a.kind, a.site) for a in hand_areas(hand)}
        rows = []
        for site in SITES:
            ero = _cell(sheet.scores.get((hand, EROSION, site))) if (EROSION, site) in kinds else ""
            jsn = _cell(sheet.scores.get((hand, JSN, site))) if (JSN, site) in kinds else ""
            rows.append((labels[site], ero, jsn))
        t = totals(sheet.scores, [hand])
        note = (f"Reader: {shorten(sheet.reader, 60)}. Erosion {t.erosion}/{t.erosion_max} · narrowing {t.jsn}/{t.jsn_max} · total "
                f"{t.total}/{t.total_max}"
                + (f" · {t.not_assessable} not assessable (left out)" if t.not_assessable else "")
                + (f" · {t.unscored} not scored" if t.unscored else "")
                + ". The reader's scores: measurements, not a diagnosis.")
        title = f"Sharp/van der Heijde, {_HANDS[hand]} hand"
        tables.append(Table(title, rows, ("Area", "Erosion 0–5", "Narrowing 0–4"), note, (0.56, 0.22, 0.22)))
    if len(hands) == 2:
        s = totals(sheet.scores, hands)
        tables[-1] = Table(tables[-1].title, tables[-1].rows, tables[-1].header,
                           tables[-1].note + f" Both hands: total {s.total}/{s.total_max}.", tables[-1].col_widths)
    if sheet.progression:
        tables.append(Table("Progression since the prior study", [], note=sheet.progression))
    return tables


def marked_image(grey: np.ndarray, sheet: ScoreSheetData | None, marker: str,
                 max_px: int) -> ReportImage | None:
    """The radiograph as displayed with the reader's joint markers and their scores, or None."""
    if sheet is None or not sheet.markers:
        return None
    img = Image.fromarray(grey).convert("RGB")
    draw = ImageDraw.Draw(img)
    # Sized for the printed picture (its long side becomes max_px), not for the full image.
    unit = max(img.size) / min(max_px, max(img.size))
    r, line = round(7 * unit), max(1, round(2.5 * unit))
    font = ImageFont.load_default(size=max(8, round(15 * unit)))
    for (hand, site), (x, y) in sorted(sheet.markers.items()):
        parts = [f"{tag}{_short(sheet.scores.get((hand, kind, site)))}" for kind, tag in ((EROSION, "E"), (JSN, "N"))
                 if (hand, kind, site) in sheet.scores]
        draw.ellipse((x - r, y - r, x + r, y + r), outline=(0, 0, 0), width=line + 2)  # dark rim: on bone too
        draw.ellipse((x - r, y - r, x + r, y + r), outline=_MARK, width=line)
        draw.text((x + r + 2 * line, y - 2 * r), " ".join([site, *parts]), fill=_MARK, font=font,
                  stroke_width=max(1, line // 2), stroke_fill=(0, 0, 0))
    scale = min(1.0, max_px / max(img.size))
    if scale < 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    return ReportImage("Joint markers", np.asarray(img), f"The reader's joint markers with their scores "
                       f"(E erosion, N narrowing) — {shorten(sheet.reader, 60)}.", marker)


def _short(value) -> str:
    return "?" if value is None else ("n/a" if value == NOT_ASSESSABLE else str(value))
