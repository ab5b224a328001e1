"""DICOM VOI transforms for display (PS3.3 C.11.2): window functions, VOI LUT, presentation inversion.

Pure numpy, vectorised. Every function returns a float32 image in [0, 1] (``ymin = 0``,
``ymax = 1``); :func:`display_uint8` turns it into the 8-bit display image, through a lookup table
when the pixels are integers with a span of at most 65,536 values (one table entry per value, so
exactly the same bytes as computing every pixel, only faster on large images).

The window functions, with centre ``c`` and width ``w`` (C.11.2.1.2 and C.11.2.1.3):

* ``LINEAR`` (the DICOM default when VOI LUT Function is absent), ``w >= 1``::

      x <= c - 0.5 - (w - 1) / 2  -> 0
      x >  c - 0.5 + (w - 1) / 2  -> 1
      else ((x - (c - 0.5)) / (w - 1) + 0.5)

* ``LINEAR_EXACT``, ``w > 0``: ``x <= c - w/2 -> 0``, ``x > c + w/2 -> 1``, else ``(x - c)/w + 0.5``
  — computed as ``(x - (c - w/2)) / w`` in float32, bit for bit the historic ``apply_window``, which
  the model's intensity step still uses (its input must not change).
* ``SIGMOID``, ``w > 0``: ``1 / (1 + exp(-4 (x - c) / w))``.

A VOI LUT (C.11.2.1.1) maps ``x`` to ``table[x - first_mapped]``; values below the first mapped value
take the first entry, values past the end the last entry; the output range is ``0 .. 2**bits - 1``.
Inversion (MONOCHROME1, Presentation LUT Shape INVERSE) flips the result *after* the VOI step.

This module is about display only: the model input is a percentile window, never the DICOM one.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

LINEAR = "LINEAR"
LINEAR_EXACT = "LINEAR_EXACT"
SIGMOID = "SIGMOID"
FUNCTIONS = (LINEAR, LINEAR_EXACT, SIGMOID)
MAX_LUT_ENTRIES = 65536  # the LUT Descriptor's entry count is 16 bits (0 means 65,536)
_TABLE_SPAN = 65536  # integer images spanning at most this many values are rendered through a table


@dataclass(frozen=True, eq=False)
class VoiLut:
    """One VOI LUT: ``table[i]`` is the output for input ``first_mapped + i``, in ``0 .. 2**bits - 1``.

    Built only by validated code (``io._display_tags`` for files); the constructor re-checks the
    invariants so a bad table can never reach the renderer.
    """

    first_mapped: int
    bits: int
    table: np.ndarray  # 1-D, 1..65,536 entries, read-only
    explanation: str = ""

    def __post_init__(self) -> None:
        table = np.asarray(self.table)
        if table.ndim != 1 or not 1 <= table.size <= MAX_LUT_ENTRIES:
            raise ValueError(f"a VOI LUT has 1 to {MAX_LUT_ENTRIES} entries, got shape {table.shape}")
        if not 1 <= int(self.bits) <= 16:
            raise ValueError(f"VOI LUT bits must be 1..16, got {self.bits}")
        if table.dtype.kind not in "iu" or (table.size and (table.min() < 0 or table.max() >= 1 << int(self.bits))):
            raise ValueError(f"VOI LUT values must be integers in 0..{(1 << int(self.bits)) - 1}")
        table = table.astype(np.uint16)  # a copy: never shares memory with the caller
        table.flags.writeable = False
        object.__setattr__(self, "table", table)
        object.__setattr__(self, "first_mapped", int(self.first_mapped))
        object.__setattr__(self, "bits", int(self.bits))

    @property
    def entries(self) -> int:
        return int(self.table.size)

    def input_window(self) -> tuple[float, float]:
        """(centre, width) spanning the LUT's input range: where a W/L drag starts from the LUT."""
        lo, hi = self.first_mapped, self.first_mapped + self.entries - 1
        return (lo + hi) / 2.0, float(max(hi - lo + 1, 1))

    def unit(self, values: np.ndarray) -> np.ndarray:
        """float32 in [0, 1]: the table output over ``2**bits - 1``."""
        scaled = self.table.astype(np.float32) / np.float32((1 << self.bits) - 1)
        x = np.asarray(values)
        if x.dtype.kind == "f":
            x = np.floor(np.nan_to_num(x, nan=self.first_mapped))
        index = np.clip(x.astype(np.float64) - self.first_mapped, 0, self.entries - 1).astype(np.intp)
        return scaled[index]


def normalise_function(value: str | None) -> str | None:
    """The VOI LUT Function as one of :data:`FUNCTIONS`, or None when absent or unknown."""
    text = str(value or "").strip().upper().replace(" ", "_")
    return text if text in FUNCTIONS else None


def window_unit(values: np.ndarray, center: float, width: float, function: str = LINEAR) -> np.ndarray:
    """A window function (LINEAR, LINEAR_EXACT or SIGMOID) to float32 in [0, 1].

    ``width`` below the function's minimum (1 for LINEAR, tiny for the others) is raised to it, so
    a degenerate window becomes a threshold at the centre instead of a division by zero.
    """
    x = np.asarray(values)
    c = float(center)
    if function == LINEAR_EXACT:
        w = max(float(width), 1e-6)
        out = (x.astype(np.float32) - np.float32(c - w / 2.0)) / np.float32(w)
        return np.clip(out, 0.0, 1.0, out=out)
    if function == LINEAR:
        w1 = max(float(width), 1.0) - 1.0
        c0 = c - 0.5
        if w1 == 0.0:  # width 1: a step, everything above c - 0.5 is ymax
            return (x > c0).astype(np.float32)
        xf = x.astype(np.float32)
        out = (xf - np.float32(c0)) / np.float32(w1) + np.float32(0.5)
        np.clip(out, 0.0, 1.0, out=out)
        # The standard's borders, exactly (float32 rounding must not move a value across them).
        out[xf <= np.float32(c0 - w1 / 2.0)] = 0.0
        out[xf > np.float32(c0 + w1 / 2.0)] = 1.0
        return out
    if function == SIGMOID:
        w = max(float(width), 1e-6)
        with np.errstate(over="ignore"):
            e = np.exp(np.float32(-4.0 / w) * (x.astype(np.float32) - np.float32(c)))
            return (np.float32(1.0) / (np.float32(1.0) + e)).astype(np.float32, copy=False)
    raise ValueError(f"unknown VOI LUT function {function!r}; choose one of {', '.join(FUNCTIONS)}")


def voi_unit(values: np.ndarray, center: float, width: float, *, function: str = LINEAR,
             lut: VoiLut | None = None, invert: bool = False) -> np.ndarray:
    """The VOI step (the LUT when given, else the window function), then inversion: float32 [0, 1]."""
    out = lut.unit(values) if lut is not None else window_unit(values, center, width, function)
    if invert:
        out = np.float32(1.0) - out
    return out


def to_uint8(unit: np.ndarray) -> np.ndarray:
    """[0, 1] float to uint8 with rounding."""
    return (np.clip(unit, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def display_uint8(pixels: np.ndarray, center: float, width: float, *, function: str = LINEAR,
                  lut: VoiLut | None = None, invert: bool = False) -> np.ndarray:
    """8-bit display image (rounded) of modality pixels: VOI, then inversion.

    Integer images whose values span at most 65,536 are mapped through a per-value table (the
    same bytes, computed once per value instead of once per pixel).
    """
    px = np.asarray(pixels)
    if px.dtype.kind in "iu" and px.size > 4096:
        lo, hi = int(px.min()), int(px.max())
        if hi - lo < _TABLE_SPAN:
            table = to_uint8(voi_unit(np.arange(lo, hi + 1, dtype=np.int64), center, width,
                                      function=function, lut=lut, invert=invert))
            if lo == 0 and px.dtype in (np.uint8, np.uint16):
                return table.take(px, mode="clip")
            return table.take((px - px.dtype.type(lo)).astype(np.uint16), mode="clip")
    return to_uint8(voi_unit(px, center, width, function=function, lut=lut, invert=invert))
