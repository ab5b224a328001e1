"""scripts/comparison_table.py: the calibration and paired AUC difference it reports."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

_spec = importlib.util.spec_from_file_location(
    "comparison_table", Path(__file__).resolve().parent.parent / "scripts" / "comparison_table.py")
table = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(table)


def test_calibration_of_perfect_and_overconfident_predictions():
    y = np.array([0, 0, 1, 1], float)
    assert table.calibration(y, y) == (0.0, 0.0)
    brier, ece = table.calibration(y, np.array([0.95, 0.05, 0.95, 0.05]))  # confident, half wrong
    assert brier == pytest.approx(0.4525) and ece == pytest.approx(0.45)


def test_paired_auc_difference_is_zero_for_the_same_model_and_positive_for_a_better_one():
    rng = np.random.default_rng(0)
    y = np.repeat([0.0, 1.0], 100)
    good = y * 0.6 + rng.uniform(0, 0.5, 200)  # separates the classes almost perfectly
    noisy = y * 0.1 + rng.uniform(0, 1.0, 200)
    assert table.paired_auc_difference(y, good, good, n_boot=200) == (0.0, 0.0, 0.0)
    diff, lo, hi = table.paired_auc_difference(y, good, noisy, n_boot=200)
    assert 0 < lo <= diff <= hi and diff > 0.2
