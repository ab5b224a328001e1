"""Peaks of a 1-D signal, as ``scipy.signal.find_peaks`` finds them (its ``distance`` and
``prominence`` options), without scipy.signal.

The CPU installer ships scipy.ndimage and scipy.special only: importing scipy.signal pulls in
linalg, sparse, optimize, stats and interpolate, about 20 MiB more than the archive's budget
allows. This follows SciPy's own algorithm step for step (local maxima with plateaus at their
midpoint, then the distance rule by height, then prominence from the lowest points before a higher
sample on each side), and tests/test_measure_peaks.py checks it against scipy.signal on random
and plateau-rich signals.
"""
from __future__ import annotations

import math

import numpy as np


def _local_maxima(x: np.ndarray) -> np.ndarray:
    peaks = []
    i, i_max = 1, x.shape[0] - 1
    while i < i_max:
        if x[i - 1] < x[i]:
            ahead = i + 1
            while ahead < i_max and x[ahead] == x[i]:
                ahead += 1
            if x[ahead] < x[i]:
                peaks.append((i + ahead - 1) // 2)  # a plateau's peak is its middle
                i = ahead
        i += 1
    return np.asarray(peaks, dtype=np.intp)


def _keep_by_distance(peaks: np.ndarray, height: np.ndarray, distance: float) -> np.ndarray:
    keep = np.ones(peaks.shape[0], dtype=bool)
    gap = math.ceil(distance)
    order = np.argsort(height)  # the same sort SciPy uses, so ties resolve alike
    for j in order[::-1]:
        if not keep[j]:
            continue
        k = j - 1
        while k >= 0 and peaks[j] - peaks[k] < gap:
            keep[k] = False
            k -= 1
        k = j + 1
        while k < peaks.shape[0] and peaks[k] - peaks[j] < gap:
            keep[k] = False
            k += 1
    return keep


def prominences(x: np.ndarray, peaks: np.ndarray) -> np.ndarray:
    out = np.empty(peaks.shape[0], dtype=float)
    last = x.shape[0] - 1
    for n, p in enumerate(peaks):
        i, left = p, x[p]
        while i >= 0 and x[i] <= x[p]:
            left = min(left, x[i])
            i -= 1
        i, right = p, x[p]
        while i <= last and x[i] <= x[p]:
            right = min(right, x[i])
            i += 1
        out[n] = x[p] - max(left, right)
    return out


def find_peaks(x, *, distance: float | None = None, prominence: float | None = None):
    """Indices of the peaks of ``x`` and an (empty) properties dict, like SciPy's function."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError("find_peaks needs a 1-D signal")
    peaks = _local_maxima(x)
    if distance is not None and peaks.size:
        if distance < 1:
            raise ValueError("distance must be at least 1")
        peaks = peaks[_keep_by_distance(peaks, x[peaks], distance)]
    if prominence is not None and peaks.size:
        peaks = peaks[prominences(x, peaks) >= prominence]
    return peaks, {}
