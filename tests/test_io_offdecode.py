"""JPEG 2000 decoded in the worker process (io.offdecode): the same radiograph, the same refusal,
and the decode back in the app when the process is not there. Qt-free; one spawned process."""
from __future__ import annotations

import numpy as np
import pydicom
import pytest
from io_fixtures import j2k_dicom

from ra_desktop.errors import ImageLoadError
from ra_desktop.io import load_radiograph, offdecode
from ra_desktop.io.preview import Preview


@pytest.fixture
def worker():
    offdecode.enable()
    offdecode._WORKER.fallback_reason = None
    yield offdecode
    offdecode.enable(False)
    offdecode._WORKER.fallback_reason = None


def _broken_codestream(path):
    """A JPEG 2000 study whose codestream stops a third of the way: the header checks pass."""
    ds = pydicom.dcmread(path)
    from pydicom.encaps import encapsulate, generate_fragmented_frames

    frame = b"".join(next(generate_fragmented_frames(ds.PixelData, number_of_frames=1)))
    ds.PixelData = encapsulate([frame[: len(frame) // 3]])
    ds.save_as(path, enforce_file_format=True)
    return path


def test_the_worker_decodes_what_the_app_decodes(worker, tmp_path):
    path = j2k_dicom(tmp_path / "a.dcm", photometric="MONOCHROME1", RescaleSlope=2, RescaleIntercept=-100)
    before = worker.counts()["process"]
    previews: list[Preview] = []
    there = load_radiograph(path, on_preview=previews.append)
    assert worker.counts()["process"] >= before + 1  # the full decode ran in the worker
    worker.enable(False)
    here = load_radiograph(path)
    assert np.array_equal(there.pixels, here.pixels) and there.pixels.dtype == here.pixels.dtype
    assert (there.case_id, there.notes, there.photometric, there.bits_stored) == (
        here.case_id, here.notes, here.photometric, here.bits_stored)


def test_a_broken_codestream_is_refused_with_the_same_words_either_way(worker, tmp_path):
    path = _broken_codestream(j2k_dicom(tmp_path / "b.dcm"))
    with pytest.raises(ImageLoadError) as there:
        load_radiograph(path)
    assert worker.counts()["process"] >= 1 and worker.enabled()  # a refusal is not a broken worker
    worker.enable(False)
    with pytest.raises(ImageLoadError) as here:
        load_radiograph(path)
    assert there.value.reason == here.value.reason and "could not decode pixel data" in here.value.reason
    assert there.value.path == path


def test_without_the_process_the_app_decodes_it_and_says_why(worker, tmp_path, monkeypatch, caplog):
    path = j2k_dicom(tmp_path / "c.dcm")
    worker.shutdown()

    def cannot_start():
        raise OSError("no processes here")

    monkeypatch.setattr(worker._WORKER, "pool", cannot_start)
    before = worker.counts()["in_process"]
    r = load_radiograph(path)
    assert r.pixels.shape == (512, 400) and worker.counts()["in_process"] == before + 1
    assert not worker.enabled() and "no processes here" in worker._WORKER.fallback_reason
    assert "decoding in the app from now on" in caplog.text


def test_uncompressed_files_never_go_to_the_worker(worker, tmp_path):
    from io_fixtures import write_dicom

    path = write_dicom(tmp_path / "d.dcm", np.zeros((64, 48), np.uint16))
    before = worker.counts()
    load_radiograph(path)
    assert worker.counts() == before
