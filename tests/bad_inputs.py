"""A corpus of broken and awkward image files, seeds for fuzzing, and a bounded loader run.

Used by tests/test_io_bad_inputs.py (each case), tests/test_io_fuzz.py (hypothesis) and
scripts/fuzz_report.py (counts for a release note). Everything is made here, from code: no
file is checked in.

A case either must be refused (``words`` appear in the ImageLoadError's reason) or, for inputs a
radiologist would still want to see (palette colour, multi-frame), must load and pass ``check``.
"""
from __future__ import annotations

import io
import json
import os
import resource
import struct
import time
import tracemalloc
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from io_fixtures import write_dicom
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGBaseline8Bit,
)

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import Radiograph, load_radiograph
from ra_desktop.io.loader import UNEXPECTED

# Per-case budget: generous for a shared 2-core machine, far below what a hang or bomb costs.
CPU_SECONDS = 5.0
MEMORY_BYTES = 500 * 1024 * 1024


# ----------------------------------------------------------------------------- bounded run
@dataclass
class Outcome:
    """What one load did: the radiograph or the error, and what it cost."""

    radiograph: Radiograph | None
    error: BaseException | None
    cpu_s: float
    traced_peak: int  # bytes allocated through Python/numpy (tracemalloc)
    rss_growth: int  # growth of this process's peak RSS: only what goes past its earlier peak,
    # so ~0 once torch has loaded; tests/memory_probe.py measures each input in a fresh process

    @property
    def crashed(self) -> bool:
        """Anything but the project's error type, or one no reader anticipated."""
        if self.error is None:
            return False
        return not isinstance(self.error, ImageLoadError) or self.error.reason.startswith(UNEXPECTED)

    def within_bounds(self) -> bool:
        return (self.cpu_s < CPU_SECONDS and self.traced_peak < MEMORY_BYTES
                and self.rss_growth < MEMORY_BYTES)

    def describe(self) -> str:
        what = (f"loaded {self.radiograph.pixels.shape} {self.radiograph.pixels.dtype}"
                if self.radiograph is not None else f"{type(self.error).__name__}: {self.error}")
        return (f"{what} [{self.cpu_s:.2f} s CPU, {self.traced_peak / 1e6:.0f} MB traced, "
                f"+{self.rss_growth / 1e6:.0f} MB peak RSS]")


def _max_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kB on Linux


def bounded_load(path: Path, trace: bool = True) -> Outcome:
    """``load_radiograph(path)``, catching everything, with CPU time and memory measured."""
    rss0 = _max_rss()
    started = not tracemalloc.is_tracing() and trace
    if started:
        tracemalloc.start()
    tracemalloc.reset_peak() if tracemalloc.is_tracing() else None
    t0 = time.process_time()
    rad = err = None
    try:
        rad = load_radiograph(path)
    except BaseException as exc:  # noqa: BLE001 - recording, not handling
        if isinstance(exc, KeyboardInterrupt):
            raise
        err = exc
    cpu = time.process_time() - t0
    peak = tracemalloc.get_traced_memory()[1] if tracemalloc.is_tracing() else 0
    if started:
        tracemalloc.stop()
    return Outcome(rad, err, cpu, peak, _max_rss() - rss0)


# ----------------------------------------------------------------------------- tally
TALLY_ENV = "RA_FUZZ_REPORT"  # JSON file the tests add their counts to (scripts/fuzz_report.py)


@dataclass
class Tally:
    tried: int = 0
    refused: int = 0
    loaded: int = 0
    crashed: int = 0
    over_budget: int = 0
    max_cpu_s: float = 0.0
    max_memory_mb: float = 0.0

    def add(self, outcome: Outcome) -> None:
        self.tried += 1
        self.loaded += outcome.radiograph is not None
        self.refused += outcome.error is not None and not outcome.crashed
        self.crashed += outcome.crashed
        self.over_budget += not outcome.within_bounds()
        self.max_cpu_s = max(self.max_cpu_s, round(outcome.cpu_s, 3))
        mem = max(outcome.traced_peak, outcome.rss_growth) / 1e6
        self.max_memory_mb = max(self.max_memory_mb, round(mem, 1))


TALLIES: dict[str, Tally] = {}


def tally(group: str) -> Tally:
    return TALLIES.setdefault(group, Tally())


def flush_tallies() -> None:
    """Print the counts; merge them into $RA_FUZZ_REPORT when set."""
    for group, t in sorted(TALLIES.items()):
        print(f"\n{group}: {t}")
    target = os.environ.get(TALLY_ENV)
    if not target:
        return
    path = Path(target)
    data = json.loads(path.read_text()) if path.is_file() and path.stat().st_size else {}
    data.update({g: vars(t) for g, t in TALLIES.items()})
    path.write_text(json.dumps(data, indent=2, sort_keys=True))


# ----------------------------------------------------------------------------- valid seeds
def _noise(shape, dtype=np.uint8, seed=0) -> np.ndarray:
    info = np.iinfo(dtype)
    return np.random.default_rng(seed).integers(0, min(info.max, 4095) + 1, shape).astype(dtype)


def _pil_bytes(arr_or_im, fmt: str, **kw) -> bytes:
    im = arr_or_im if isinstance(arr_or_im, Image.Image) else Image.fromarray(arr_or_im)
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def _dicom_bytes(pixels=None, **kw) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return write_dicom(Path(tmp) / "x.dcm", pixels, **kw).read_bytes()


def _dataset(pixels: np.ndarray, **tags) -> Dataset:
    """A CR data set around ``pixels`` (uint8/uint16 greyscale), for compress() and friends."""
    ds = pydicom.dcmread(io.BytesIO(_dicom_bytes(pixels.astype(np.uint16))))
    if pixels.dtype == np.uint8:
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
        ds.PixelData = pixels.tobytes()
    for k, v in tags.items():
        setattr(ds, k, v)
    return ds


def _save(ds: Dataset) -> bytes:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    return buf.getvalue()


def valid_seeds() -> dict[str, bytes]:
    """Small valid files of every supported kind: the starting points for mutation."""
    grey8 = _noise((24, 32), np.uint8, 1)
    grey16 = _noise((24, 32), np.uint16, 2)
    rgb = np.stack([grey8, grey8[::-1], grey8[:, ::-1]], axis=-1)
    j2k = _dataset(_noise((32, 32), np.uint16, 3))  # openjpeg's default levels need >= 32 px
    j2k.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
    rle = _dataset(grey16)
    rle.compress(pydicom.uid.RLELossless)
    return {
        "png-grey8": _pil_bytes(grey8, "PNG"),
        "png-grey16": _pil_bytes(Image.fromarray(grey16), "PNG"),
        "png-rgb": _pil_bytes(rgb, "PNG"),
        "png-palette": _pil_bytes(Image.fromarray(rgb).convert("P"), "PNG"),
        "jpeg-grey": _pil_bytes(grey8, "JPEG", quality=90),
        "jpeg-rgb": _pil_bytes(rgb, "JPEG", quality=90),
        "bmp": _pil_bytes(grey8, "BMP"),
        "tiff-grey16": _pil_bytes(Image.fromarray(grey16), "TIFF"),
        "dicom-native16": _dicom_bytes(grey16, PatientID="P1", PixelSpacing=[0.1, 0.1]),
        "dicom-j2k": _save(j2k),
        "dicom-rle": _save(rle),
        "dicom-jpeg-baseline": _save(_jpeg_dicom(grey8)),
        "dicom-deflated": _dicom_bytes(grey16, transfer_syntax=DeflatedExplicitVRLittleEndian),
    }


def _jpeg_dicom(grey8: np.ndarray, jpeg: bytes | None = None) -> Dataset:
    ds = _dataset(grey8)
    ds.file_meta.TransferSyntaxUID = JPEGBaseline8Bit
    ds.PixelData = encapsulate([jpeg if jpeg is not None else _pil_bytes(grey8, "JPEG")])
    ds["PixelData"].VR = "OB"
    return ds


# ----------------------------------------------------------------------------- corpus
@dataclass
class Case:
    """One bad input: how to make it, and what the loader must say (or check, if accepted)."""

    name: str
    filename: str
    make: Callable[[Path], None]  # writes the file (or link, folder, pipe) at the given path
    words: tuple[str, ...] = ()  # must all appear in the ImageLoadError's reason
    check: Callable[[Radiograph], None] | None = None  # set: the input must load and pass this
    tags: set[str] = field(default_factory=set)  # "unreadable": see deny_reads; "not-in-batch"

    @property
    def accepted(self) -> bool:
        return self.check is not None


def _bytes(data: bytes | Callable[[], bytes]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(data() if callable(data) else data)
    return make


def _png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


_PNG_SIG = b"\x89PNG\r\n\x1a\n"


def _png(width: int, height: int, depth: int, colour: int, idat: bytes) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, depth, colour, 0, 0, 0)
    return (_PNG_SIG + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat)
            + _png_chunk(b"IEND", b""))


def _png_colour_bomb() -> bytes:
    """9000 x 9000 RGB (81 MP, 324 MB decoded) in ~250 kB: streamed, never whole in memory."""
    width = height = 9000
    z = zlib.compressobj(9)
    row = b"\x00" + b"\x00\x10\x20" * width
    parts = [z.compress(row * 100) for _ in range(height // 100)]
    return _png(width, height, 8, 2, b"".join(parts) + z.flush())


def _random(n: int, seed: int) -> bytes:
    return np.random.default_rng(seed).bytes(n)


def _patch_jpeg_size(jpeg: bytes, width: int, height: int) -> bytes:
    """Rewrite the frame header (SOF0) dimensions of a baseline JPEG."""
    i = jpeg.index(b"\xff\xc0")
    return jpeg[: i + 5] + struct.pack(">HH", height, width) + jpeg[i + 9 :]


def _patch_tiff_size(tiff: bytes, width: int, height: int) -> bytes:
    """Rewrite ImageWidth/ImageLength (SHORT or LONG) in the first IFD of a little-endian TIFF."""
    out = bytearray(tiff)
    ifd = struct.unpack_from("<I", out, 4)[0]
    for k in range(struct.unpack_from("<H", out, ifd)[0]):
        entry = ifd + 2 + 12 * k
        tag, typ = struct.unpack_from("<HH", out, entry)
        if tag in (256, 257):
            value = width if tag == 256 else height
            struct.pack_into("<HHII", out, entry, tag, 4, 1, value)  # as LONG
    return bytes(out)


def _patch_bmp_size(bmp: bytes, width: int, height: int) -> bytes:
    return bmp[:18] + struct.pack("<ii", width, height) + bmp[26:]


def _patch_j2k_size(dicom: bytes, width: int, height: int) -> bytes:
    i = dicom.index(b"\xff\x4f\xff\x51")  # SOC + SIZ
    return dicom[: i + 8] + struct.pack(">II", width, height) + dicom[i + 16 :]


def _dicom_with(pixels=None, **kw) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        write_dicom(path, pixels, **kw)
    return make


def _dataset_file(build: Callable[[], Dataset]) -> Callable[[Path], None]:
    def make(path: Path) -> None:
        path.write_bytes(_save(build()))
    return make


def _symlink_loop(path: Path) -> None:
    other = path.with_name(path.name + ".other")
    os.symlink(other, path)
    os.symlink(path, other)  # and back


def _broken_link(path: Path) -> None:
    os.symlink(path.with_name("nowhere-" + path.name), path)


def _fifo(path: Path) -> None:
    os.mkfifo(path)


def _unreadable(path: Path) -> None:
    path.write_bytes(_random(2048, 7))  # broken either way: as root the bytes are read
    path.chmod(0)


def _sparse(path: Path) -> None:
    with path.open("wb") as fh:
        fh.truncate(3 * 1024**3)  # 3 GB that take no disk space


def _nested_sequences(depth: int) -> bytes:
    raw = _dicom_bytes(np.zeros((4, 4), np.uint16))
    sq = b"\x40\x00\x30\xa7SQ\x00\x00\xff\xff\xff\xff"  # (0040,A730) SQ, undefined length
    item, item_end = b"\xfe\xff\x00\xe0\xff\xff\xff\xff", b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
    seq_end = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    at = raw.index(b"\x08\x00\x16\x00")  # before SOP Class UID, the first data set element
    return raw[:at] + (sq + item) * depth + (item_end + seq_end) * depth + raw[at:]


def _element(group: int, element: int, vr: bytes, value: bytes) -> bytes:
    """One explicit-VR little-endian element with a 2-byte length."""
    return struct.pack("<HH", group, element) + vr + struct.pack("<H", len(value)) + value


def _element_flood(n: int, nested: bool) -> bytes:
    """A valid 4 x 4 DICOM with ``n`` extra 10-byte private elements before its pixel data,
    at top level or inside one undefined-length sequence item (pydicom reads those eagerly)."""
    raw = _dicom_bytes(np.zeros((4, 4), np.uint16))
    at = raw.index(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    tags = np.arange(n, dtype=np.uint32)
    groups = (0x7001 + 2 * (tags // 0xFF00)).astype("<u2")  # private odd groups, ascending
    elements = (0x0100 + tags % 0xFF00).astype("<u2")
    records = np.zeros(n, dtype=[("g", "<u2"), ("e", "<u2"), ("vr", "S2"), ("len", "<u2"), ("v", "S2")])
    records["g"], records["e"], records["vr"], records["len"], records["v"] = groups, elements, b"LO", 2, b"ab"
    body = records.tobytes()
    if nested:
        sq = b"\x01\x70\x10\x00SQ\x00\x00\xff\xff\xff\xff"  # (7001,0010) SQ, undefined length
        item, item_end = b"\xfe\xff\x00\xe0\xff\xff\xff\xff", b"\xfe\xff\x0d\xe0\x00\x00\x00\x00"
        seq_end = b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
        body = sq + item + body + item_end + seq_end
    return raw[:at] + body + raw[at:]


def _long_header_values(name_chars: int) -> bytes:
    """A valid DICOM whose Patient Name, Patient ID and Study Description are ``name_chars`` long
    (implicit VR: its 4-byte lengths hold values explicit VR's 2 bytes cannot)."""
    return _dicom_bytes(np.zeros((4, 4), np.uint16), transfer_syntax=ImplicitVRLittleEndian,
                        PatientName="A" * name_chars,
                        PatientID="7" * name_chars, StudyDescription="x" * name_chars)


def _check_capped_values(rad: Radiograph) -> None:
    assert len(rad.patient_name) == 194 and len(rad.patient_id) == 64, (len(rad.patient_name),
                                                                        len(rad.patient_id))
    assert any("PatientName is longer than DICOM allows" in n for n in rad.notes), rad.notes


def _bad_uid(uid: str) -> Callable[[Path], None]:
    return _dicom_with(np.zeros((4, 4), np.uint16), transfer_syntax=ImplicitVRLittleEndian, SOPInstanceUID=uid)


def _check_uid_replaced(rad: Radiograph) -> None:
    assert rad.case_id.startswith("sha256:") and len(rad.case_id) == 23, rad.case_id
    assert any("not a valid DICOM UID" in n for n in rad.notes), rad.notes


def _deflate_bomb() -> bytes:
    """A deflated DICOM whose data set inflates to ~100 MB of zeros (a ~100 kB file)."""
    raw = _dicom_bytes(np.zeros((4, 4), np.uint16), transfer_syntax=DeflatedExplicitVRLittleEndian)
    from pydicom.filereader import _read_file_meta_info, read_preamble

    fp = io.BytesIO(raw)
    read_preamble(fp, False)
    _read_file_meta_info(fp)
    meta_end = fp.tell()
    body = zlib.decompress(raw[meta_end:], -zlib.MAX_WBITS)
    # The deflated stream is built by hand so the 100 MB never sit in memory at once.
    z = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    size = 100 * 1024 * 1024
    parts = [z.compress(b"\x09\x00\x10\x00LO\x02\x00x ")]  # private creator (0009,0010)
    parts.append(z.compress(struct.pack("<HH2sHI", 0x0009, 0x1011, b"OB", 0, size)))
    chunk = bytes(1 << 20)
    parts += [z.compress(chunk) for _ in range(size >> 20)]
    parts.append(z.compress(body))
    return raw[:meta_end] + b"".join(parts) + z.flush()


def _palette_dicom(colour: bool) -> Dataset:
    idx = np.arange(64, dtype=np.uint8).reshape(8, 8)
    ds = _dataset(idx, PhotometricInterpretation="PALETTE COLOR")
    ramp = np.arange(256, dtype=np.uint16) * 257
    red, green, blue = (ramp, ramp[::-1], ramp // 2) if colour else (ramp, ramp, ramp)
    for k, lut in enumerate((red, green, blue)):
        ds.add_new(0x00281101 + k, "US", [256, 0, 16])  # entries, first index, bits
        ds.add_new(0x00281201 + k, "OW", lut.astype("<u2").tobytes())
    return ds


def _multiframe_dicom() -> Dataset:
    frames = np.stack([np.full((8, 8), 100 * (k + 1), np.uint16) for k in range(3)])
    frames[0, 0, 0] = 7
    ds = _dataset(frames[0], NumberOfFrames=3)
    ds.PixelData = frames.tobytes()
    return ds


def _check_grey_palette_png(rad: Radiograph) -> None:
    expected = np.arange(64, dtype=np.uint8).reshape(8, 8) * 4
    np.testing.assert_array_equal(rad.pixels, expected)
    assert rad.notes == (), rad.notes  # a grey palette loses nothing


def _grey_palette_png() -> bytes:
    im = Image.fromarray(np.arange(64, dtype=np.uint8).reshape(8, 8) * 4).convert("P")
    return _pil_bytes(im, "PNG")


def _colour_palette_png() -> bytes:
    im = Image.new("P", (4, 2))
    im.putpalette([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255] + [0] * (256 * 3 - 12))
    im.putdata([0, 1, 2, 3, 3, 2, 1, 0])
    return _pil_bytes(im, "PNG")


def _check_colour_palette_png(rad: Radiograph) -> None:
    # BT.601 luma of red, green, blue, white, rounded: what every viewer shows for colour.
    luma = {0: 76, 1: 150, 2: 29, 3: 255}
    np.testing.assert_array_equal(rad.pixels, np.array([[luma[i] for i in row]
                                                         for row in ([0, 1, 2, 3], [3, 2, 1, 0])]))
    assert "colour image converted to grey" in rad.notes


def _check_grey_palette_dicom(rad: Radiograph) -> None:
    np.testing.assert_array_equal(rad.pixels, np.arange(64, dtype=np.uint16).reshape(8, 8) * 257)
    assert rad.pixels.dtype == np.uint16 and rad.bits_stored == 16
    assert any("RGB with equal channels" in n for n in rad.notes), rad.notes


def _check_colour_palette_dicom(rad: Radiograph) -> None:
    idx = np.arange(64, dtype=np.float64).reshape(8, 8)
    r, g, b = idx * 257, (255 - idx) * 257, (idx * 257) // 2
    expected = np.rint(0.299 * r + 0.587 * g + 0.114 * b).astype(np.uint16)
    np.testing.assert_array_equal(rad.pixels, expected)
    assert any("colour DICOM (PALETTE COLOR) converted to grey" in n for n in rad.notes)


def _check_multiframe_dicom(rad: Radiograph) -> None:
    expected = np.full((8, 8), 100, np.uint16)
    expected[0, 0] = 7
    np.testing.assert_array_equal(rad.pixels, expected)
    assert "multi-frame (3 frames): first frame shown" in rad.notes


def _multipage_tiff() -> bytes:
    pages = [Image.fromarray(np.full((6, 5), 40 * (k + 1), np.uint8)) for k in range(3)]
    buf = io.BytesIO()
    pages[0].save(buf, "TIFF", save_all=True, append_images=pages[1:])
    return buf.getvalue()


def _check_multipage_tiff(rad: Radiograph) -> None:
    np.testing.assert_array_equal(rad.pixels, np.full((6, 5), 40, np.uint8))
    assert "multi-frame (3 frames): first frame shown" in rad.notes


def corpus() -> list[Case]:
    """Every bad input, cheapest first. Names are unique; file names carry image suffixes so a
    folder scan picks each one up."""
    seeds = valid_seeds()
    png, jpeg, dcm = seeds["png-grey8"], seeds["jpeg-grey"], seeds["dicom-native16"]
    bmp, tiff = seeds["bmp"], seeds["tiff-grey16"]
    pix_at = dcm.index(b"\xe0\x7f\x10\x00")  # (7FE0,0010) Pixel Data
    grey16 = np.zeros((8, 8), np.uint16)
    C = Case
    cases = [
        # --- zero bytes
        C("zero bytes (.png)", "empty.png", _bytes(b""), ("empty", "0 bytes")),
        C("zero bytes (.dcm)", "empty.dcm", _bytes(b""), ("empty",)),
        C("zero bytes (.jpg)", "empty.jpg", _bytes(b""), ("empty",)),
        # --- truncated
        C("PNG truncated at half", "half.png", _bytes(png[: len(png) // 2]), ("truncated or corrupt PNG",)),
        C("PNG truncated after signature", "sig.png", _bytes(png[:8]), ("not a readable image",)),
        C("PNG truncated after IHDR", "ihdr.png", _bytes(png[:33]), ("not a readable image",)),
        C("JPEG truncated at a third", "third.jpg", _bytes(jpeg[: len(jpeg) // 3]), ("truncated or corrupt JPEG",)),
        C("JPEG truncated after SOI", "soi.jpg", _bytes(jpeg[:3]), ("not a readable image",)),
        C("JPEG truncated before the scan", "nosos.jpg", _bytes(jpeg[: jpeg.index(b"\xff\xda")]),
          ("truncated or corrupt JPEG",)),
        C("DICOM truncated in file meta", "meta.dcm", _bytes(dcm[:200]), ("truncated or corrupt",)),
        C("DICOM truncated in data set", "dataset.dcm", _bytes(dcm[: pix_at - 20]), ("truncated",)),
        C("DICOM truncated in pixel data", "pixels.dcm", _bytes(dcm[: pix_at + 12 + 100]),
          ("file is truncated or the header is wrong",)),
        C("BMP truncated", "cut.bmp", _bytes(bmp[: len(bmp) // 2]), ("truncated or corrupt BMP",)),
        C("TIFF truncated", "cut.tif", _bytes(tiff[: len(tiff) // 2]), ("TIFF",)),
        # --- valid headers over random bytes
        C("PNG signature + random", "sigrand.png", _bytes(_PNG_SIG + _random(4096, 1)),
          ("not a readable image",)),
        C("PNG IHDR + random", "ihdrrand.png", _bytes(png[:33] + _random(4096, 2)),
          ("not a readable image",)),
        C("JPEG SOI + random", "soirand.jpg", _bytes(b"\xff\xd8\xff" + _random(4096, 3)),
          ("not a readable image",)),
        C("JPEG headers + random scan", "scanrand.jpg",
          _bytes(jpeg[: jpeg.index(b"\xff\xda") + 14] + _random(64, 4)), ("truncated or corrupt JPEG",)),
        C("DICOM preamble + random", "dicmrand.dcm", _bytes(bytes(128) + b"DICM" + _random(4096, 5)),
          ("no pixel data",)),
        C("DICOM header + random pixel data (wrong length)", "pixrand.dcm",
          _dicom_with(None, pixel_bytes=_random(1000, 6), rows=64, cols=64), ("1000 bytes", "needs 8192")),
        C("BMP header + random", "bmrand.bmp", _bytes(b"BM" + _random(4096, 7)), ("BMP",)),
        C("TIFF header + random", "tiffrand.tif", _bytes(b"II*\x00" + _random(4096, 8)), ("not a readable image",)),
        # --- absurd dimensions and decompression bombs
        C("PNG 30000 x 30000 header", "huge.png",
          _bytes(_png(30000, 30000, 8, 0, zlib.compress(bytes(100)))), ("decompression bomb",)),
        C("PNG width 0", "zero.png", _bytes(_png(0, 64, 8, 0, zlib.compress(bytes(64)))),
          ("not a readable image",)),
        C("PNG 2^31-1 x 1", "wide.png", _bytes(_png(2**31 - 1, 1, 8, 0, zlib.compress(bytes(100)))),
          ("decompression bomb",)),
        C("PNG colour bomb 9000 x 9000 in 250 kB", "bomb.png", _bytes(_png_colour_bomb),
          ("decompression bomb", ":1")),
        C("JPEG 65535 x 65535 frame header", "huge.jpg", _bytes(_patch_jpeg_size(jpeg, 65535, 65535)),
          ("decompression bomb",)),
        C("JPEG 0 x 0 frame header", "zero.jpg", _bytes(_patch_jpeg_size(jpeg, 0, 0)), ("not a readable image",)),
        C("BMP 100000 x 100000 header", "huge.bmp", _bytes(_patch_bmp_size(bmp, 100000, 100000)),
          ("decompression bomb",)),
        C("TIFF 100000 x 100000 header", "huge.tif", _bytes(_patch_tiff_size(tiff, 100000, 100000)),
          ("decompression bomb",)),
        C("DICOM 20000 x 20000 header", "huge.dcm", _dicom_with(None, pixel_bytes=bytes(64), rows=20000,
                                                                cols=20000), ("megapixel limit",)),
        C("DICOM 10^9 frames", "frames.dcm", _dicom_with(grey16, NumberOfFrames=10**9),
          ("1000000000 frame(s)", "the header is wrong")),
        C("deflated DICOM inflating to 100 MB", "deflate.dcm", _bytes(_deflate_bomb),
          ("decompression bomb", "deflated")),
        C("JPEG 2000 frame 9000 x 9000 in a 32 x 32 header", "j2kbomb.dcm",
          _bytes(_patch_j2k_size(seeds["dicom-j2k"], 9000, 9000)), ("9000 x 9000", "32 x 32")),
        C("JPEG frame 9000 x 9000 in an 8 x 8 header", "jpegbomb.dcm",
          _dataset_file(lambda: _jpeg_dicom(np.zeros((8, 8), np.uint8), _patch_jpeg_size(
              _pil_bytes(np.zeros((8, 8), np.uint8), "JPEG"), 9000, 9000))), ("9000 x 9000",)),
        C("3 GB file", "sparse.dcm", _sparse, ("limit",)),
        # --- wrong bit depth
        C("DICOM Bits Allocated 12", "ba12.dcm", _dicom_with(grey16, BitsAllocated=12), ("Bits Allocated",)),
        C("DICOM Bits Allocated 0", "ba0.dcm", _dicom_with(grey16, BitsAllocated=0), ("Bits Allocated",)),
        C("DICOM Bits Stored 20 > Bits Allocated 16", "bs20.dcm", _dicom_with(grey16, BitsStored=20),
          ("Bits Stored",)),
        C("PNG 16-bit palette", "pal16.png", _bytes(_png(8, 8, 16, 3, zlib.compress(bytes(8 * 17)))),
          ("not a readable image",)),
        C("PNG 7-bit grey", "grey7.png", _bytes(_png(8, 8, 7, 0, zlib.compress(bytes(8 * 9)))), ("not a readable image",)),
        C("BMP 7 bits per pixel", "bpp7.bmp", _bytes(bmp[:28] + struct.pack("<H", 7) + bmp[30:]),
          ("Unsupported BMP pixel depth",)),
        # --- DICOM pixel data missing or of the wrong length
        C("DICOM without pixel data", "nopix.dcm", _dicom_with(None), ("no pixel data",)),
        C("DICOM image attributes without pixel data", "attrs.dcm",
          _dicom_with(None, Rows=8, Columns=8, BitsAllocated=16), ("no pixel data",)),
        C("DICOM pixel data too short", "short.dcm", _dicom_with(None, pixel_bytes=bytes(100), rows=8,
                                                                 cols=8), ("100 bytes", "needs 128")),
        C("DICOM pixel data twice too long", "long.dcm", _dicom_with(None, pixel_bytes=bytes(256), rows=8,
                                                                     cols=8), ("wrong pixel data length",)),
        C("DICOM pixel data without Rows", "norows.dcm", _dicom_with(None, pixel_bytes=bytes(128), rows=0,
                                                                     cols=8), ("Rows/Columns",)),
        # --- palette colour
        C("DICOM palette colour without its LUT", "palnolut.dcm",
          _dicom_with(grey16, PhotometricInterpretation="PALETTE COLOR"), ("Palette Color Lookup Table",)),
        C("PNG grey palette (accepted: exact grey)", "palgrey.png", _bytes(_grey_palette_png),
          check=_check_grey_palette_png),
        C("PNG colour palette (accepted: luma, noted)", "palcolour.png", _bytes(_colour_palette_png),
          check=_check_colour_palette_png),
        C("DICOM grey palette (accepted: exact grey)", "palgrey.dcm",
          _dataset_file(lambda: _palette_dicom(False)), check=_check_grey_palette_dicom),
        C("DICOM colour palette (accepted: luma, noted)", "palcolour.dcm",
          _dataset_file(lambda: _palette_dicom(True)), check=_check_colour_palette_dicom),
        # --- multi-frame
        C("DICOM 3 frames (accepted: first frame, noted)", "frames3.dcm",
          _dataset_file(_multiframe_dicom), check=_check_multiframe_dicom),
        C("TIFF 3 pages (accepted: first page, noted)", "pages3.tif", _bytes(_multipage_tiff),
          check=_check_multipage_tiff),
        C("DICOM 3 frames declared, 1 present", "frames1.dcm", _dicom_with(grey16, NumberOfFrames=3),
          ("3 frame(s)", "needs 384")),
        # --- not a file where a file was expected
        C("a folder", "folder.dcm", lambda p: p.mkdir(), ("folder",), tags={"not-in-batch"}),
        C("a symbolic link loop", "loop.png", _symlink_loop, ("symbolic link loop",)),
        C("a broken symbolic link", "broken.png", _broken_link, ("broken symbolic link",)),
        C("a named pipe", "pipe.dcm", _fifo, ("named pipe",)),
        C("a file without read permission", "locked.png", _unreadable, ("permission denied",),
          tags={"unreadable"}),
        # --- malformed structure
        C("DICOM malformed Modality LUT", "mlut.dcm", _dataset_file(lambda: _dataset(
            grey16, ModalityLUTSequence=[_bad_lut_item()])), ("Modality LUT",)),
        C("DICOM sequences nested 100000 deep", "nested.dcm", _bytes(lambda: _nested_sequences(100_000)),
          ("nested too deeply",)),
        C("DICOM unknown photometric interpretation", "photo.dcm",
          _dicom_with(grey16, PhotometricInterpretation="BANANA"), ("Photometric Interpretation",)),
        C("DICOM 3 samples but data for 1", "spp3.dcm", _dicom_with(grey16, SamplesPerPixel=3),
          ("needs 384",)),
        C("random bytes", "noise.dcm", _bytes(_random(4096, 9)), ("not a recognised image",)),
        # --- hostile header values (a DICOM listener takes files from anyone on the network)
        C("DICOM header of 2 million elements (20 MB)", "flood.dcm",
          _bytes(lambda: _element_flood(2_000_000, nested=False)), ("data elements",)),
        C("DICOM sequence item of 2 million elements", "floodseq.dcm",
          _bytes(lambda: _element_flood(2_000_000, nested=True)), ("data elements",)),
        C("DICOM 20 MB Patient Name (accepted: cut to PN's 194)", "longname.dcm",
          _bytes(lambda: _long_header_values(20_000_000)), check=_check_capped_values),
        C("DICOM 30000-character Patient Name (accepted: cut)", "name30k.dcm",
          _bytes(lambda: _long_header_values(30_000)), check=_check_capped_values),
        C("DICOM SOP Instance UID with NUL and ../ (accepted: content id)", "uidpath.dcm",
          _bad_uid("1.2.3\0/../../etc"), check=_check_uid_replaced),
        C("DICOM SOP Instance UID of 100000 digits (accepted: content id)", "uidlong.dcm",
          _bad_uid("1." + "2" * 99_998), check=_check_uid_replaced),
        C("text", "notes.png", _bytes(b"patient,label\nA,RA\n"), ("text",)),
    ]
    names = [c.name for c in cases]
    assert len(set(names)) == len(names) and len({c.filename for c in cases}) == len(cases)
    return cases


def _bad_lut_item() -> Dataset:
    item = Dataset()
    item.LUTDescriptor = [4, 0, 16]
    item.ModalityLUTType = "US"
    item.LUTData = b"\x00\x00"  # two bytes for a four-entry table
    return item


def build(case: Case, folder: Path) -> Path:
    path = folder / case.filename
    case.make(path)
    return path


def running_as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def deny_reads(monkeypatch, paths) -> None:
    """Make opening ``paths`` fail as the OS does for a user without read permission.

    chmod 000 is real for ordinary users; root reads anything, so under root (containers, CI)
    the refusal is simulated at the same call the loader makes.
    """
    denied = {Path(p) for p in paths}
    real_open = Path.open

    def guarded(self, *args, **kwargs):
        if self in denied:
            raise PermissionError(13, "Permission denied", str(self))
        return real_open(self, *args, **kwargs)

    monkeypatch.setattr(Path, "open", guarded)
