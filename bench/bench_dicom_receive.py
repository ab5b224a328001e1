"""DICOM receive throughput: 2k x 2.5k uncompressed 16-bit CR pushed over loopback to the store SCP.

The sender is DCMTK's ``storescu`` in its own process (as a modality would be), or pynetdicom's SCU
in this process when DCMTK is not installed. Each image goes the whole way: network, atomic write
with fsync, the hardened loader's check, the worklist row. Baseline, same run, same disk: copying
the same files with an fsync each (what a received file costs at the least); the ratio is receive
MB/s over copy MB/s.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench._common import row

N_IMAGES = 8
ROWS, COLS = 2500, 2000


def _write_studies(folder: Path, n: int) -> list[Path]:
    import numpy as np
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, generate_uid

    rng = np.random.default_rng(20)
    y, x = np.mgrid[0:ROWS, 0:COLS]
    base = (1000 + 2000 * np.exp(-((x - COLS / 2) ** 2 + (y - ROWS / 2) ** 2) / (2 * 600.0 ** 2))).astype(np.uint16)
    out = []
    for i in range(n):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1"  # CR Image Storage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = Dataset()
        ds.file_meta = meta
        ds.SOPClassUID, ds.SOPInstanceUID = meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
        ds.Modality, ds.PatientID, ds.PatientName = "CR", f"BENCH-{i}", f"BENCH^{i}"
        ds.Rows, ds.Columns = ROWS, COLS
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.PixelData = (base + rng.integers(0, 64, base.shape, dtype=np.uint16)).tobytes()
        path = folder / f"cr_{i}.dcm"
        ds.save_as(path, enforce_file_format=True)
        out.append(path)
    return out


def _copy_with_fsync(files: list[Path], dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    for f in files:
        with open(f, "rb") as src, open(dest / f.name, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
            dst.flush()
            os.fsync(dst.fileno())


def _send_pynetdicom(port: int, files: list[Path]) -> None:
    from pydicom import dcmread
    from pynetdicom import AE

    ae = AE(ae_title="BENCHSCU")
    ae.add_requested_context("1.2.840.10008.5.1.4.1.1.1", "1.2.840.10008.1.2.1")
    assoc = ae.associate("127.0.0.1", port, ae_title="RADESKTOP")
    if not assoc.is_established:
        raise RuntimeError("association refused")
    try:
        for f in files:
            status = assoc.send_c_store(dcmread(f))
            if getattr(status, "Status", None) != 0:
                raise RuntimeError(f"C-STORE failed: {status}")
    finally:
        assoc.release()


def run(repeats: int = 3) -> list[dict]:
    from ra_desktop.dicomnet.inbox import Inbox
    from ra_desktop.dicomnet.listener import StoreListener
    from ra_desktop.worklist import WorklistStore

    storescu = shutil.which("storescu")
    sender = "storescu (DCMTK, own process)" if storescu else "pynetdicom SCU (same process)"
    work = Path(tempfile.mkdtemp(prefix="ra-bench-receive-"))
    try:
        (work / "src").mkdir()
        files = _write_studies(work / "src", N_IMAGES)
        mb = sum(f.stat().st_size for f in files) / 1e6
        rates, copy_rates = [], []
        for rep in range(repeats + 1):  # the first round warms up (imports, page cache)
            t0 = time.perf_counter()
            _copy_with_fsync(files, work / f"copy{rep}")
            copy_s = time.perf_counter() - t0

            store = WorklistStore(work / f"w{rep}.sqlite")
            lst = StoreListener("RADESKTOP", 0, host="127.0.0.1", worklist=store, inbox=Inbox(work / f"rx{rep}"))
            lst.start()
            try:
                t0 = time.perf_counter()
                if storescu:
                    subprocess.run([storescu, "-aet", "BENCHSCU", "-aec", "RADESKTOP", "127.0.0.1", str(lst.port),
                                    *map(str, files)], check=True, capture_output=True, timeout=300)
                else:
                    _send_pynetdicom(lst.port, files)
                rx_s = time.perf_counter() - t0
            finally:
                lst.stop(grace_s=10)
            if len(store) != N_IMAGES:
                raise RuntimeError(f"{len(store)} of {N_IMAGES} images reached the worklist")
            store.close()
            if rep:
                rates.append(N_IMAGES / rx_s)
                copy_rates.append(mb / copy_s)
        mbs = [r * mb / N_IMAGES for r in rates]
        copy_med = sorted(copy_rates)[len(copy_rates) // 2]
        mbs_med = sorted(mbs)[len(mbs) // 2]
        shape = f"{ROWS}x{COLS} uint16 CR, {mb / N_IMAGES:.1f} MB each, {N_IMAGES} per association"
        return [
            row("receive", "dicom_receive_images_per_s", None, "images/s", samples=rates,
                note=f"{shape}; {sender}; write + fsync + loader check + worklist row"),
            row("receive", "dicom_receive_mb_per_s", None, "MB/s", samples=mbs, ratio=mbs_med / max(copy_med, 1e-9),
                baseline="file copy + fsync, same bytes", note=f"copy baseline {copy_med:.0f} MB/s"),
        ]
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    for r in run():
        print(r)
