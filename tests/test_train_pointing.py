"""Epoch selection by the validation pointing game (train --select-by pointing)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from ra_desktop.cli import main
from ra_desktop.evaluate.explanations import case_lesion, cases_from_samples, pointing_rates
from ra_desktop.phantom import generate_dataset
from ra_desktop.io.dataset import discover

FAST = ["--resize", "72", "--crop", "64", "--batch-size", "8", "--quiet", "--device", "cpu"]


@pytest.fixture(scope="module")
def twins(tmp_path_factory):
    root = tmp_path_factory.mktemp("twins")
    generate_dataset(root, 12, 7, size=400, workers=1, progress=False, twins=True, severity_range=(2, 2))
    return root


def _blob(yx, size=224, sigma=3.0):
    yy, xx = np.mgrid[:size, :size]
    return np.exp(-((yy - yx[0]) ** 2 + (xx - yx[1]) ** 2) / (2 * sigma ** 2)).astype(np.float32)


def test_pointing_rates_count_a_hit_and_a_miss(twins):
    cases = cases_from_samples(discover(twins).samples, 2)
    assert len(cases) == 2 and all(c.ground_truth["severity"] >= 2 for c in cases)
    lesions = [case_lesion(c) for c in cases]
    # For each case, a model pixel whose image position is inside its lesion and one outside.
    inside, outside = [], []
    for c, les in zip(cases, lesions):
        grid = [(y, x) for y in range(8, 224, 16) for x in range(8, 224, 16)]
        where = {}
        for yx in grid:
            im = c.geometry.map_to_image(_blob(yx))
            pk = np.unravel_index(np.nanargmax(im), im.shape)
            where[yx] = bool(les[pk])
        inside.append(next(yx for yx, hit in where.items() if hit))
        outside.append(next(yx for yx, hit in where.items() if not hit))
    by_x = {id(c.x): k for k, c in enumerate(cases)}
    maps = {"good": lambda m, x: _blob(inside[by_x[id(x)]]), "bad": lambda m, x: _blob(outside[by_x[id(x)]])}
    assert pointing_rates(None, cases, maps, lesions) == {"good": 1.0, "bad": 0.0}
    assert pointing_rates(None, cases, maps) == {"good": 1.0, "bad": 0.0}  # lesions computed


def test_train_selects_the_epoch_by_validation_pointing(twins, tmp_path):
    out = tmp_path / "model"
    assert main(["train", str(twins), "--arch", "vgg8", "--out", str(out), "--epochs", "3", "--seed", "1",
                 "--val-fraction", "0.5", "--select-by", "pointing", "--patience", "5",
                 "--lesion-swap", "1.0", "--swap-outside", "mean", *FAST]) == 0
    training = json.loads((out / "manifest.json").read_text())["training"]
    assert "lesion swap" in training["augmentation"] and "mean of both twins" in training["augmentation"]
    assert training["early_stopping"]["monitor"].startswith("validation pointing game")
    hist = json.loads((out / "training_log.json").read_text())
    hist = hist["epochs"]
    assert len(hist) == 3
    for row in hist:
        assert 0.0 <= row["val_pointing_gradcam"] <= 1.0 and 0.0 <= row["val_pointing_shap"] <= 1.0
    score = [((r["val_pointing_gradcam"] + r["val_pointing_shap"]) / 2, r["val_auc"], -r["val_loss"]) for r in hist]
    best = max(range(3), key=lambda k: (score[k], -k))  # the first of equal scores is kept
    assert training["best_epoch"] == best + 1


def test_select_by_pointing_needs_ground_truth_in_validation(tmp_path, capsys):
    from tests.test_train import make_images

    data = make_images(tmp_path / "data", patients=True)
    rc = main(["train", str(data), "--arch", "vgg8", "--out", str(tmp_path / "m"), "--epochs", "1",
               "--select-by", "pointing", *FAST])
    assert rc == 2 and "--select-by pointing needs" in capsys.readouterr().err


def test_select_data_scores_a_development_set_and_subset_swaps_are_recorded(twins, tmp_path, capsys):
    dev = tmp_path / "dev"
    generate_dataset(dev, 3, 300007, size=400, workers=1, progress=False, ra_fraction=1.0,
                     severity_range=(2, 2), spare_wrist=True)
    out = tmp_path / "model"
    assert main(["train", str(twins), "--arch", "vgg8", "--out", str(out), "--epochs", "1", "--seed", "1",
                 "--val-fraction", "0.5", "--select-by", "pointing", "--select-data", str(dev),
                 "--lesion-swap", "1.0", "--swap-subset", "0.5", *FAST]) == 0
    assert f"pointing game on 3 RA phantoms of the {dev}" in capsys.readouterr().out
    training = json.loads((out / "manifest.json").read_text())["training"]
    assert f"of the development set {dev}" in training["early_stopping"]["monitor"]
    assert "with probability 0.5 an RA swap pastes a random non-empty subset" in training["augmentation"]


@pytest.mark.parametrize("args, message", [
    (["--swap-subset", "1.5", "--lesion-swap", "1"], "--swap-subset is a probability"),
    (["--swap-subset", "0.5"], "--swap-subset changes lesion swaps"),
    (["--select-data", "anywhere"], "--select-data is the set scored by --select-by pointing"),
])
def test_inconsistent_swap_and_selection_options_are_refused(twins, tmp_path, capsys, args, message):
    rc = main(["train", str(twins), "--arch", "vgg8", "--out", str(tmp_path / "m"), "--epochs", "1", *args, *FAST])
    assert rc == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()
