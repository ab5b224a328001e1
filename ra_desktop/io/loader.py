"""``load_radiograph``: one entry point for every supported file, format decided by content."""
from __future__ import annotations

import errno
import logging
import stat
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from ra_desktop.errors import Cancelled, ImageLoadError
from ra_desktop.io import _detect
from ra_desktop.io._common import MAX_FILE_BYTES, MAX_PIXELS
from ra_desktop.io._dicom import read_dicom, read_dicom_header
from ra_desktop.io._raster import read_raster
from ra_desktop.io.preview import Preview
from ra_desktop.io.radiograph import Radiograph

_RASTER = ("PNG", "JPEG", "BMP", "TIFF")

# Start of the reason given for an exception no reader anticipated: the tests look for it,
# so a new failure mode shows up as a bug there while users still get a message, not a crash.
UNEXPECTED = "unexpected error while reading the file"

log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ImageHeader:
    """What the worklist lists of a file, read without decoding a DICOM file's pixels."""

    case_id: str
    format: str
    patient_id: str | None = None
    patient_name: str | None = None
    study_date: str | None = None
    laterality: str | None = None
    view_position: str | None = None


def load_radiograph(path: str | Path, *, max_pixels: int = MAX_PIXELS,
                    on_preview: Callable[[Preview], None] | None = None) -> Radiograph:
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
    on_preview : callable, optional
        Called with a reduced-resolution :class:`~ra_desktop.io.preview.Preview` of a JPEG 2000
        DICOM study before its full decode, for display only; other files get none, and a
        preview that cannot be made is logged, never the reason the load fails.

    Returns
    -------
    Radiograph

    Raises
    ------
    ImageLoadError
        For a missing file, a directory, an empty, truncated, corrupt or non-image file,
        DICOM without pixel data, a transfer syntax without an installed decoder, or an
        image beyond ``max_pixels``. The message names the file and the reason.
        Nothing else escapes: an unanticipated failure is reported as ``UNEXPECTED``.
    """
    path = Path(path)
    return _guarded(path, lambda: _load(path, max_pixels, on_preview))


def read_header(path: str | Path, *, max_pixels: int = MAX_PIXELS) -> ImageHeader:
    """The worklist's fields of an image file, with every check :func:`load_radiograph` makes
    before decoding (file, format, header limits, decoder, pixel data length). DICOM pixels are
    not decoded, so a codestream that cannot be decoded is only found when the image is loaded;
    other formats are small and are loaded whole. Raises ImageLoadError as ``load_radiograph``."""
    path = Path(path)

    def read() -> ImageHeader:
        data = _read_bytes(path)
        kind = _detect.sniff(data[:132])
        if kind in (_detect.DICOM, "DICOM?"):
            return ImageHeader(**read_dicom_header(path, data, force=kind != _detect.DICOM, max_pixels=max_pixels))
        r = _load(path, max_pixels, None)  # the last-resort DICOM and every refusal: as load_radiograph
        return ImageHeader(case_id=r.case_id, format=r.format, patient_id=r.patient_id,
                           patient_name=r.patient_name, study_date=r.study_date, laterality=r.laterality,
                           view_position=r.view_position)

    return _guarded(path, read)


def _guarded(path: Path, read: Callable[[], T]) -> T:
    """``read()``, with every failure an ImageLoadError naming the file and the reason."""
    try:
        return read()
    except (ImageLoadError, Cancelled):  # Cancelled: from on_preview, the job was cancelled
        raise
    except MemoryError:
        raise ImageLoadError(path, "not enough memory to read the image") from None
    except RecursionError:
        raise ImageLoadError(path, "file structure is nested too deeply to read") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # incl. a native plugin's panic, which is not an Exception
        log.exception("unexpected error loading %s", path)
        text = " ".join(str(exc).split())[:200]
        raise ImageLoadError(path, f"{UNEXPECTED} ({type(exc).__name__}: {text})") from exc


def _load(path: Path, max_pixels: int, on_preview: Callable[[Preview], None] | None) -> Radiograph:
    data = _read_bytes(path)
    kind = _detect.sniff(data[:132])
    if kind == _detect.DICOM:
        return read_dicom(path, data, force=False, max_pixels=max_pixels, on_preview=on_preview)
    if kind in _RASTER:
        return read_raster(path, data, kind=kind, max_pixels=max_pixels)
    if kind == "DICOM?":
        return read_dicom(path, data, force=True, max_pixels=max_pixels, on_preview=on_preview)
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
    try:
        info = path.stat()  # follows links
    except OSError as exc:
        raise ImageLoadError(path, _stat_reason(path, exc)) from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageLoadError(path, "is a folder, not an image file")
    if not stat.S_ISREG(info.st_mode):
        # Reading a named pipe blocks forever and a device may never end.
        raise ImageLoadError(path, f"not a regular file ({_file_kind(info.st_mode)})")
    if info.st_size > MAX_FILE_BYTES:
        raise ImageLoadError(
            path,
            f"file is {info.st_size / 1e6:.0f} MB, more than the {MAX_FILE_BYTES / 1e6:.0f} MB "
            "limit for one radiograph",
        )
    try:
        with path.open("rb") as fh:
            data = fh.read(info.st_size + 1)  # bounded even if the file grows meanwhile
    except PermissionError:
        raise ImageLoadError(path, "permission denied") from None
    except OSError as exc:
        raise ImageLoadError(path, f"cannot read file: {exc.strerror or exc}") from None
    if not data:
        raise ImageLoadError(path, "file is empty (0 bytes)")
    if len(data) > info.st_size:
        raise ImageLoadError(path, "file is still being written (it grew while being read)")
    return data


def _stat_reason(path: Path, exc: OSError) -> str:
    if exc.errno == errno.ELOOP:
        return "symbolic link loop: the link never reaches a file"
    if exc.errno == errno.ENOENT:
        return "broken symbolic link: its target does not exist" if path.is_symlink() else "file not found"
    if exc.errno == errno.EACCES:
        return "permission denied"
    if exc.errno == errno.ENAMETOOLONG:
        return "file name too long"
    return f"cannot read file: {exc.strerror or exc}"


def _file_kind(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a plain file"
