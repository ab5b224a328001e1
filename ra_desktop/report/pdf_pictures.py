"""Pictures on a report page: radiographs and overlays embedded (lossless grey, JPEG for a large
colour wash), the colour bar with its ticks, and the burned-in laterality marker."""
from __future__ import annotations

import io
from typing import Any

import numpy as np
from PIL import Image

from ra_desktop.report.model import ReportImage

INK = (20, 20, 20)


def png(rgb: np.ndarray) -> Image.Image:
    """A PIL image (embedded losslessly), grey (1 channel) when it has no colour, to halve its size."""
    if rgb.ndim == 3 and np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2]):
        rgb = rgb[..., 0]
    return Image.fromarray(np.ascontiguousarray(rgb))


def picture(rgb: np.ndarray, big_colour_as_jpeg: bool = True) -> Image.Image | io.BytesIO:
    """Grey pictures stay lossless; a large colour overlay goes in as JPEG (quality 92).

    The overlay is a smooth colour wash over the same radiograph that is printed losslessly
    beside it, so JPEG costs nothing visible and keeps a report near 1 MB instead of 2-3 MB.
    """
    img = png(rgb)
    if img.mode == "L" or not big_colour_as_jpeg or rgb.shape[0] * rgb.shape[1] < 200_000:
        return img
    buf = io.BytesIO()
    img.save(buf, format="JPEG", quality=92, subsampling=0)
    buf.seek(0)
    return buf


def colourbar(pdf: Any, img: ReportImage, x: float, y: float, h: float) -> None:
    bar = img.colourbar
    if bar is None:
        return
    bw = 4.0
    pdf.image(png(bar.rgb), x=x, y=y, w=bw, h=h)
    pdf.set_draw_color(*INK)
    pdf.set_line_width(0.2)
    pdf.rect(x, y, bw, h)
    pdf.font(6.5)
    for pos, label in bar.ticks:
        ty = y + (1.0 - pos) * h
        pdf.line(x + bw, ty, x + bw + 1.2, ty)
        pdf.set_xy(x + bw + 1.4, ty - 1.6)
        pdf.multi_cell(17, 3.2, pdf.t(label), new_x="LEFT", new_y="NEXT")


def marker(pdf: Any, text: str, x: float, y: float) -> None:
    # Laterality burned onto the printed image, as on the film (never flip, always show L/R).
    if not text:
        return
    pdf.set_fill_color(0, 0, 0)
    pdf.font(11, bold=True, colour=(255, 255, 255))
    pdf.set_xy(x + 1.5, y + 1.5)
    pdf.cell(7, 7, text, fill=True, align="C")
