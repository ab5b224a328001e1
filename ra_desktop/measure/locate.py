"""Finding the metacarpals MC2-MC5 without clicks: rough axes from the bone ridges of the palm.

In a frame with the fingers up (:mod:`ra_desktop.measure.outline`), the palm below the finger
webs shows the four finger metacarpals as bright, nearly vertical bands. Bones are separated
from the soft tissue by a white top-hat, smoothed along the rays, and the band centres on each
line across the palm are linked into tracks. Counting from the little-finger side (the thumb's
metacarpal lies on the other side, so it never takes a finger's place) the first four long
tracks are MC5, MC4, MC3 and MC2.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.signal import find_peaks

from ra_desktop.measure.outline import WORK_MM, Hand, NotMeasurable, Working

_ZONE_MM = (-100.0, 10.0)  # palm zone along the fingers, relative to the finger webs
_MC_MID_MM = (-50.0, -12.0)  # where metacarpal shafts lie relative to the webs (line fit)


@dataclass(frozen=True)
class RoughAxis:
    """A metacarpal's approximate shaft: a point on it and its direction towards the fingers,
    in full-image pixels."""

    name: str
    point: np.ndarray
    distal: np.ndarray


def _upright(wk: Working, hand: Hand):
    """The palm resampled with the fingers up: image, its lateral and along-ray coordinates."""
    mm = wk.mm_per_px or WORK_MM
    t = np.arange(hand.finger_line + _ZONE_MM[1] / mm, hand.finger_line + _ZONE_MM[0] / mm, -1.0)
    a = np.arange(-90.0 / mm, 90.0 / mm, 1.0)
    X = hand.centre[0] + a[None, :] * hand.lateral[0] + t[:, None] * hand.distal[0]
    Y = hand.centre[1] + a[None, :] * hand.lateral[1] + t[:, None] * hand.distal[1]
    U = ndimage.map_coordinates(wk.image, [Y, X], order=1, cval=0.0)
    inside = ndimage.map_coordinates(wk.field.astype(np.float32), [Y, X], order=0, cval=0.0) > 0.5
    return np.where(inside, U, 0.0), a, t


def _tracks(B: np.ndarray, mm: float) -> list[np.ndarray]:
    """Band centres per line across, linked line to line: arrays of (row, column)."""
    step = max(1, int(round(1.0 / mm)))
    prom = 0.3 * float(np.median(B.max(axis=1)))  # a third of a typical row's brightest bone
    if prom <= 0:
        return []
    active: list[list[tuple[int, float]]] = []
    done: list[list[tuple[int, float]]] = []
    reach = 2.5 / mm
    for r in range(0, B.shape[0], step):
        peaks, _ = find_peaks(B[r], prominence=prom, distance=max(1, int(5.0 / mm)))
        taken = set()
        still = []
        for tr in active:
            last_r, last_c = tr[-1]
            if r - last_r > 4 * step:
                done.append(tr)
                continue
            if len(peaks):
                k = int(np.argmin(np.abs(peaks - last_c)))
                if abs(peaks[k] - last_c) <= reach and k not in taken:
                    tr.append((r, float(peaks[k])))
                    taken.add(k)
            still.append(tr)
        active = still + [[(r, float(p))] for k, p in enumerate(peaks) if k not in taken]
    return [np.array(tr) for tr in done + active if len(tr) > 1]


def rough_metacarpals(wk: Working, hand: Hand) -> list[RoughAxis]:
    """Rough axes of MC2-MC5 (thumb side last), or NotMeasurable saying what was missing."""
    mm = wk.mm_per_px or WORK_MM
    U, a, t = _upright(wk, hand)
    size = max(3, int(round(16.0 / mm)))
    B = U - ndimage.grey_opening(U, size=(size, size))
    B = ndimage.gaussian_filter(B, (3.0 / mm, 2.0 / mm))
    t_lo, t_hi = hand.finger_line + _MC_MID_MM[0] / mm, hand.finger_line + _MC_MID_MM[1] / mm
    rows = {}
    for tr in _tracks(B, mm):
        tt = t[tr[:, 0].astype(int)]
        inside = (tt >= t_lo) & (tt <= t_hi)
        if inside.sum() < 2 or np.ptp(tt[inside]) * mm < 20.0:
            continue
        # The shaft's line: lateral position against position along the ray.
        coef = np.polyfit(tt[inside], a[0] + tr[inside, 1], 1)
        mid_t = float(np.mean(tt[inside]))
        rows[len(rows)] = (float(np.polyval(coef, mid_t)), mid_t, coef[0])
    # From the little-finger side inwards: MC5, MC4, MC3, MC2. The fingers' metacarpals fan out
    # by a few degrees each; a track turned much further (the thumb's) is not one of them.
    chain: list[tuple[float, float, float]] = []
    for lat, mid_t, slope in sorted(rows.values(), key=lambda v: hand.thumb_side * v[0]):
        if chain:
            turn = np.degrees(abs(np.arctan(slope) - np.arctan(chain[-1][2])))
            gap = abs(lat - chain[-1][0]) * mm
            if turn > 20.0 or not 5.0 <= gap <= 35.0:
                continue
        chain.append((lat, mid_t, slope))
        if len(chain) == 4:
            break
    if len(chain) < 4:
        raise NotMeasurable(f"found {len(chain)} of the four finger metacarpals (MC2-MC5) in the palm")
    out = []
    for name, (lat, mid_t, slope) in zip(("MC5", "MC4", "MC3", "MC2"), chain):
        p = hand.centre + lat * hand.lateral + mid_t * hand.distal
        d = hand.distal + slope * hand.lateral
        d = d / np.hypot(*d)
        out.append(RoughAxis(name, wk.to_full(p), d))
    return out[::-1]
