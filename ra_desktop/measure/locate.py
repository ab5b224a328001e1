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
from ra_desktop.measure.peaks import find_peaks  # scipy.signal is too big for the CPU installer

from ra_desktop.measure.outline import WORK_MM, Hand, NotMeasurable, Working

_ZONE_MM = (-100.0, 10.0)  # palm zone along the fingers, relative to the finger webs
_MC_MID_MM = (-50.0, -12.0)  # where metacarpal shafts lie relative to the webs (line fit)
# A band stands out by a fifth of a typical row's brightest bone: between two touching shafts the
# smoothed valley is shallow, and a third lost one of them (short tracks are dropped later anyway).
_PROMINENCE = 0.2


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
    prom = _PROMINENCE * float(np.median(B.max(axis=1)))
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


def _shaft_lines(B: np.ndarray, a: np.ndarray, t: np.ndarray, t_lo: float, t_hi: float, mm: float):
    """Straight lines (lateral = c0 * along + c1) through the tracks within the zone; fragments of
    one band (a track broken where two bones touch) joined first."""
    pieces = []
    for tr in _tracks(B, mm):
        tt = t[tr[:, 0].astype(int)]
        inside = (tt >= t_lo) & (tt <= t_hi)
        if inside.sum() >= 3:
            pieces.append((tt[inside], a[0] + tr[inside, 1]))
    t_ref = (t_lo + t_hi) / 2
    merged: list[list] = []
    for tt, ll in sorted(pieces, key=lambda p: -len(p[0])):
        c = np.polyfit(tt, ll, 1)
        for m in merged:
            cm = np.polyfit(m[0], m[1], 1)
            # Pieces end to end (a track broken along a bone, its peak jumping) are compared where
            # they meet, within half a shaft's width (neighbouring shafts lie >= 9 mm apart).
            lo, hi = max(tt.min(), m[0].min()), min(tt.max(), m[0].max())
            t_at, tol = ((lo + hi) / 2, 4.0) if lo > hi else (t_ref, 2.5)
            near = abs(np.polyval(c, t_at) - np.polyval(cm, t_at)) * mm <= tol
            parallel = np.degrees(abs(np.arctan(c[0]) - np.arctan(cm[0]))) <= 10.0
            if near and parallel:
                m[0], m[1] = np.concatenate([m[0], tt]), np.concatenate([m[1], ll])
                break
        else:
            merged.append([tt, ll])
    out = []
    for tt, ll in merged:
        if np.ptp(tt) * mm >= 20.0:
            c = np.polyfit(tt, ll, 1)
            out.append((float(np.polyval(c, t_ref)), float(np.mean(tt)), float(c[0]), c))
    return out, t_ref


def rough_metacarpals(wk: Working, hand: Hand) -> list[RoughAxis]:
    """Rough axes of MC2-MC5 (MC5 may be missing), or NotMeasurable saying what was missing.

    From the thumb's side: tracks turned far from the others (the thumb's metacarpal and
    phalanx; MC5, the last, may turn further outwards) are dropped, as is a first track far beside
    the next (the thumb's ray), then the next ones are MC2, MC3, MC4, MC5; a gap between neighbours
    much wider than the others stands for a bone not found, so no bone takes another's name.
    """
    mm = wk.mm_per_px or WORK_MM
    U, a, t = _upright(wk, hand)
    size = max(3, int(round(16.0 / mm)))
    B = U - ndimage.grey_opening(U, size=(size, size))
    B = ndimage.gaussian_filter(B, (3.0 / mm, 2.0 / mm))
    t_lo, t_hi = hand.finger_line + _MC_MID_MM[0] / mm, hand.finger_line + _MC_MID_MM[1] / mm
    lines, t_ref = _shaft_lines(B, a, t, t_lo, t_hi, mm)
    if len(lines) < 3:
        raise NotMeasurable(f"found {len(lines)} of the four finger metacarpals (MC2-MC5) in the palm")
    angles = np.degrees(np.arctan([ln[2] for ln in lines]))
    typical = float(np.median(angles))
    turn = {id(ln): ang - typical for ln, ang in zip(lines, angles)}
    lines = sorted(lines, key=lambda ln: -hand.thumb_side * ln[0])  # thumb side first
    # The metacarpals fan out towards the fingers: MC5, the outermost on the little-finger side,
    # may turn further from the others than the 22 degrees allowed, but only outwards.
    outwards = lines[-1] is not lines[0] and -hand.thumb_side * turn[id(lines[-1])] > 0
    kept = [ln for ln in lines if abs(turn[id(ln)]) <= (35.0 if ln is lines[-1] and outwards else 22.0)]
    if len(kept) < 3:
        raise NotMeasurable(f"found {len(kept)} of the four finger metacarpals (MC2-MC5) in the palm")
    gaps = np.abs(np.diff([ln[0] for ln in kept])) * mm
    # The thumb's ray lies far beside MC2: a first gap much wider than the others is the thumb's,
    # also when only two metacarpals remain (else the thumb would be named MC2).
    while len(kept) > 2 and gaps[0] > max(1.8 * float(np.median(gaps[1:])), 25.0):
        kept, gaps = kept[1:], gaps[1:]
    if len(kept) < 3:
        raise NotMeasurable(f"found {len(kept)} of the four finger metacarpals (MC2-MC5) in the palm")
    step = float(np.median(gaps))
    slots: list = [kept[0]]
    for ln, gap in zip(kept[1:], gaps):
        if gap < 5.0:
            continue  # two tracks on one bone
        slots.extend([None] * int(round(gap / step) - 1) if gap > 1.6 * step else [])
        slots.append(ln)
    named = dict(zip(("MC2", "MC3", "MC4", "MC5"), slots))
    missing = [k for k in ("MC2", "MC3", "MC4") if named.get(k) is None]
    if missing:
        raise NotMeasurable(f"{', '.join(missing)} not found among the metacarpals in the palm")
    out = []
    for name, ln in named.items():
        if ln is None:
            continue
        lat, mid_t, slope, c = ln
        p = hand.centre + float(np.polyval(c, mid_t)) * hand.lateral + mid_t * hand.distal
        d = hand.distal + slope * hand.lateral
        d = d / np.hypot(*d)
        out.append(RoughAxis(name, wk.to_full(p), d))
    return out
