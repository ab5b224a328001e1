"""Radiograph I/O: load DICOM, PNG, JPEG, BMP and TIFF files into a :class:`Radiograph`.

Public API: :func:`load_radiograph`, :func:`read_header` (:class:`ImageHeader`), :func:`iter_image_files`, :data:`SUPPORTED_SUFFIXES`,
:data:`MAX_PIXELS`, :class:`Radiograph`.
"""
from __future__ import annotations

from ra_desktop.io._common import MAX_PIXELS
from ra_desktop.io.files import SUPPORTED_SUFFIXES, iter_image_files
from ra_desktop.io.loader import ImageHeader, load_radiograph, read_header
from ra_desktop.io.radiograph import Radiograph

__all__ = ["MAX_PIXELS", "SUPPORTED_SUFFIXES", "ImageHeader", "Radiograph", "iter_image_files", "load_radiograph",
           "read_header"]
