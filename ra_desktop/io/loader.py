"""``load_radiograph``: one entry point for every supported file, format decided by content."""
from __future__ import annotations

from pathlib import Path

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import _detect
from ra_desktop.io._common import MAX_PIXELS
from ra_desktop.io._dicom import read_dicom
from ra_desktop.io._raster import read_raster
from ra_desktop.io.radiograph import Radiograph

_RASTER = ("PNG", "JPEG", "BMP", "TIFF")


def load_radiograph(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> Radiograph:
    """Load a radiograph from a DICOM, PNG, JPEG, BMP or TIFF file.

    The format is detected from the file's bytes (a JPEG named ``.png`` loads as JPEG).
    Pixels keep their native bit depth and are returned read-only, in modality units.

    Parameters
    ----------
    path : str or Path
        The file to read.
    max_pixels : int, optional
        Largest accepted Rows x Columns, checked from the header before decoding
        (default 100 megapixels).

    Returns
    -------
    Radiograph

    Raises
    ------
    ImageLoadError
        For a missing file, a directory, an empty, truncated, corrupt or non-image file,
        DICOM without pixel data, a transfer syntax without an installed decoder, or an
        image beyond ``max_pixels``. The message names the file and the reason.
    """
    path = Path(path)
    data = _read_bytes(path)
    kind = _detect.sniff(data[:132])
    if kind == _detect.DICOM:
        return read_dicom(path, data, force=False, max_pixels=max_pixels)
    if kind in _RASTER:
        return read_raster(path, data, kind=kind, max_pixels=max_pixels)
    if kind == "DICOM?":
        return read_dicom(path, data, force=True, max_pixels=max_pixels)
    if kind == "text":
        raise ImageLoadError(path, "not an image: the file contains text")
    if kind != _detect.UNKNOWN:
        raise ImageLoadError(path, f"unsupported file type: {kind}")
    # Last resort: an old DICOM file with neither preamble nor a usual first group.
    # read_dicom verifies there is pixel data, so arbitrary bytes are still refused.
    try:
        return read_dicom(path, data, force=True, max_pixels=max_pixels)
    except ImageLoadError as exc:
        if "no pixel data" in exc.reason or "not a readable DICOM" in exc.reason or (
            "not an image" in exc.reason
        ):
            raise ImageLoadError(
                path, "not a recognised image: neither DICOM nor PNG, JPEG, BMP or TIFF"
            ) from None
        raise


def _read_bytes(path: Path) -> bytes:
    if not path.exists():
        raise ImageLoadError(path, "file not found")
    if path.is_dir():
        raise ImageLoadError(path, "is a folder, not an image file")
    try:
        data = path.read_bytes()
    except PermissionError:
        raise ImageLoadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageLoadError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise ImageLoadError(path, "file is empty (0 bytes)")
    return data
