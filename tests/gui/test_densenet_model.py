"""The window with a DenseNet model folder (issue 25): it loads, analyses and draws Grad-CAM."""
from __future__ import annotations

import pytest

from ra_desktop.worklist import DONE
from tests.gui.conftest import wait_rows

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("arch", ["densenet121", "densenet169-no-attention"])
def test_window_analyses_with_a_densenet_model_folder(arch, make_window, image_folder, tmp_path, qtbot):
    from tests.tiny_model import make_tiny_model_folder

    w = make_window(make_tiny_model_folder(tmp_path, arch))
    assert w.banner.isHidden(), w.banner.text()
    w.add_paths([str(image_folder)])
    wait_rows(qtbot, w, 5)
    row = next(r for r in w.worklist.model.rows() if r.file_name == "case_00.png")
    with qtbot.waitSignal(w.jobs.open_finished, timeout=60000) as sig:
        w.worklist.select_row(row.id)
        w.worklist._emit_now()
    result = sig.args[1]
    assert sig.args[0] == row.id and 0.0 <= result.probability <= 1.0
    assert w.store.get(row.id).status == DONE
    assert "gradcam" in result.heatmaps and w.viewer.layer_item("gradcam") is not None
    # The map covers the image it explains, pixel for pixel.
    assert result.heatmaps["gradcam"].values.shape == w.viewer.displayed_image().shape[:2]
    assert "synthetic" in w.findings.notice.text().lower()
