"""The grey display of a radiograph: the window/level LUT and the presets, Qt-free, shared by the
viewer (GUI thread) and the inference lane, which renders a study's first display ahead of it.

Window/level on a 5 MP 16-bit image must stay interactive, so the source pixels are mapped once
to a uint16 index (for unsigned ≤16-bit data the pixels themselves are the index: no copy) and a
window change only rebuilds a ≤65,536-entry uint8 table — computed by the shared
``render.voi`` functions (the file's VOI LUT Function, or its VOI LUT) so screen and report agree
— and gathers through it.
"""
from __future__ import annotations

import weakref
from typing import Any

import numpy as np

from ra_desktop.render import greyscale, voi

PRESETS = ("dicom", "auto", "bone", "full")
PRESET_LABELS = {"dicom": "From file", "auto": "Automatic", "bone": "Bone", "full": "Full range"}
_LUT_SIZE = 65536
_BAND_ROWS = 256  # rows per gather in WindowLut.render (the GIL is let go between bands)


class WindowLut:
    """Maps modality pixels to display bytes through a window LUT; never writes to the pixels."""

    def __init__(self, pixels: np.ndarray) -> None:
        if pixels.ndim != 2:
            raise ValueError(f"expected a 2-D image, got shape {pixels.shape}")
        self.pixels = pixels
        self.vmin = float(pixels.min())
        self.vmax = float(pixels.max())
        if pixels.dtype in (np.uint8, np.uint16):
            # Exact and copy-free: the pixel value is the LUT index.
            self.index = pixels
            self.values = np.arange(int(self.vmax) + 1, dtype=np.float64)
        elif np.issubdtype(pixels.dtype, np.integer) and self.vmax - self.vmin < _LUT_SIZE:
            # Signed or wide integers with a ≤16-bit span: exact after an offset.
            self.index = (pixels - pixels.dtype.type(self.vmin)).astype(np.uint16)
            self.values = self.vmin + np.arange(int(self.vmax - self.vmin) + 1, dtype=np.float64)
        else:
            # Float or very wide data: 65,536 display bins (finer than any screen can show).
            span = max(self.vmax - self.vmin, 1e-12)
            scaled = (pixels.astype(np.float32) - np.float32(self.vmin)) * np.float32((_LUT_SIZE - 1) / span)
            self.index = np.clip(scaled + 0.5, 0, _LUT_SIZE - 1).astype(np.uint16)
            self.values = self.vmin + np.arange(_LUT_SIZE, dtype=np.float64) * (span / (_LUT_SIZE - 1))

    def table(self, center: float, width: float, invert: bool, function: str = voi.LINEAR_EXACT,
              lut: voi.VoiLut | None = None) -> np.ndarray:
        """uint8 display byte per LUT index: the VOI LUT when given, else the window ``function``."""
        return greyscale.to_uint8(voi.voi_unit(self.values, center, width, function=function, lut=lut,
                                               invert=invert))

    def render(self, center: float, width: float, invert: bool, function: str = voi.LINEAR_EXACT,
               lut: voi.VoiLut | None = None) -> np.ndarray:
        """H×W uint8 display image for this window (or VOI LUT); inversion happens after the VOI step."""
        # mode="clip" skips numpy's bounds check and is the fastest gather here (~7 ms on 5 MP). In
        # bands of rows: one gather of 5 MP holds the GIL for several ms, and the GUI thread waits
        # for it while a lane renders ahead; bands let it in between (and are no slower).
        table = self.table(center, width, invert, function, lut)
        out = np.empty(self.index.shape, np.uint8)
        for r in range(0, self.index.shape[0], _BAND_ROWS):
            table.take(self.index[r:r + _BAND_ROWS], mode="clip", out=out[r:r + _BAND_ROWS])
        return out



def preset_window(name: str, pixels: np.ndarray, *, dicom: tuple[float | None, float | None] = (None, None),
                  inverted: bool = False) -> tuple[float, float]:
    """(center, width) for a named preset.

    dicom: the file's VOI window, or automatic when the file has none. auto: 0.5–99.5 percentile.
    bone: a narrow window over the bright (bone) part of the robust range — the high values for
    MONOCHROME2, the low values for MONOCHROME1, where bone is stored dark. full: data min–max.
    """
    if name == "dicom":
        c, w = dicom
        if c is not None and w is not None and w > 0:
            return float(c), float(w)
        return greyscale.auto_window(pixels)
    if name == "auto":
        return greyscale.auto_window(pixels)
    if name == "bone":
        c, w = greyscale.auto_window(pixels)
        lo, hi = c - w / 2, c + w / 2
        if inverted:
            hi = hi - 0.45 * w
        else:
            lo = lo + 0.45 * w
        return (lo + hi) / 2, hi - lo
    if name == "full":
        lo, hi = float(pixels.min()), float(pixels.max())
        return (lo + hi) / 2, max(hi - lo, 1.0)
    raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")



def opening_window(radiograph: Any) -> tuple[float, float, voi.VoiLut | None]:
    """(center, width, VOI LUT) a study opens with: the "From file" preset."""
    lut = radiograph.voi_lut
    if lut is not None:  # the file's VOI LUT; a W/L drag then starts from its input range
        c, w = lut.input_window()
        return c, w, lut
    c, w = preset_window("dicom", radiograph.pixels, dicom=(radiograph.window_center, radiograph.window_width),
                         inverted=radiograph.inverted)
    return c, w, None


# A study's first display, rendered on the inference lane before its image is handed to the
# window (the gather through the LUT is ~5 ms on 5 MP alone, several times that while the lane
# works, all of it on the GUI thread otherwise). Found by the pixels' identity and the exact
# window; the entry goes with the pixels, and only the last two are kept (5 MB each).
_AHEAD: dict[int, tuple[weakref.ref, tuple, np.ndarray]] = {}
_AHEAD_MAX = 2


def _key(center: float, width: float, invert: bool, function: str, lut: voi.VoiLut | None) -> tuple:
    return float(center), float(width), bool(invert), function, id(lut) if lut is not None else None


def render_ahead(radiograph: Any) -> None:
    """Render the display the viewer opens ``radiograph`` with, for :func:`display_ahead`."""
    pixels = radiograph.pixels
    c, w, lut = opening_window(radiograph)
    invert = bool(radiograph.display_inverted)
    image = WindowLut(pixels).render(c, w, invert, radiograph.voi_function, lut)
    key = id(pixels)
    ref = weakref.ref(pixels, lambda r, k=key: _AHEAD.get(k, (None,))[0] is r and _AHEAD.pop(k, None))
    _AHEAD[key] = (ref, _key(c, w, invert, radiograph.voi_function, lut), image)
    while len(_AHEAD) > _AHEAD_MAX:  # only the lane adds; the oldest goes
        _AHEAD.pop(next(iter(_AHEAD)), None)


def display_ahead(pixels: np.ndarray, center: float, width: float, invert: bool, function: str,
                  lut: voi.VoiLut | None) -> np.ndarray | None:
    """The display :func:`render_ahead` made of these very pixels with exactly this window, if any."""
    hit = _AHEAD.get(id(pixels))
    if hit is None or hit[0]() is not pixels or hit[1] != _key(center, width, invert, function, lut):
        return None
    return hit[2]
