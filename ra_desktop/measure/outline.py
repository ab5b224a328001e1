"""The hand on a radiograph, at about 0.5 mm per pixel: the exposed field, the hand's outline,
which way the fingers point and on which side the thumb is.

Everything here works on a reduced copy of the image (block means); coordinates go back to the
full image through :meth:`Working.to_full`. A PA hand radiograph's strongest structure is the
outline of the hand against the air, so the outline is found first (Otsu's threshold), then
the fingers (the end of the outline where a line across it crosses three or more separate
runs), then the thumb (a separate run beside the palm, or else the side whose outermost finger
reaches further: the index is longer than the little finger).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

WORK_MM = 0.5  # target working pixel size (mm)
WORK_LONG_SIDE = 520  # working long side (px) when the spacing is unknown


class NotMeasurable(Exception):
    """The image cannot be measured; ``reason`` says why in words for the reader."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class Working:
    """A reduced, bone-bright copy of the image scaled to 0..1."""

    image: np.ndarray
    factor: int
    mm_per_px: float | None  # working pixel size, None when the spacing is unknown
    field: np.ndarray  # True inside the exposed field (collimator strips excluded)
    inverted: bool = False  # the input had bone dark; ``image`` has been turned bone-bright

    def to_full(self, xy) -> np.ndarray:
        return (np.asarray(xy, float) + 0.5) * self.factor - 0.5

    def from_full(self, xy) -> np.ndarray:
        return (np.asarray(xy, float) + 0.5) / self.factor - 0.5


def working_image(image: np.ndarray, spacing_mm: float | None) -> Working:
    """Block-mean reduction to about 0.5 mm per pixel, scaled to 0..1 inside the exposed field."""
    h, w = image.shape
    if spacing_mm:
        k = int(max(1, round(WORK_MM / spacing_mm)))
    else:
        k = int(max(1, round(max(h, w) / WORK_LONG_SIDE)))
    k = min(k, max(1, min(h, w) // 64))
    hh, ww = (h // k) * k, (w // k) * k
    if hh < 64 or ww < 64:
        raise NotMeasurable(f"the image is too small ({w} x {h} pixels)")
    small = np.asarray(image[:hh, :ww], np.float32).reshape(hh // k, k, ww // k, k).mean(axis=(1, 3))
    if not np.all(np.isfinite(small)):
        small = np.nan_to_num(small, nan=float(np.nanmin(small)) if np.isfinite(small).any() else 0.0)
    field = _exposed_field(small)
    lo, hi = np.percentile(small[field], [0.5, 99.5])
    if hi - lo <= 0:
        raise NotMeasurable("the image has no contrast")
    img = np.clip((small - lo) / (hi - lo), 0.0, 1.0)
    inverted = _looks_inverted(img, field)
    if inverted:
        img = 1.0 - img
    return Working(img, k, spacing_mm * k if spacing_mm else None, field, inverted)


def _looks_inverted(img: np.ndarray, field: np.ndarray) -> bool:
    """Air around the hand is dark on a radiograph shown bone-bright: a bright rim means the
    grey scale is the other way round (MONOCHROME1 pixels without the tag that says so)."""
    rows, cols = np.nonzero(field)
    if rows.size == 0:
        return False
    r0, r1, c0, c1 = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    inner = img[r0:r1, c0:c1]
    fr = max(2, min(inner.shape) // 12)
    rim = np.concatenate([inner[:fr].ravel(), inner[-fr:].ravel(), inner[:, :fr].ravel(), inner[:, -fr:].ravel()])
    h, w = inner.shape
    centre = inner[h // 4: 3 * h // 4, w // 4: 3 * w // 4]
    return float(np.median(rim)) > float(np.median(centre)) + 0.2


def _exposed_field(img: np.ndarray) -> np.ndarray:
    """Drop uniform strips along the borders (collimator shutters), at most a quarter per side."""
    spread = float(np.percentile(img, 99) - np.percentile(img, 1)) or 1.0
    field = np.ones(img.shape, bool)

    def uniform(line):
        q75, q25 = np.percentile(line, [75, 25])
        return (q75 - q25) < 0.02 * spread and (line.max() - line.min()) < 0.25 * spread

    h, w = img.shape
    for axis, n in ((0, h), (1, w)):
        for from_end in (False, True):
            for i in range(n // 4):
                j = n - 1 - i if from_end else i
                line = img[j, :] if axis == 0 else img[:, j]
                if not uniform(line):
                    break
                if axis == 0:
                    field[j, :] = False
                else:
                    field[:, j] = False
    return field


@dataclass
class Hand:
    """The hand's outline and pose in the working image."""

    mask: np.ndarray
    distal: np.ndarray  # unit vector (x, y) from wrist to fingers
    centre: np.ndarray  # centroid of the outline (x, y)
    thumb_side: int  # +1: thumb towards +lateral (see ``lateral``), -1 the other way
    lateral: np.ndarray  # unit vector (x, y): distal turned 90 degrees clockwise on screen
    finger_line: float  # position along ``distal`` (from centre) of the finger webs
    n_fingers: int
    finger_reach: float  # from the webs to the furthest fingertip along ``distal`` (px)


def hand_outline(wk: Working) -> np.ndarray:
    """The largest bright region: hand (and forearm) against the air, holes filled."""
    img = ndimage.gaussian_filter(wk.image, 1.0)
    vals = img[wk.field]
    t = _otsu3(vals)
    mask = (img > t) & wk.field
    mask = ndimage.binary_opening(mask, iterations=2)
    lab, n = ndimage.label(mask)
    if n == 0:
        raise NotMeasurable("no hand outline found (nothing stands out from the background)")
    sizes = ndimage.sum_labels(mask, lab, index=np.arange(1, n + 1))
    mask = lab == (1 + int(np.argmax(sizes)))
    return ndimage.binary_fill_holes(mask)


def _otsu3(vals: np.ndarray) -> float:
    """The lower of Otsu's two thresholds for three classes: air | soft tissue | bone."""
    hist, edges = np.histogram(vals, bins=128)
    p = hist.astype(float) / max(hist.sum(), 1)
    centres = (edges[:-1] + edges[1:]) / 2
    w = np.concatenate([[0.0], np.cumsum(p)])
    m = np.concatenate([[0.0], np.cumsum(p * centres)])
    best, arg = -1.0, 1
    for i in range(1, 127):
        w0, m0 = w[i], m[i]
        if w0 <= 0:
            continue
        j = np.arange(i + 1, 128)
        w1, m1 = w[j] - w0, m[j] - m0
        w2, m2 = w[-1] - w[j], m[-1] - m[j]
        ok = (w1 > 0) & (w2 > 0)
        if not ok.any():
            continue
        between = m0 * m0 / w0 + np.where(ok, m1 * m1 / np.maximum(w1, 1e-12) + m2 * m2 / np.maximum(w2, 1e-12), -1)
        k = int(np.argmax(between))
        if between[k] > best:
            best, arg = float(between[k]), i
    return float(edges[arg])


def _runs(line: np.ndarray, min_len: int) -> list[tuple[int, int]]:
    """Start and end (exclusive) of the True runs at least ``min_len`` long."""
    d = np.diff(np.concatenate([[0], line.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends) if e - s >= min_len]


def _cross_lines(mask: np.ndarray, centre, along: np.ndarray, across: np.ndarray, ts, half: float):
    """Mask sampled on lines across ``along`` at positions ``ts``; rows = lines."""
    offs = np.arange(-half, half + 1.0)
    xs = centre[0] + ts[:, None] * along[0] + offs[None, :] * across[0]
    ys = centre[1] + ts[:, None] * along[1] + offs[None, :] * across[1]
    return ndimage.map_coordinates(mask.astype(np.float32), [ys, xs], order=0, cval=0.0) > 0.5, offs


def locate_hand(wk: Working) -> Hand:
    """Outline, finger direction and thumb side; NotMeasurable when no hand shape is found."""
    mask = hand_outline(wk)
    area = mask.mean()
    if not 0.05 <= area <= 0.92:
        raise NotMeasurable(f"no hand outline found (the bright region covers {area:.0%} of the image)")
    ys, xs = np.nonzero(mask)
    centre = np.array([xs.mean(), ys.mean()])
    cov = np.cov(np.stack([xs - centre[0], ys - centre[1]]))
    evals, evecs = np.linalg.eigh(cov)
    major = evecs[:, 1]
    minor = np.array([-major[1], major[0]])
    proj = (xs - centre[0]) * major[0] + (ys - centre[1]) * major[1]
    ts = np.arange(proj.min(), proj.max(), 2.0)
    half = float(np.hypot(*mask.shape))
    lines, offs = _cross_lines(mask, centre, major, minor, ts, half)
    mm = wk.mm_per_px or WORK_MM
    min_run = max(2, int(round(4.0 / mm)))  # a finger is at least 4 mm wide
    need = max(3, int(round(10.0 / mm / 2.0)))  # 10 mm of lines across three or more fingers
    counts = np.array([len(_runs(row, min_run)) for row in lines])
    many = counts >= 3
    if many.sum() < need:
        counts = _counts_with_fingers_touching(wk, mask, centre, major, minor, ts, half, min_run, need)
        many = counts >= 3
    if many.sum() < need:
        raise NotMeasurable("no fingers found: this does not look like a PA hand radiograph")
    distal = major if ts[many].mean() > 0 else -major
    # Finger webs: the most proximal line that still crosses three or more fingers.
    tsd = ts if distal is major else -ts
    finger_line = float(np.min(tsd[many]))
    lateral = np.array([-distal[1], distal[0]])  # screen: fingers up -> lateral points right
    thumb = _thumb_side(mask, centre, distal, lateral, finger_line, min_run, half, mm)
    reach = float(np.max((xs - centre[0]) * distal[0] + (ys - centre[1]) * distal[1])) - finger_line
    return Hand(mask, distal, centre, thumb, lateral, finger_line, int(np.median(counts[many])), reach)


def _counts_with_fingers_touching(wk, mask, centre, major, minor, ts, half, min_run, need) -> np.ndarray:
    """Runs per line where the fingers' soft tissue touches (no air between them).

    Between two touching fingers the soft tissue is thinner than across either, so a threshold
    raised above the outline's separates them long before it splits the palm, whose soft tissue
    is twice as thick. The lowest raised threshold that shows the fingers wins; none: zeros.
    """
    img = ndimage.gaussian_filter(wk.image, 1.0)
    inside = img[mask]
    for q in (0.05, 0.1, 0.15, 0.2, 0.25, 0.3):
        raised = ndimage.binary_opening(mask & (img > np.quantile(inside, q)), iterations=1)
        lines, _ = _cross_lines(raised, centre, major, minor, ts, half)
        counts = np.array([len(_runs(row, min_run)) for row in lines])
        if (counts >= 3).sum() >= need:
            return counts
    return np.zeros(len(ts), int)


def _thumb_side(mask, centre, distal, lateral, finger_line, min_run, half, mm) -> int:
    """+1 when the thumb lies towards ``lateral``, -1 the other way."""
    # Lines across the palm below the webs: a run beside the widest (the palm) is the thumb.
    ts = finger_line - np.arange(4.0, 70.0, 2.0) / mm
    lines, offs = _cross_lines(mask, centre, distal, lateral, ts, half)
    votes = 0
    for row in lines:
        runs = _runs(row, min_run)
        if len(runs) < 2:
            continue
        widest = max(runs, key=lambda r: r[1] - r[0])
        votes += sum(1 if r[0] > widest[0] else -1 for r in runs if r is not widest)
    if votes:
        return 1 if votes > 0 else -1
    # The thumb lies against the palm: the index reaches further than the little finger.
    palm = _runs(lines[0], min_run)
    if not palm:
        return 1
    lo, hi = offs[palm[0][0]], offs[palm[-1][1] - 1]
    quarter = (hi - lo) / 4
    ys, xs = np.nonzero(mask)
    t_al = (xs - centre[0]) * distal[0] + (ys - centre[1]) * distal[1]
    t_lat = (xs - centre[0]) * lateral[0] + (ys - centre[1]) * lateral[1]
    left = t_al[(t_lat >= lo) & (t_lat <= lo + quarter)]
    right = t_al[(t_lat <= hi) & (t_lat >= hi - quarter)]
    if not left.size or not right.size:
        return 1
    return -1 if left.max() > right.max() else 1
