"""Naming the metacarpals in the palm (measure/locate.py) on synthetic palms: bright rods on soft
tissue, fingers up, the thumb towards +x. Failure modes seen on phantoms (issue #19): MC5 turned
outwards further than the others was dropped, the thumb's ray was named MC2 when only two finger
metacarpals were found, and a shaft whose track broke in two was lost."""
from __future__ import annotations

import numpy as np
import pytest

from ra_desktop.measure.locate import rough_metacarpals
from ra_desktop.measure.outline import Hand, NotMeasurable, Working

MM = 0.5  # working mm per pixel
H, W = 440, 400
CENTRE = np.array([200.0, 260.0])
MID_Y = 200.0  # rows 164-240 are the zone where shafts are fitted (webs at row 140)


def _palm(rods, kink=None) -> tuple[Working, Hand]:
    """rods: (x at MID_Y, degrees from vertical, + = towards +x distally, top row, bottom row);
    kink: (rod index, first row, last row, px): the rod missing between the rows (a fainter
    stretch) and shifted sideways by px above them."""
    yy, xx = np.mgrid[0:H, 0:W].astype(float)
    img = np.full((H, W), 0.3)
    for k, (x0, deg, top, bottom) in enumerate(rods):
        x = x0 + (MID_Y - yy) * np.tan(np.radians(deg))
        there = (yy >= top) & (yy <= bottom)
        if kink is not None and kink[0] == k:
            x = x + np.where(yy < kink[1], kink[3], 0.0)
            there &= (yy < kink[1]) | (yy > kink[2])
        d = np.abs(xx - x) * np.cos(np.radians(deg))
        rod = 0.8 * np.exp(-((d / 7.0) ** 4)) * there
        img = np.maximum(img, 0.3 + rod)
    wk = Working(image=img, factor=1, mm_per_px=MM, field=np.ones((H, W), bool))
    distal = np.array([0.0, -1.0])
    hand = Hand(mask=np.ones((H, W), bool), distal=distal, centre=CENTRE, thumb_side=1,
                lateral=np.array([-distal[1], distal[0]]), finger_line=120.0, n_fingers=4, finger_reach=200.0)
    return wk, hand


def _x_at_mid(axis) -> float:
    p, d = axis.point, axis.distal
    return float(p[0] + (MID_Y - p[1]) / d[1] * d[0])


THUMB = (320.0, 38.0, 150, 330)
MC2, MC3, MC4 = (242.0, 8.0, 150, 330), (212.0, 3.0, 150, 330), (182.0, -2.0, 150, 330)


def test_a_little_finger_metacarpal_turned_outwards_is_named_mc5():
    # MC5 turns 27 degrees from the others' median, outwards: the fan of the metacarpals
    wk, hand = _palm([THUMB, MC2, MC3, MC4, (145.0, -24.0, 150, 240)])
    axes = {a.name: _x_at_mid(a) for a in rough_metacarpals(wk, hand)}
    assert set(axes) == {"MC2", "MC3", "MC4", "MC5"}
    for name, x in (("MC2", 242), ("MC3", 212), ("MC4", 182), ("MC5", 145)):
        assert abs(axes[name] - x) < 4, (name, axes)


def test_the_thumb_is_not_named_mc2_when_two_finger_metacarpals_are_found():
    # the thumb turned only 16 degrees from the median of three: its gap, not its angle, tells
    wk, hand = _palm([(320.0, 24.0, 150, 330), MC2, MC3])
    with pytest.raises(NotMeasurable, match="found 2 of the four"):
        rough_metacarpals(wk, hand)


def test_a_shaft_whose_track_breaks_in_two_is_still_found():
    # MC5's band fades for 6 mm halfway along the zone and goes on 3.5 mm to the side: two
    # pieces of 16 mm, end to end, each too short for a shaft
    wk, hand = _palm([THUMB, MC2, MC3, MC4, (150.0, -6.0, 150, 330)], kink=(4, 196, 208, -7.0))
    axes = {a.name: _x_at_mid(a) for a in rough_metacarpals(wk, hand)}
    assert set(axes) == {"MC2", "MC3", "MC4", "MC5"}
    assert abs(axes["MC5"] - 147) < 5, axes
