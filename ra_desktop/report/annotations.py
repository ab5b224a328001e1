"""The report's annotations section: the reader's arrows, texts, angles and regions of interest,
each numbered with its value, and the radiograph marked with them.

Values are computed here from the study's modality pixels and spacing (ra_desktop/measure/roi.py),
as the viewer computes them, so the report prints what the reader saw. Annotations are the
reader's measurements, not patient data, and stay in a de-identified report; but a text label is
free text that can hold a name, an MRN or a date, which nothing can check, so a de-identified
report prints "removed (de-identified)" in its place (on the table and on the image), as it does
for the sign-off note.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from ra_desktop.measure.roi import ROI_KINDS, annotation_value
from ra_desktop.report.model import REMOVED, ReportImage, Table
from ra_desktop.textsafe import shorten

TITLES = {"arrow": "Arrow", "text": "Text", "angle": "Angle", "roi_rect": "Rectangle ROI",
          "roi_ellipse": "Ellipse ROI"}
_COLOUR = (255, 128, 230)  # as on screen


@dataclass(frozen=True)
class AnnotationData:
    """One reader's annotations of a study: (kind, points in image pixels, text) each."""

    reader: str
    items: list[tuple[str, tuple[tuple[float, float], ...], str]] = field(default_factory=list)
    text_removed: bool = False

    def without_text(self) -> AnnotationData:
        """For a de-identified report: every text label replaced (free text may identify)."""
        items = [(k, p, REMOVED if t else t) for k, p, t in self.items]
        return replace(self, items=items, text_removed=True)


def _value(kind: str, points, text: str, pixels, spacing) -> str:
    if kind == "text":
        return shorten(text, 200)
    value = annotation_value(kind, points, pixels, spacing)
    if kind in ROI_KINDS and value:
        value = value.replace(" · ", ", ")
    return value or "—"


def annotation_tables(data: AnnotationData | None, pixels: np.ndarray | None,
                      spacing: tuple[float, float] | None) -> list[Table]:
    """One table: number, kind and value of each annotation; [] when there are none."""
    if data is None or not data.items:
        return []
    rows = [(str(i), TITLES.get(kind, kind), _value(kind, points, text, pixels, spacing))
            for i, (kind, points, text) in enumerate(data.items, 1)]
    unit = ("Lengths and areas in mm from the pixel spacing." if spacing else
            "No pixel spacing: areas in px² (pixels).")
    note = (f"Reader: {shorten(data.reader, 60)}. Angles at the middle point (and their difference from a "
            f"straight line, e.g. ulnar deviation); ROI mean and SD (n − 1) of the stored pixel values, area of "
            f"the drawn shape. {unit}"
            + (" Text labels are free text and are removed from a de-identified report." if data.text_removed else "")
            + " The reader's annotations: measurements, not a diagnosis.")
    return [Table("Annotations", rows, ("#", "Kind", "Value or text"), note, (0.06, 0.26, 0.68))]


def annotated_image(grey: np.ndarray, data: AnnotationData | None, marker: str, max_px: int) -> ReportImage | None:
    """The radiograph as displayed with the numbered annotations drawn on it, or None."""
    if data is None or not data.items:
        return None
    img = Image.fromarray(grey).convert("RGB")
    draw = ImageDraw.Draw(img)
    # Sized for the printed picture (about 10 cm tall beside its table), not for the screen.
    unit = max(img.size) / 900
    line = max(1, round(3 * unit))
    font = ImageFont.load_default(size=max(10, round(24 * unit)))

    def text(xy, s: str) -> None:
        draw.text(xy, s, fill=_COLOUR, font=font, stroke_width=max(1, line // 2), stroke_fill=(0, 0, 0))

    for i, (kind, pts, label) in enumerate(data.items, 1):
        pts = [tuple(p) for p in pts]
        if kind == "arrow":
            (x0, y0), (x1, y1) = pts
            draw.line([pts[0], pts[1]], fill=_COLOUR, width=line)
            a = math.atan2(y1 - y0, x1 - x0)
            head = 22 * unit
            wing = [(x1 - head * math.cos(a + s * 0.38), y1 - head * math.sin(a + s * 0.38)) for s in (1, -1)]
            draw.polygon([pts[1], *wing], fill=_COLOUR)
            text((x0 + 3 * line, y0), str(i))
        elif kind == "angle":
            draw.line(pts, fill=_COLOUR, width=line, joint="curve")
            text((pts[1][0] + 3 * line, pts[1][1]), str(i))
        elif kind in ROI_KINDS:
            box = [min(pts[0][0], pts[1][0]), min(pts[0][1], pts[1][1]), max(pts[0][0], pts[1][0]),
                   max(pts[0][1], pts[1][1])]
            (draw.rectangle if kind == "roi_rect" else draw.ellipse)(box, outline=_COLOUR, width=line)
            text((box[2] + 2 * line, box[3] - 8 * line), str(i))
        elif kind == "text":
            x, y = pts[0]
            draw.ellipse((x - 2 * line, y - 2 * line, x + 2 * line, y + 2 * line), fill=_COLOUR)
            text((x + 3 * line, y - 8 * line), f"{i} {shorten(label, 60)}")
    scale = min(1.0, max_px / max(img.size))
    if scale < 1.0:
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    removed = " Text labels removed (de-identified)." if data.text_removed else ""
    return ReportImage("Annotated radiograph", np.asarray(img), f"The reader's annotations, numbered as in the "
                       f"Annotations table — {shorten(data.reader, 60)}.{removed}", marker)
