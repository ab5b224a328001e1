"""Metric code against values computed by hand."""
from __future__ import annotations

import math

import numpy as np
import pytest

from ra_desktop.evaluate import metrics as M


def test_auc_tiny_example_by_hand():
    # Positive/negative pairs: (0.35>0.1) (0.35<0.4) (0.8>0.1) (0.8>0.4) -> 3 of 4.
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == pytest.approx(0.75)


def test_auc_ties_count_one_half():
    assert M.roc_auc([0, 1], [0.5, 0.5]) == pytest.approx(0.5)
    # pairs: 0.5>0.2 (1), 0.5=0.5 (0.5), 0.9>0.2 (1), 0.9>0.5 (1) -> 3.5/4
    assert M.roc_auc([0, 0, 1, 1], [0.2, 0.5, 0.5, 0.9]) == pytest.approx(0.875)


def test_auc_perfect_reversed_and_random():
    assert M.roc_auc([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]) == 1.0
    assert M.roc_auc([0, 0, 1, 1], [0.9, 0.8, 0.2, 0.1]) == 0.0
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 4000)
    assert M.roc_auc(y, rng.random(4000)) == pytest.approx(0.5, abs=0.03)


def test_auc_matches_pairwise_definition():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, 60)
    s = np.round(rng.random(60), 1)  # many ties
    pos, neg = s[y == 1], s[y == 0]
    brute = np.mean((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :]))
    assert M.roc_auc(y, s) == pytest.approx(brute)


def test_threshold_metrics_by_hand():
    y = [1, 1, 1, 0, 0, 0, 0]
    s = [0.9, 0.6, 0.3, 0.7, 0.2, 0.1, 0.5]  # 0.5 is called RA: the rule is >=
    c = M.confusion(y, s, 0.5)
    assert c == {"tp": 2, "fp": 2, "tn": 2, "fn": 1}
    v, notes = M.point_metrics(y, s, 0.5)
    assert v["accuracy"] == pytest.approx(4 / 7)
    assert v["sensitivity"] == pytest.approx(2 / 3)
    assert v["specificity"] == pytest.approx(2 / 4)
    assert v["precision"] == pytest.approx(2 / 4)
    assert v["f1"] == pytest.approx(2 * 2 / (2 * 2 + 2 + 1))
    assert notes == []


def test_single_class_gives_nan_with_note_not_a_crash():
    rep = M.bootstrap_metrics([1, 1, 1], [0.9, 0.2, 0.7], 0.5, n_boot=200)
    assert math.isnan(rep.metrics["auc"].value)
    assert math.isnan(rep.metrics["specificity"].value)
    assert rep.metrics["sensitivity"].value == pytest.approx(2 / 3)
    assert any("no normal cases" in n for n in rep.notes)
    assert rep.to_dict()["metrics"]["auc"]["value"] is None  # JSON has no NaN
    assert M.format_ci(rep.metrics["auc"].value, 0, 1) == "n/a"


def test_empty_input_is_reported():
    rep = M.bootstrap_metrics([], [], 0.5, n_boot=10)
    assert rep.n == 0 and any("no cases" in n for n in rep.notes)


def test_bootstrap_ci_contains_point_and_is_seeded():
    rng = np.random.default_rng(3)
    y = np.r_[np.ones(40), np.zeros(60)].astype(int)
    s = np.clip(0.3 * y + rng.normal(0.4, 0.2, 100), 0, 1)
    a = M.bootstrap_metrics(y, s, 0.5, n_boot=500, seed=7)
    b = M.bootstrap_metrics(y, s, 0.5, n_boot=500, seed=7)
    for k in M.METRIC_NAMES:
        m = a.metrics[k]
        assert m.low <= m.value <= m.high, k
        assert m.high - m.low > 0, k
        assert (m.low, m.high) == (b.metrics[k].low, b.metrics[k].high)
    assert a.n_positive == 40 and a.n_negative == 60


def test_format_ci():
    assert M.format_ci(0.8712, 0.8234, 0.9149) == "0.87 (0.82\u20130.91)"
    assert M.format_ci(0.5, float("nan"), float("nan")) == "0.50"


def test_roc_curve_and_youden():
    fpr, tpr, thr = M.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    np.testing.assert_allclose(fpr, [0, 0, 0.5, 0.5, 1.0])
    np.testing.assert_allclose(tpr, [0, 0.5, 0.5, 1.0, 1.0])
    assert np.trapezoid(tpr, fpr) == pytest.approx(0.75)
    t, j = M.youden_threshold([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9])
    assert t == pytest.approx(0.8) and j == pytest.approx(1.0)
    t, j = M.youden_threshold([1, 1], [0.1, 0.2])
    assert t == 0.5 and math.isnan(j)


def test_calibration_table():
    cal = M.calibration([0, 1, 1, 0], [0.05, 0.95, 0.55, 0.45], n_bins=2)
    assert cal["count"] == [2, 2]
    assert cal["mean_predicted"] == pytest.approx([0.25, 0.75])
    assert cal["fraction_positive"] == pytest.approx([0.0, 1.0])
    assert cal["ece"] == pytest.approx(0.25)
    assert cal["brier"] == pytest.approx(np.mean([0.05**2, 0.05**2, 0.45**2, 0.45**2]))


def test_wilson_interval():
    p, lo, hi = M.wilson_interval(0, 10)
    assert p == 0 and lo == 0 and hi == pytest.approx(0.2775, abs=1e-3)
    p, lo, hi = M.wilson_interval(5, 10)
    assert lo < 0.5 < hi and hi - 0.5 == pytest.approx(0.5 - lo)
