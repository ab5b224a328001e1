"""Compose a displayed radiograph and its heat-map overlay, for anything that is not a live view.

The viewer draws the grey layer and the RGBA layer separately; reports and screenshots need the
composite. Both go through the same functions (``apply_window``, ``colorize``, ``blend``), in the
viewer's order: window, then MONOCHROME1 inversion, then one constant opacity for the layer.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ra_desktop.render import voi
from ra_desktop.render.greyscale import auto_window
from ra_desktop.render.overlay import blend, colorize, unseen_mask_rgba, value_range


def display_window(pixels: np.ndarray, center: float | None, width: float | None) -> tuple[float, float]:
    """The window the viewer opens with: the file's VOI window if usable, else the auto window.

    Parameters
    ----------
    pixels : np.ndarray
        Modality-unit pixels.
    center, width : float or None
        Window from the DICOM tags (``None`` for PNG/JPEG or when absent).

    Returns
    -------
    tuple of float
        ``(center, width)``.
    """
    if center is not None and width is not None and float(width) > 0:
        return float(center), float(width)
    return auto_window(pixels)


def display_grey(
    pixels: np.ndarray,
    photometric: str = "MONOCHROME2",
    center: float | None = None,
    width: float | None = None,
    *,
    function: str = voi.LINEAR_EXACT,
    voi_lut: voi.VoiLut | None = None,
    presentation_inverse: bool = False,
) -> np.ndarray:
    """Window (then invert MONOCHROME1) modality pixels to a uint8 display image.

    Parameters
    ----------
    pixels : np.ndarray
        2-D modality-unit pixels.
    photometric : str
        ``"MONOCHROME1"`` inverts after windowing.
    center, width : float or None
        VOI window; ``None`` uses :func:`display_window`'s fallback.
    function : str
        VOI LUT Function for the window (``Radiograph.voi_function``); the default is the plain
        ``(x - (c - w/2)) / w`` that PNG/JPEG use.
    voi_lut : VoiLut, optional
        The file's VOI LUT (``Radiograph.voi_lut``), used instead of the window when given.
    presentation_inverse : bool
        Presentation LUT Shape INVERSE: inverted as MONOCHROME1 is (once, not twice).

    Returns
    -------
    np.ndarray
        H×W uint8.
    """
    c, w = voi_lut.input_window() if voi_lut is not None else display_window(pixels, center, width)
    invert = photometric == "MONOCHROME1" or presentation_inverse
    return voi.display_uint8(pixels, c, w, function=function, lut=voi_lut, invert=invert)


def radiograph_grey(radiograph) -> np.ndarray:
    """The uint8 image the viewer opens a ``Radiograph`` with ("From file" preset), for exports."""
    return display_grey(radiograph.pixels, radiograph.photometric, radiograph.window_center,
                        radiograph.window_width, function=radiograph.voi_function,
                        voi_lut=radiograph.voi_lut, presentation_inverse=radiograph.presentation_inverse)


def overlay_rgb(
    grey: np.ndarray,
    heatmap: np.ndarray,
    cmap: str = "jet",
    opacity: float = 0.45,
    signed: bool = False,
    show_unseen: bool = True,
) -> tuple[np.ndarray, tuple[float, float]]:
    """Blend a heat map over a uint8 grey image with one opacity, as the viewer shows it.

    Parameters
    ----------
    grey : np.ndarray
        H×W uint8 displayed radiograph.
    heatmap : np.ndarray
        H×W float map in image space; NaN where the model saw nothing.
    cmap : str
        Colour map name (:mod:`ra_desktop.render.colormaps`).
    opacity : float
        Constant alpha of the whole layer (value never drives alpha).
    signed : bool
        Symmetric range for signed (SHAP) maps.
    show_unseen : bool
        Hatch the parts the model never saw, as the viewer does.

    Returns
    -------
    rgb : np.ndarray
        H×W×3 uint8 composite.
    value_range : tuple of float
        ``(vmin, vmax)`` used for the colours, for the colour bar labels.
    """
    if heatmap.shape != grey.shape:
        raise ValueError(f"heat map {heatmap.shape} does not match image {grey.shape}")
    vmin, vmax = value_range(heatmap, signed)
    rgb = blend(grey, colorize(heatmap, cmap, vmin, vmax, opacity=opacity, signed=signed))
    seen = np.isfinite(heatmap)
    if show_unseen and not seen.all():
        rgb = blend_rgb(rgb, unseen_mask_rgba(seen))
    return rgb, (vmin, vmax)


def blend_rgb(base_rgb: np.ndarray, rgba: np.ndarray) -> np.ndarray:
    """Composite an RGBA layer over an RGB uint8 image (H×W×3 uint8 out)."""
    alpha = rgba[..., 3:4].astype(np.float32) / 255.0
    out = base_rgb.astype(np.float32) * (1.0 - alpha) + rgba[..., :3].astype(np.float32) * alpha
    return (out + 0.5).astype(np.uint8)


def fit_long_side(image: np.ndarray, max_px: int) -> np.ndarray:
    """Downsample (never upsample) a uint8 grey or RGB image so its long side is ``max_px``.

    Uses Lanczos filtering so fine bone texture and erosions stay legible in print.
    """
    h, w = image.shape[:2]
    scale = max_px / max(h, w)
    if scale >= 1.0:
        return image
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(image).resize(size, Image.Resampling.LANCZOS))
