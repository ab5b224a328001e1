"""The joint's consistency check leaves out one clearly outlying line at an MCP, never a scatter."""
import numpy as np

from ra_desktop.measure.joints import OUTLIERS, _smooth_subset

OFFSETS = np.linspace(-8.0, 8.0, 9)
SMOOTH = 1.5 + 0.002 * OFFSETS ** 2 + np.array([0.02, -0.03, 0.01, 0.0, -0.02, 0.03, -0.01, 0.02, 0.0])


def test_one_far_line_is_left_out_at_an_mcp_only():
    w = SMOOTH.copy()
    w[2] = 0.4  # one line's surface fitted into the joint space
    ok = np.ones(9, bool)
    keep, rough = _smooth_subset(OFFSETS, w, ok, 0.2, OUTLIERS.get("MCP", 0))
    assert keep.sum() == 8 and not keep[2] and rough <= 0.2
    keep, rough = _smooth_subset(OFFSETS, w, ok, 0.2, OUTLIERS.get("PIP", 0))
    assert keep.all() and rough > 0.2


def test_scattered_widths_and_too_few_lines_still_fail():
    rng = np.random.default_rng(3)
    w = 0.5 + rng.uniform(-0.3, 0.3, 9)  # a scatter, as on a joint placed on the wrong bones
    keep, rough = _smooth_subset(OFFSETS, w, np.ones(9, bool), 0.2, 1)
    assert keep.all() and rough > 0.2
    w = SMOOTH.copy()
    w[2] = 0.4
    seven = np.array([1, 1, 1, 1, 1, 1, 1, 0, 0], bool)  # never under 7 lines
    keep, rough = _smooth_subset(OFFSETS, w, seven, 0.2, 1)
    assert (keep == seven).all() and rough > 0.2


def test_smooth_widths_are_kept_whole():
    keep, rough = _smooth_subset(OFFSETS, SMOOTH, np.ones(9, bool), 0.2, 1)
    assert keep.all() and rough < 0.05
