"""The pipeline with the real explanations: image-space maps, joint-named regions, OOD verdict."""
from __future__ import annotations

import numpy as np

from tiny_model import make_tiny_model_folder

from ra_desktop.explain.regions import REGION_JOINTS
from ra_desktop.model import load_model
from ra_desktop.phantom import generate_dataset
from ra_desktop.pipeline import analyse
from ra_desktop.train.ood_fit import fit_ood


def _final(gen):
    stages = []
    while True:
        try:
            stages.append(next(gen))
        except StopIteration as stop:
            return stages, stop.value


def test_pipeline_runs_gradcam_shap_and_ood(tmp_path):
    rows = generate_dataset(tmp_path / "ph", 2, 500001, ra_fraction=1.0, severity_range=(3, 3), size=360,
                            workers=1, progress=False)
    image = tmp_path / "ph" / rows[0]["path"]
    model_dir = make_tiny_model_folder(tmp_path)
    model = load_model(model_dir, "cpu")
    stages, final = _final(analyse(image, model))
    assert [s.stage for s in stages] == ["prediction", "gradcam", "shap"]
    assert all(s.status == "ok" for s in stages), [s.message for s in stages]
    assert final.ood is None  # no statistics in this model folder: "not available"
    shape = final.radiograph.pixels.shape
    assert final.heatmaps["gradcam"].values.shape == shape and not final.heatmaps["gradcam"].signed
    assert final.heatmaps["shap"].signed and np.isfinite(final.heatmaps["shap"].values).any()
    assert final.regions and all(r.name in REGION_JOINTS for r in final.regions)

    x = final.model_input
    fit_ood(model, [x[None], x[None] + 0.01], [x + 0.02], model_dir)
    _, with_ood = _final(analyse(image, load_model(model_dir, "cpu"), explanations=()))
    assert with_ood.ood is not None and with_ood.ood.distance >= 0 and with_ood.ood.threshold > 0
