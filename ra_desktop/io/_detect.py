"""Content sniffing: decide a file's format from its bytes, never from its name."""
from __future__ import annotations

# Magic numbers of the raster formats we read through Pillow.
_RASTER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"BM", "BMP"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"II+\x00", "TIFF"),  # BigTIFF
    (b"MM\x00+", "TIFF"),
)

# Recognisable formats we deliberately do not read; named in the error so the user knows why.
_OTHER_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"GIF8", "GIF"),
    (b"%PDF", "PDF"),
    (b"PK\x03\x04", "ZIP archive"),
    (b"\x1f\x8b", "gzip archive"),
    (b"\x00\x00\x00\x0cjP  ", "JPEG 2000 (JP2)"),
    (b"\xff\x4f\xff\x51", "JPEG 2000 codestream"),
)

# DICOM groups that may open a file written without the 128-byte preamble: file meta (0002),
# identifying (0008), and the command/patient groups some old writers start with.
_BARE_DICOM_GROUPS = (0x0002, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028)

DICOM = "DICOM"
UNKNOWN = "unknown"


def sniff(head: bytes) -> str:
    """Name the format of a file from its first bytes.

    Parameters
    ----------
    head : bytes
        At least the first 132 bytes of the file (fewer if the file is shorter).

    Returns
    -------
    str
        ``"DICOM"``, ``"PNG"``, ``"JPEG"``, ``"BMP"``, ``"TIFF"``, ``"DICOM?"`` when the bytes look
        like a DICOM data set without a preamble, the name of a known unsupported format, or
        ``"text"`` / ``"unknown"``.
    """
    if len(head) >= 132 and head[128:132] == b"DICM":
        return DICOM
    for magic, name in _RASTER_MAGIC:
        if head.startswith(magic):
            return name
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    if looks_like_bare_dicom(head):
        return "DICOM?"
    if looks_like_text(head):
        return "text"
    return UNKNOWN


def looks_like_bare_dicom(head: bytes) -> bool:
    """True when the first element tag is a plausible little-endian DICOM group (no preamble)."""
    if len(head) < 8:
        return False
    group = int.from_bytes(head[0:2], "little")
    element = int.from_bytes(head[2:4], "little")
    # Big-endian files without meta are rare; accept the swapped group too.
    group_be = int.from_bytes(head[0:2], "big")
    return (group in _BARE_DICOM_GROUPS or group_be in _BARE_DICOM_GROUPS) and element < 0x1000


def looks_like_text(head: bytes) -> bool:
    """True when the bytes are printable UTF-8 text (a CSV, JSON, notes, HTML error page...)."""
    if not head:
        return False
    if b"\x00" in head:
        return False
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        # A multi-byte character may be cut at the end of the sample.
        try:
            text = head[:-3].decode("utf-8")
        except UnicodeDecodeError:
            return False
    printable = sum(ch.isprintable() or ch in "\r\n\t" for ch in text)
    return printable >= 0.95 * max(len(text), 1)
