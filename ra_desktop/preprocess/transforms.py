"""The published preprocessing: intensity window, resize + centre crop, sym8 wavelet denoising,
scale to [0, 1], three channels, ImageNet normalisation.

Split in two so training can cache the expensive full-resolution intensity step:
``intensity_unit(radiograph)`` -> [0, 1] image, then ``prepare_unit(unit, config)``.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from ra_desktop.errors import DataError
from ra_desktop.io.radiograph import Radiograph
from ra_desktop.preprocess.config import PreprocessConfig
from ra_desktop.preprocess.geometry import (
    Geometry,
    letterbox_geometry,
    letterbox_size,
    resize_crop_geometry,
)
from ra_desktop.render.greyscale import apply_window, auto_window


def intensity_unit(radiograph: Radiograph, config: PreprocessConfig | None = None) -> np.ndarray:
    """Percentile-windowed image in [0, 1], float32, bone bright (MONOCHROME1 inverted).

    Parameters
    ----------
    radiograph : Radiograph
        Loaded image; its modality pixels are windowed at the config's percentiles
        (0.5–99.5 % by default), independent of any window tags in the file.
    config : PreprocessConfig, optional
        Only ``low_pct``/``high_pct`` are used; defaults to the published values.

    Returns
    -------
    numpy.ndarray
        float32 H×W in [0, 1], same shape as ``radiograph.pixels``.
    """
    config = config or PreprocessConfig()
    pixels = radiograph.pixels
    if pixels.ndim != 2 or min(pixels.shape) < 2:
        raise DataError(f"{radiograph.source_path}: expected a 2-D image, got shape {pixels.shape}")
    center, width = auto_window(pixels, config.low_pct, config.high_pct)
    return apply_window(pixels, center, width, invert=radiograph.inverted)


def _check_unit(unit: np.ndarray) -> np.ndarray:
    arr = np.asarray(unit)
    if arr.ndim != 2 or min(arr.shape) < 2:
        raise DataError(f"expected a 2-D [0, 1] image, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.floating):
        raise DataError(f"expected a float [0, 1] image, got dtype {arr.dtype} (use intensity_unit)")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise DataError("image contains NaN or infinite values")
    return arr


def _resize(unit: np.ndarray, height: int, width: int) -> np.ndarray:
    # PIL's float ('F') resize is antialiased (the bilinear kernel widens when shrinking), so a
    # 2000 px radiograph does not alias, and its pixel-centre grid is the one Geometry assumes.
    img = Image.fromarray(np.ascontiguousarray(unit, dtype=np.float32))  # mode "F"
    return np.asarray(img.resize((width, height), Image.Resampling.BILINEAR), dtype=np.float32)


def wavelet_denoise(image: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Wavelet shrinkage (VisuShrink) of a 2-D image; identity when the threshold is "none".

    ``config.wavelet_levels``-level 2-D DWT with ``config.wavelet`` (sym8) and
    ``config.wavelet_mode`` extension; noise sigma = median(|finest diagonal detail|) / 0.6745;
    every detail coefficient is soft (or hard) thresholded at the universal threshold
    ``sigma * sqrt(2 ln n)`` (n = number of pixels); the approximation band is kept; inverse DWT,
    cropped back to the input shape. Output is not clipped.
    """
    if config.wavelet_threshold == "none":
        return image
    import pywt

    coeffs = pywt.wavedec2(image, config.wavelet, mode=config.wavelet_mode, level=config.wavelet_levels)
    finest_diag = coeffs[-1][2]
    sigma = float(np.median(np.abs(finest_diag))) / 0.6745
    thr = sigma * np.sqrt(2.0 * np.log(image.size))
    if thr <= 0:  # a noise-free (e.g. flat) image: nothing to shrink
        return image
    out = [coeffs[0]] + [
        tuple(pywt.threshold(d, thr, mode=config.wavelet_threshold) for d in level)
        for level in coeffs[1:]
    ]
    rec = pywt.waverec2(out, config.wavelet, mode=config.wavelet_mode)
    return rec[: image.shape[0], : image.shape[1]].astype(np.float32)


def geometry_for(image_shape: tuple[int, int], config: PreprocessConfig) -> Geometry:
    """The :class:`Geometry` that :func:`prepare_unit` produces for an image of this shape."""
    if config.mode == "resize_crop":
        return resize_crop_geometry(image_shape, config.resize, config.crop)
    return letterbox_geometry(image_shape, config.crop)


def spatial_unit(unit: np.ndarray, config: PreprocessConfig) -> tuple[np.ndarray, Geometry]:
    """Resize/crop (or letterbox) a [0, 1] image to crop×crop; returns it and its Geometry."""
    unit = _check_unit(unit)
    geometry = geometry_for(unit.shape, config)
    c = config.crop
    if config.mode == "resize_crop":
        r = config.resize
        resized = _resize(unit, r, r)
        top = (r - c) // 2
        out = resized[top : top + c, top : top + c]
    else:
        nh, nw = letterbox_size(unit.shape, c)
        out = np.zeros((c, c), dtype=np.float32)
        top, left = (c - nh) // 2, (c - nw) // 2
        out[top : top + nh, left : left + nw] = _resize(unit, nh, nw)
    return np.ascontiguousarray(out), geometry


def normalise(unit: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Clip to [0, 1], replicate to 3 channels, subtract mean / divide by std -> (3, h, w)."""
    u = np.clip(unit, 0.0, 1.0).astype(np.float32)
    mean = np.asarray(config.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(config.std, dtype=np.float32)[:, None, None]
    return np.ascontiguousarray((u[None, :, :] - mean) / std, dtype=np.float32)


def prepare_unit(unit: np.ndarray, config: PreprocessConfig | None = None) -> tuple[np.ndarray, Geometry]:
    """Model input from a [0, 1] image (output of :func:`intensity_unit` or :func:`augment`).

    Parameters
    ----------
    unit : numpy.ndarray
        2-D float image in [0, 1], bone bright.
    config : PreprocessConfig, optional
        Defaults to the published recipe.

    Returns
    -------
    x : numpy.ndarray
        float32 (3, crop, crop), normalised.
    geometry : Geometry
        Maps model pixels back to ``unit``'s pixel grid.
    """
    config = config or PreprocessConfig()
    small, geometry = spatial_unit(unit, config)
    if config.mode == "letterbox" and config.wavelet_threshold != "none":
        # Denoise only the image area: the zero padding would bias the noise estimate.
        c = config.crop
        nh, nw = letterbox_size(unit.shape, c)
        top, left = (c - nh) // 2, (c - nw) // 2
        if min(nh, nw) >= 2:
            small[top : top + nh, left : left + nw] = wavelet_denoise(
                small[top : top + nh, left : left + nw].copy(), config
            )
    else:
        small = wavelet_denoise(small, config)
    return normalise(small, config), geometry


def prepare(
    source: Radiograph | np.ndarray, config: PreprocessConfig | None = None
) -> tuple[np.ndarray, Geometry]:
    """Model input and geometry from a :class:`Radiograph` or a [0, 1] float array.

    Parameters
    ----------
    source : Radiograph or numpy.ndarray
        A radiograph (intensity step applied here) or an already windowed [0, 1] image.
    config : PreprocessConfig, optional
        Defaults to the published recipe; pass the model manifest's config when serving.

    Returns
    -------
    x : numpy.ndarray
        float32 (3, 224, 224).
    geometry : Geometry
        Maps every model pixel to original-image coordinates.
    """
    config = config or PreprocessConfig()
    if isinstance(source, Radiograph):
        unit = intensity_unit(source, config)
    else:
        unit = _check_unit(source)
        lo, hi = float(unit.min()), float(unit.max())
        if lo < -1e-3 or hi > 1.0 + 1e-3:
            raise DataError(
                f"array input must be a [0, 1] image (got range {lo:.4g}..{hi:.4g}); "
                "pass a Radiograph or use intensity_unit() first"
            )
    return prepare_unit(unit, config)
