"""The faithfulness metrics measure what they claim: oracle maps score, flat and fixed maps do not."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from ra_desktop.explain import faithfulness as F
from ra_desktop.explain import grad_cam
from ra_desktop.explain.regions import (
    diseased_regions,
    lesion_mask,
    region_masks,
    region_means,
    region_scores,
    top_regions,
)
from ra_desktop.results import RegionScore

GT = {
    "image_shape": [100, 80],
    "joints": {
        "MCP2": {"center": [20, 30], "radius_px": 6, "severity": 2},
        "MCP3": {"center": [50, 30], "radius_px": 6, "severity": 0},
        "DIP2": {"center": [20, 80], "radius_px": 5, "severity": 0},
        "radiocarpal": {"center": [40, 90], "radius_px": 8, "severity": 1},
        "ulnar_styloid": {"center": [60, 92], "radius_px": 4, "severity": 0},
    },
}


def test_region_masks_and_scores_name_joints():
    masks = region_masks(GT, (100, 80))
    assert set(masks) == {"MCP2", "MCP3", "DIP2", "wrist"}  # wrist = radiocarpal + ulnar styloid
    assert masks["wrist"][90, 40] and masks["wrist"][92, 60] and not masks["wrist"][30, 20]
    m = np.zeros((100, 80), np.float32)
    m[30, 20] = 3.0  # MCP2 centre (row 30, col 20)
    m[90, 40] = 1.0  # wrist
    m[0, 0] = -5.0  # negative evidence never counts as contribution
    scores = {r.name: r.score for r in region_scores(m, GT)}
    assert scores["MCP2"] == pytest.approx(0.75) and scores["wrist"] == pytest.approx(0.25)
    assert [r.name for r in top_regions(region_scores(m, GT), 3)] == ["MCP2", "wrist"]


def test_region_scores_scale_with_resized_image_and_fall_back_to_grid():
    m = np.zeros((200, 160), np.float32)
    m[60, 40] = 1.0  # MCP2 centre in a 2× image
    assert region_scores(m, GT)[0] == RegionScore("MCP2", 1.0)
    grid = region_scores(m, None)
    assert len(grid) == 16 and grid[0] == RegionScore("row 2, col 2", 1.0)  # row 60/200, col 40/160
    nan_map = np.full((10, 10), np.nan)
    assert all(r.score == 0.0 for r in region_scores(nan_map))


def test_region_means_do_not_favour_large_regions_and_skip_unseen_pixels():
    masks = region_masks(GT, (100, 80))
    m = np.zeros((100, 80), np.float32)
    m[masks["MCP2"]] = 1.0
    m[masks["wrist"]] = 0.5
    m[masks["MCP3"]] = np.nan  # outside the model input: not seen
    m[masks["DIP2"] & (np.arange(80)[None, :] < 20)] = np.nan  # half the DIP2 disc unseen
    m[masks["DIP2"] & (np.arange(80)[None, :] >= 20)] = 0.25
    means = region_means(m, GT)
    assert means["MCP2"] == pytest.approx(1.0) and means["wrist"] == pytest.approx(0.5)
    assert means["DIP2"] == pytest.approx(0.25) and math.isnan(means["MCP3"])
    assert diseased_regions(GT) == {"MCP2", "wrist"}  # the wrist through its radiocarpal part
    assert diseased_regions(GT, min_severity=2) == {"MCP2"}


def test_ranking_auc_counts_pairs_and_ties():
    from ra_desktop.evaluate.explanations import ranking_auc

    scores = {"a": 3.0, "b": 2.0, "c": 1.0, "d": float("nan")}
    assert ranking_auc(scores, {"a"}) == 1.0 and ranking_auc(scores, {"c"}) == 0.0
    assert ranking_auc(scores, {"b"}) == 0.5 and ranking_auc({"a": 1.0, "b": 1.0}, {"a"}) == 0.5
    assert ranking_auc(scores, {"a", "c"}) == 0.5  # one pair won, one lost; the NaN region is left out
    assert math.isnan(ranking_auc(scores, set())) and math.isnan(ranking_auc(scores, {"a", "b", "c"}))


def test_lesion_mask_uses_severity_and_dilated_mask():
    les = lesion_mask(GT, (100, 80))
    assert les[30, 20] and les[90, 40] and not les[30, 50]  # MCP3 is healthy
    mask = np.zeros((100, 80), np.uint8)
    mask[5, 5] = 1
    les2 = lesion_mask(GT, (100, 80), mask=mask, dilate_px=2)
    assert les2[5, 5] and les2[5, 7] and not les2[5, 9]


def test_pointing_game_oracle_constant_and_nan():
    region = np.zeros((50, 50), bool)
    region[10:20, 10:20] = True
    oracle = np.zeros((50, 50))
    oracle[15, 15] = 1.0
    assert F.pointing_hit(oracle, region)
    wrong = np.zeros((50, 50))
    wrong[40, 40] = 1.0
    assert not F.pointing_hit(wrong, region)
    assert not F.pointing_hit(np.ones((50, 50)), region)  # no peak: no credit
    oracle_nan = oracle.copy()
    oracle_nan[0, 0] = np.nan
    assert F.pointing_hit(oracle_nan, region)
    share, area = F.positive_share(oracle, region)
    assert share == 1.0 and area == pytest.approx(0.04)
    assert F.positive_share(np.ones((50, 50)), region) == pytest.approx((0.04, 0.04))


def oracle_predict(batch: np.ndarray) -> np.ndarray:
    """P(RA) = mean brightness of a 'lesion' patch (rows/cols 8..15): the only evidence."""
    return np.clip(batch[:, 0, 8:16, 8:16].mean(axis=(1, 2)), 0, 1)


def test_deletion_insertion_oracle_beats_random_and_constant_does_not():
    x = np.zeros((3, 32, 32), np.float32)
    x[:, 8:16, 8:16] = 1.0
    oracle = np.zeros((32, 32))
    oracle[8:16, 8:16] = 1.0
    base = np.zeros_like(x)
    good = F.deletion_insertion(oracle_predict, x, oracle, steps=16, baseline=base)
    rnd = np.mean([F.random_order_auc(oracle_predict, x, steps=16, seed=s)["deletion_auc"] for s in range(5)])
    flat = F.deletion_insertion(oracle_predict, x, np.ones((32, 32)), steps=16, baseline=base)
    assert good["deletion"][0] == 1.0 and good["deletion"][-1] == 0.0
    assert good["deletion_auc"] < 0.1 < 0.4 < rnd  # removing the patch first kills P(RA) at once
    assert good["insertion_auc"] > 0.9
    assert flat["deletion_auc"] == pytest.approx(rnd, abs=0.1)  # a flat map is a random order


def test_random_order_removes_to_the_given_baseline():
    x = np.zeros((3, 32, 32), np.float32)
    x[:, 8:16, 8:16] = 1.0
    healthy = x * 0.25  # a "twin": the same image with a weaker lesion
    curve = F.random_order_auc(oracle_predict, x, steps=8, baseline=healthy, insertion=True)
    assert curve["deletion"][0] == 1.0 and curve["deletion"][-1] == pytest.approx(0.25)
    assert curve["insertion"][0] == pytest.approx(0.25) and curve["insertion"][-1] == 1.0
    assert F.random_order_auc(oracle_predict, x, steps=8)["deletion"][-1] < 0.25  # blur spreads it thin


def test_spearman_and_agreement():
    a = np.arange(100.0).reshape(10, 10)
    assert F.spearman(a, a) == pytest.approx(1.0)
    assert F.spearman(a, -a) == pytest.approx(-1.0)
    assert math.isnan(F.spearman(a, np.ones_like(a)))
    ra = [RegionScore("MCP2", 0.5), RegionScore("MCP3", 0.3), RegionScore("PIP2", 0.2)]
    rb = [RegionScore("MCP3", 0.6), RegionScore("MCP2", 0.3), RegionScore("wrist", 0.1)]
    assert F.agreement(a, a, ra, rb)["top_region_overlap"] == pytest.approx(2 / 3)


class Tiny(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())
        self.head = nn.Linear(8, 2)

    def forward(self, x):
        return self.head(self.features(x).mean(dim=(2, 3)))


def test_randomisation_check_passes_grad_cam_and_fails_a_model_blind_map():
    torch.manual_seed(0)
    model = Tiny()
    x = np.random.default_rng(0).standard_normal((3, 24, 24)).astype(np.float32)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cam = F.randomisation_check(lambda m, xx: grad_cam(m, xx, "features.2"), model, x, seed=1)
    assert cam["passed"] and cam["steps"][-1]["layers_randomised"] == 3
    # An "explanation" that is just the image's brightness ignores the model entirely.
    blind = F.randomisation_check(lambda m, xx: np.abs(xx).sum(axis=0), model, x)
    assert not blind["passed"] and blind["full_spearman"] == pytest.approx(1.0)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # a copy was randomised


def test_wilson_and_bootstrap_intervals():
    lo, hi = F.wilson(8, 10)
    assert 0.44 < lo < 0.5 and 0.94 < hi < 0.98
    mean, lo, hi = F.mean_ci([1.0, 2.0, 3.0, float("nan")])
    assert mean == 2.0 and lo <= mean <= hi
