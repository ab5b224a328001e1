"""Preprocessing shared by training and serving: one recipe, stored in the model manifest.

Public API: :class:`PreprocessConfig`, :func:`prepare`, :func:`intensity_unit`,
:func:`prepare_unit`, :class:`Geometry`, :func:`augment` (training only).
"""
from ra_desktop.preprocess.augment import AUGMENT_KINDS, augment, augment_with_mask, rotate, window_jitter
from ra_desktop.preprocess.config import IMAGENET_MEAN, IMAGENET_STD, PreprocessConfig
from ra_desktop.preprocess.geometry import Geometry
from ra_desktop.preprocess.transforms import (
    geometry_for,
    intensity_unit,
    normalise,
    prepare,
    prepare_unit,
    spatial_unit,
    wavelet_denoise,
)

__all__ = [
    "AUGMENT_KINDS",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "Geometry",
    "PreprocessConfig",
    "augment",
    "augment_with_mask",
    "window_jitter",
    "geometry_for",
    "intensity_unit",
    "normalise",
    "prepare",
    "prepare_unit",
    "rotate",
    "spatial_unit",
    "wavelet_denoise",
]
