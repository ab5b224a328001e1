"""Decoding and preprocessing of 2k x 2.5k 16-bit DICOM studies.

Rows: decode of an uncompressed study (``load_radiograph``: read, parse, pixel array, modality LUT),
against reading the same file's bytes (the I/O floor); decode of its JPEG 2000 lossless twin, against
the uncompressed decode; preprocessing (percentile window, resize + crop 224, sym8 wavelet,
normalisation) of one decoded study.
"""
from __future__ import annotations

from bench._common import j2k_studies, load, not_run, row, studies, timed


def run(repeats: int = 12) -> list[dict]:
    from ra_desktop.io import load_radiograph
    from ra_desktop.preprocess import prepare

    files = studies()[:repeats]
    model, _ = load()
    config = model.preprocess_config
    it = iter(range(10**9))

    def read_bytes():
        files[next(it) % len(files)].read_bytes()

    def decode():
        load_radiograph(files[next(it) % len(files)])

    raw = timed(read_bytes, repeats)
    dec = timed(decode, repeats)
    rg = load_radiograph(files[0])
    shape = f"{rg.pixels.shape[0]}x{rg.pixels.shape[1]} {rg.pixels.dtype}"
    pre = timed(lambda: prepare(rg, config), repeats)
    med = sorted(dec)[len(dec) // 2]
    rows = [
        row("io", "read_file_bytes", None, "ms", samples=raw, note=f"{shape}, page cache warm"),
        row("io", "decode_dicom_uncompressed", None, "ms", samples=dec,
            ratio=sorted(dec)[len(dec) // 2] / max(sorted(raw)[len(raw) // 2], 1e-6), baseline="reading the bytes",
            note=shape),
    ]
    j2k = j2k_studies()
    if isinstance(j2k, str):
        rows.append(not_run("io", "decode_dicom_jpeg2000", j2k))
    else:
        it2 = iter(range(10**9))
        jd = timed(lambda: load_radiograph(j2k[next(it2) % len(j2k)]), max(3, len(j2k)))
        rows.append(row("io", "decode_dicom_jpeg2000", None, "ms", samples=jd,
                        ratio=sorted(jd)[len(jd) // 2] / med, baseline="uncompressed decode",
                        note=f"JPEG 2000 lossless (pylibjpeg-openjpeg), {len(j2k)} files"))
    rows.append(row("io", "preprocess", None, "ms", samples=pre,
                    note="window + resize/crop 224 + sym8 wavelet + normalise, one study"))
    return rows


if __name__ == "__main__":
    for r in run():
        print(r)
