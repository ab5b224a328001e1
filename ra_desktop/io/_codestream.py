"""Reading the main header of a compressed frame without decoding it: its size (the loader refuses
a frame larger than its DICOM header says) and, for JPEG 2000, what a reduced decode needs."""
from __future__ import annotations

from dataclasses import dataclass

_SOC_SIZ = b"\xff\x4f\xff\x51"  # SOC then SIZ, as the standard requires
_COD, _COC, _SOT = 0x52, 0x53, 0x90


@dataclass(frozen=True)
class J2kHeader:
    width: int
    height: int
    components: int
    precision: int  # bits of the first component
    signed: bool
    subsampled: bool  # a component sampled at less than the full grid
    levels: int  # wavelet decomposition levels of the main header (COD, lowered by a COC)


def codestream_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first JPEG 2000 SIZ or JPEG SOF marker in ``head``, or None."""
    j2k = head.find(_SOC_SIZ)
    if 0 <= j2k and j2k + 24 <= len(head):
        x, y, x0, y0 = (int.from_bytes(head[j2k + o : j2k + o + 4], "big") for o in (8, 12, 16, 20))
        return max(x - x0, 0), max(y - y0, 0)
    soi = head.find(b"\xff\xd8\xff")
    if soi < 0:
        return None
    i = soi + 2
    while i + 9 <= len(head) and head[i] == 0xFF:  # walk the marker segments to the frame header
        marker = head[i + 1]
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE,
                      0xCF, 0xF7):  # SOFn and JPEG-LS SOF55
            height = int.from_bytes(head[i + 5 : i + 7], "big")
            width = int.from_bytes(head[i + 7 : i + 9], "big")
            return width, height
        if marker == 0xFF:
            i += 1  # fill byte
            continue
        i += 2 + int.from_bytes(head[i + 2 : i + 4], "big")
    return None


def j2k_header(frame: bytes) -> J2kHeader | None:
    """The SIZ and COD/COC facts of a JPEG 2000 codestream that starts ``frame``; None when the
    main header is missing, cut or inconsistent (the caller then does not use a reduced level)."""
    if not frame.startswith(_SOC_SIZ) or len(frame) < 47:
        return None
    size = codestream_size(frame)
    ncomp = int.from_bytes(frame[40:42], "big")
    if size is None or ncomp < 1 or len(frame) < 42 + 3 * ncomp:
        return None
    ssiz = frame[42]
    subsampled = any(frame[43 + 3 * c] != 1 or frame[44 + 3 * c] != 1 for c in range(ncomp))
    levels, i = None, 4 + int.from_bytes(frame[4:6], "big")  # the segment after SIZ
    while i + 4 <= len(frame) and frame[i] == 0xFF and frame[i + 1] != _SOT:
        length = int.from_bytes(frame[i + 2 : i + 4], "big")
        if length < 2 or i + 2 + length > len(frame):
            return None
        if frame[i + 1] == _COD and length >= 10:
            levels = frame[i + 9] if levels is None else min(levels, frame[i + 9])
        elif frame[i + 1] == _COC and length >= 6:  # Ccoc is 1 byte below 257 components
            at = i + (6 if ncomp < 257 else 7)
            levels = frame[at] if levels is None else min(levels, frame[at])
        i += 2 + length
    if levels is None:
        return None
    return J2kHeader(size[0], size[1], ncomp, (ssiz & 0x7F) + 1, bool(ssiz & 0x80), subsampled, levels)
