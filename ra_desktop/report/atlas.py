"""The marker atlas as a PDF handout (``ra-desktop atlas``, Help > Marker atlas): one row per
marker, the normal hand beside each severity, arrows at the changed joints, a caption per marker.

The plates come from :mod:`ra_desktop.phantom.atlas`; this module only lays them out.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
from fpdf import FPDF
from PIL import Image, ImageDraw

from ra_desktop import __version__
from ra_desktop.phantom.atlas import LEVEL_NAMES, Plate
from ra_desktop.report.files import write_atomic
from ra_desktop.report.fonts import PdfFonts
from ra_desktop.textsafe import clean

_MARGIN = 14.0
_GAP = 3.0
_ARROW = (255, 196, 0)
_INK, _MUTED = (20, 20, 20), (90, 90, 90)
NOTICE = ("Synthetic phantoms made by RA Desktop's generator, not patient images: each row is the same "
          "hand, healthy (Normal) and with only the named marker at the joints the arrows point at. "
          "Teaching material; not for clinical use.")


def _with_arrows(panel) -> Image.Image:
    img = Image.fromarray(panel.image).convert("RGB")
    if not panel.arrows:
        return img
    draw = ImageDraw.Draw(img)
    size = max(img.size)
    length, width = 0.09 * size, max(2, int(size / 150))
    for x, y in panel.arrows:
        # From the upper left, stopping short of the joint so the joint itself stays visible.
        tip = np.array([x, y]) - np.array([0.55, 0.55]) * 0.04 * size
        tail = tip - np.array([0.8, 0.6]) * length
        draw.line([tuple(tail), tuple(tip)], fill=_ARROW, width=width)
        back = (tail - tip) / np.linalg.norm(tail - tip)
        side = np.array([-back[1], back[0]])
        head = 3.2 * width
        draw.polygon([tuple(tip), tuple(tip + back * head + side * head * 0.6),
                      tuple(tip + back * head - side * head * 0.6)], fill=_ARROW)
    return img


def write_atlas(plates: Iterable[Plate], out_dir: str | Path, *, seed: int, side: str,
                progress: Callable[[int, str], None] | None = None) -> Path:
    """Write ``RA-marker-atlas_<seed><side>.pdf`` into ``out_dir``; returns its path."""
    pdf = FPDF(unit="mm", format="A4")
    fonts = PdfFonts(pdf)
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(False)
    pdf.set_title("RA radiographic markers: a phantom atlas")
    pdf.set_creator(f"RA Desktop {__version__}")

    def text(size: float, s: str, bold: bool = False, colour=_INK, h: float | None = None) -> None:
        pdf.set_font(fonts.family, "B" if bold else "", size)
        pdf.set_text_color(*colour)
        pdf.multi_cell(0, h or size * 0.45, fonts.printable(clean(s)), new_x="LMARGIN", new_y="NEXT", align="L")

    def footer() -> None:
        pdf.set_y(-10)
        pdf.set_font(fonts.family, "", 7)
        pdf.set_text_color(*_MUTED)
        pdf.cell(0, 4, fonts.printable(f"RA Desktop {__version__} · phantom atlas, seed {seed}, {side} hand · "
                                       f"{datetime.now():%Y-%m-%d} · page {pdf.page_no()}"), align="C")

    pdf.add_page()
    text(16, "RA radiographic markers: a phantom atlas", bold=True, h=8)
    text(9, NOTICE, colour=_MUTED)
    pdf.ln(2)
    usable_w = pdf.w - 2 * _MARGIN
    for n, plate in enumerate(plates):
        if progress is not None:
            progress(n, plate.marker.title)
        images = [_with_arrows(p) for p in plate.panels]
        cols = 4
        cell_w = (usable_w - (cols - 1) * _GAP) / cols
        img_h = cell_w * images[0].height / images[0].width
        block_h = 6 + 13 + img_h + 13
        if pdf.get_y() + block_h > pdf.h - 14:
            footer()
            pdf.add_page()
        text(12, plate.marker.title, bold=True, h=6)
        text(8.5, plate.marker.caption, colour=_MUTED)
        top = pdf.get_y() + 1.5
        for i, (panel, img) in enumerate(zip(plate.panels, images)):
            x = _MARGIN + i * (cell_w + _GAP)
            pdf.image(img, x=x, y=top, w=cell_w, h=img_h)
            pdf.set_xy(x, top + img_h + 0.8)
            pdf.set_font(fonts.family, "B", 8)
            pdf.set_text_color(*_INK)
            pdf.cell(cell_w, 3.6, fonts.printable(LEVEL_NAMES[panel.level]), new_x="LEFT", new_y="NEXT")
            if panel.grades:
                pdf.set_font(fonts.family, "", 6.5)
                pdf.set_text_color(*_MUTED)
                pdf.multi_cell(cell_w, 2.8, fonts.printable(clean(panel.grades)), align="L")
        pdf.set_xy(_MARGIN, top + img_h + 13)
    footer()
    data = bytes(pdf.output())
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    return write_atomic(Path(out_dir) / f"RA-marker-atlas_{seed}{side}.pdf", lambda fh: fh.write(data),
                        overwrite=True)
