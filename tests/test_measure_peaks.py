"""The installer-safe peak finder against scipy.signal.find_peaks (the reference it follows)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import find_peaks as scipy_find_peaks

from ra_desktop.measure.peaks import find_peaks


def _signals():
    rng = np.random.default_rng(0)
    for n in (3, 10, 57, 400):
        yield rng.normal(size=n)
        yield np.round(rng.normal(size=n) * 2) / 2  # many equal neighbours: plateaus
        yield np.cumsum(rng.normal(size=n))  # slow drifts with small bumps
    yield np.zeros(20)
    yield np.array([0, 1, 1, 1, 0, 2, 2, 0, 3], dtype=float)


@pytest.mark.parametrize("distance, prominence", [(None, None), (3, None), (None, 0.5), (5, 1.0), (1, 0.0)])
def test_same_peaks_as_scipy(distance, prominence):
    for x in _signals():
        want, _ = scipy_find_peaks(x, distance=distance, prominence=prominence)
        got, _ = find_peaks(x, distance=distance, prominence=prominence)
        assert got.tolist() == want.tolist(), (x.tolist(), distance, prominence)


def test_a_control_the_comparison_can_fail():
    x = np.array([0, 3, 0, 2, 0, 1, 0], dtype=float)
    assert find_peaks(x, distance=3)[0].tolist() == [1, 5]  # the middle peak is too close to the top one
    assert find_peaks(x, prominence=1.5)[0].tolist() == [1, 3]
