"""The viewer shows DICOM files with their VOI LUT Function, VOI LUT and Presentation LUT Shape, as the
export path (``render.compose.radiograph_grey``) and DCMTK do (tests/test_voi_lut.py); W/L drag still works."""
from __future__ import annotations

import numpy as np
import pytest
from io_fixtures import write_dicom
from pydicom.dataset import Dataset
from pydicom.sequence import Sequence

from ra_desktop.io import load_radiograph
from ra_desktop.render import greyscale, voi
from ra_desktop.render.compose import radiograph_grey
from ra_desktop.ui.viewer import ViewerWidget

RAMP = np.arange(4096, dtype=np.uint16).reshape(64, 64)


@pytest.fixture
def viewer(qtbot):
    w = ViewerWidget()
    qtbot.addWidget(w)
    w.resize(600, 500)
    w.show()
    qtbot.waitExposed(w)
    return w


def _lut_seq() -> Sequence:
    item = Dataset()
    item.add_new(0x00283002, "US", [2048, 1000, 12])
    item.add_new(0x00283006, "US", [int(v) for v in np.round((np.arange(2048) / 2047) ** 0.6 * 4095)])
    return Sequence([item])


def test_viewer_shows_the_voi_lut_then_a_drag_windows_with_linear(viewer, tmp_path):
    path = write_dicom(tmp_path / "lut.dcm", RAMP, BitsStored=12, HighBit=11, VOILUTSequence=_lut_seq(),
                       WindowCenter=2000, WindowWidth=401)
    rad = load_radiograph(path)
    viewer.set_radiograph(rad)
    assert viewer.voi_lut_shown()
    np.testing.assert_array_equal(viewer.displayed_image(), radiograph_grey(rad))
    assert "VOI LUT" in viewer.badges.corner.text()
    viewer.set_window(2000, 401)  # any W/L change leaves the LUT for the window function
    assert not viewer.voi_lut_shown()
    expected = greyscale.to_uint8(voi.voi_unit(rad.pixels, 2000, 401, function="LINEAR"))
    np.testing.assert_array_equal(viewer.displayed_image(), expected)
    viewer.apply_preset("dicom")
    assert viewer.voi_lut_shown()


def test_viewer_inverts_presentation_inverse_and_sigmoid(viewer, tmp_path):
    path = write_dicom(tmp_path / "inv.dcm", RAMP, BitsStored=12, HighBit=11, WindowCenter=2048,
                       WindowWidth=1200, VOILUTFunction="SIGMOID", PresentationLUTShape="INVERSE")
    rad = load_radiograph(path)
    viewer.set_radiograph(rad)
    shown = viewer.displayed_image()
    np.testing.assert_array_equal(shown, radiograph_grey(rad))
    assert shown[0, 0] == 255 and shown[-1, -1] == 0  # inverted: low values bright
    viewer.set_invert(True)  # the reader's invert flips it back
    plain = greyscale.to_uint8(voi.voi_unit(rad.pixels, 2048, 1200, function="SIGMOID"))
    np.testing.assert_array_equal(viewer.displayed_image(), plain)
