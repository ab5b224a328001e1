"""Cortical index of one metacarpal: its ends, the mid-shaft region, profiles, edges, checks.

Region: :data:`~ra_desktop.measure.definitions.MC_REGION` of the bone's length between its
ends, split into :data:`N_PROFILES` strips; each strip's mean profile across the shaft is one
profile (its own periosteal and endosteal edges, from fitting the projected tube). A first fit
of all strips together fixes the blur and the medulla's density; each strip then fits its own
centre, outer radius, medullary radius and offset.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage
from ra_desktop.measure.peaks import find_peaks  # scipy.signal is too big for the CPU installer

from ra_desktop.measure.definitions import MC_REGION
from ra_desktop.measure.outline import NotMeasurable
from ra_desktop.measure.profiles import across, normal, unit
from ra_desktop.measure.results import BoneResult, Check, ProfileEdges
from ra_desktop.measure.tube import fit_tubes

N_PROFILES = 16
STEP = 0.5  # px between samples along a profile
LENGTH_PER_WIDTH = 8.8  # a metacarpal's length / its mid-shaft width, typical adult


def spacing_pair(spacing_mm) -> tuple[float, float] | None:
    """(row, column) spacing from a number, a pair or None; None unless both are positive."""
    if spacing_mm is None:
        return None
    pair = (float(spacing_mm), float(spacing_mm)) if np.isscalar(spacing_mm) else tuple(map(float, spacing_mm))
    if len(pair) != 2 or not all(np.isfinite(v) and v > 0 for v in pair):
        return None
    return pair[0], pair[1]


def mm_per_px(spacing: tuple[float, float] | None, v: np.ndarray) -> float | None:
    """Millimetres per pixel step along the unit vector ``v`` (x, y)."""
    if spacing is None:
        return None
    return float(np.hypot(v[0] * spacing[1], v[1] * spacing[0]))


def start_values(x: np.ndarray, y: np.ndarray, R0: float) -> tuple[float, float, float] | None:
    """Centre, outer and medullary radius of the shaft nearest x = 0 from the profile's slopes.

    Periosteal edges: going out from the centre, the first strong rise on the left (at least
    half the steepest there) and the first strong fall on the right, so a neighbouring bone's
    edges further out are not taken; endosteal edges: the opposite slopes between them.
    """
    ys = ndimage.gaussian_filter1d(y, 1.5)
    g = np.gradient(ys, x)
    left = np.flatnonzero((x >= -2.4 * R0) & (x <= -0.25 * R0))[::-1]  # outwards
    right = np.flatnonzero((x >= 0.25 * R0) & (x <= 2.4 * R0))
    if not left.size or not right.size:
        return None
    iL, iR = _first_strong(g, left), _first_strong(-g, right)
    if iL is None or iR is None:
        return None
    c, R = (x[iL] + x[iR]) / 2, (x[iR] - x[iL]) / 2
    inL = (x > x[iL]) & (x < c)
    inR = (x > c) & (x < x[iR])
    if not inL.any() or not inR.any():
        return None
    jL = np.flatnonzero(inL)[np.argmin(g[inL])]
    jR = np.flatnonzero(inR)[np.argmax(g[inR])]
    ri = float(np.clip((x[jR] - x[jL]) / 2, 0.3 * R, 0.9 * R))
    return float(c), float(R), ri


def _first_strong(g: np.ndarray, idx: np.ndarray) -> int | None:
    """Along ``idx``, the first local maximum of ``g`` reaching half of its largest there."""
    v = g[idx]
    top = float(v.max())
    if top <= 0:
        return None
    for k in range(len(v)):
        left = v[k - 1] if k > 0 else -np.inf
        right = v[k + 1] if k + 1 < len(v) else -np.inf
        if v[k] >= 0.5 * top and v[k] >= left and v[k] >= right:
            return int(idx[k])
    return int(idx[int(np.argmax(v))])


def _window(x: np.ndarray, y: np.ndarray, c: float, R: float) -> tuple[float, float]:
    """Fit window around the shaft: 1.5 R either side, cut at the soft-tissue valley before a
    neighbouring bone."""
    ys = ndimage.gaussian_filter1d(y, 1.5)
    contrast = float(np.ptp(ys))
    bounds = []
    for side in (-1, 1):
        seg = np.flatnonzero((side * (x - c) >= R) & (side * (x - c) <= 2.4 * R))
        bound = c + side * 1.5 * R
        if seg.size:
            seg = seg if side > 0 else seg[::-1]
            k = int(np.argmin(ys[seg]))
            if ys[seg][k:].max() - ys[seg][k] > 0.1 * contrast:
                valley = x[seg][k]
                bound = valley if side * (valley - bound) < 0 else bound
        bounds.append(bound)
    return bounds[0], bounds[1]


def _invalid(bone, source, unit_name, ends, reason, checks=()) -> BoneResult:
    return BoneResult(bone=bone, valid=False, reason=reason, source=source, unit=unit_name,
                      ends=ends, checks=tuple(checks))


def _pt(p) -> tuple[float, float]:
    return round(float(p[0]), 2), round(float(p[1]), 2)


def measure_bone(image: np.ndarray, end_a, end_b, spacing_mm=None, *, bone: str = "MC",
                 source: str = "manual") -> BoneResult:
    """Measure W, M, T and MCI of a metacarpal between two points on its ends.

    Parameters
    ----------
    image : numpy.ndarray
        2-D grey values, bone brighter than soft tissue (see :func:`ra_desktop.measure.bone_bright`).
    end_a, end_b : (x, y)
        The bone's two ends in image pixels, in either order (the region is symmetric).
    spacing_mm : float or (row, column) or None
        Pixel spacing; without it lengths are in pixels (MCI needs none).
    bone : str
        Name carried into the result (``"MC2"``...).
    source : {"manual", "automatic"}

    Returns
    -------
    BoneResult
        Never raises for a bad image or bad points: an invalid result says why.
    """
    sp = spacing_pair(spacing_mm)
    unit_name = "mm" if sp else "px"
    a, b = np.asarray(end_a, float), np.asarray(end_b, float)
    ends = (_pt(a), _pt(b))
    u, L = unit(a, b)
    img = np.asarray(image)
    if img.ndim != 2 or not np.all(np.isfinite([*a, *b])):
        return _invalid(bone, source, unit_name, None, "needs a 2-D image and two points")
    if L < 40:
        return _invalid(bone, source, unit_name, ends, "the bone's ends are closer than 40 pixels")
    n = normal(u)
    u_ends = u
    along = np.arange(MC_REGION[0] * L, MC_REGION[1] * L, 1.0)
    R0 = L / LENGTH_PER_WIDTH / 2
    wide = np.arange(-2.4 * R0, 2.4 * R0 + 1e-9, STEP)
    groups = np.array_split(np.arange(len(along)), N_PROFILES)
    # The shaft's own centre line (clicked or found ends are rarely exactly on it): profiles
    # are taken square to it, and their mean is not smeared by a tilt.
    for _ in range(2):
        prof = across(img, a, u, wide, along)
        if np.isnan(prof).any():
            return _invalid(bone, source, unit_name, ends, "the measurement region runs off the image")
        centres = [start_values(wide, prof[g].mean(axis=0), R0) for g in groups]
        pos = [(along[g].mean(), sv[0]) for g, sv in zip(groups, centres) if sv is not None]
        if len(pos) < N_PROFILES // 2:
            break
        slope, icpt = np.polyfit(*np.array(pos).T, 1)
        if abs(slope) < 1e-3 and abs(icpt) < 0.5:
            break
        a, u = a + n * icpt, (u + n * slope) / np.hypot(1.0, slope)
        n = normal(u)
    mm_x = mm_per_px(sp, n)
    tilt = float(np.degrees(np.arccos(np.clip(u @ u_ends, -1.0, 1.0))))
    mean = prof.mean(axis=0)
    start = start_values(wide, mean, R0)
    if start is None:
        return _invalid(bone, source, unit_name, ends, "no shaft with two cortices between the ends")
    c, R, ri = start
    lo, hi = _window(wide, mean, c, R)
    cols = (wide >= lo) & (wide <= hi)
    x = wide[cols]
    if (hi - c) < 1.1 * R or (c - lo) < 1.1 * R or x.size < 20:
        return _invalid(bone, source, unit_name, ends, "a neighbouring bone lies against the shaft")
    starts = np.array([[c, R * fr, ri * fi, 0.0, 0.2, 1.0]
                       for fr, fi in ((1, 1), (1, 0.8), (1, 1.2), (0.92, 1), (1.08, 1))])
    fits = fit_tubes(x, np.repeat(mean[cols][None], len(starts), axis=0), starts)
    fits = [f for f in fits if f is not None and f.rising]
    if not fits:
        return _invalid(bone, source, unit_name, ends, "the profile across the shaft does not fit a tube")
    m = min(fits, key=lambda f: f.residual)
    Y = np.stack([prof[g][:, cols].mean(axis=0) for g in groups])
    strip = fit_tubes(x, Y, [m.x0, m.R, m.ri, m.e, m.rho, m.sigma], free=("x0", "R", "ri", "e"))
    s_k = np.array([along[g].mean() for g in groups])
    # A strip is usable when it fits about as well as the others and finds the same shaft.
    res = np.array([f.residual if f is not None else np.inf for f in strip])
    typical = float(np.median(res[np.isfinite(res)])) if np.isfinite(res).any() else 0.0
    ok = np.array([f is not None and f.rising and f.residual <= 2.0 * typical and abs(f.R / m.R - 1) <= 0.15
                   for f in strip])
    fs = [f for f, k in zip(strip, ok) if k]
    checks = [Check("profiles fitted", float(ok.mean()), ">= 75%", bool(ok.mean() >= 0.75))]
    if ok.sum() < 3:
        return _invalid(bone, source, unit_name, ends, "too few profiles across the shaft could be fitted", checks)
    x0 = np.array([f.x0 for f in fs])
    Rk = np.array([f.R for f in fs])
    rik = np.array([f.ri for f in fs])
    sk = s_k[ok]
    slope, icpt = np.polyfit(sk, x0, 1)
    cos = 1.0 / np.hypot(1.0, slope)  # profiles cross a tilted shaft obliquely
    Wk, Mk = 2 * Rk * cos, 2 * rik * cos
    W, M = float(Wk.mean()), float(Mk.mean())
    mci_k = (Wk - Mk) / Wk
    straight = float(np.std(x0 - (slope * sk + icpt)) / (W / 2))
    scale = mm_x or 1.0
    checks += [
        Check("fit residual (share of contrast)", round(m.residual, 4), "<= 0.03", m.residual <= 0.03),
        Check("outer width variation along the shaft", round(float(Wk.std() / W), 4), "<= 4%", Wk.std() / W <= 0.04),
        Check("medullary width variation along the shaft", round(float(Mk.std() / max(M, 1e-9)), 4), "<= 12%",
              Mk.std() / max(M, 1e-9) <= 0.12),
        Check("shaft centre off its line (share of half-width)", round(straight, 4), "<= 6%", straight <= 0.06),
        Check("shaft axis against the line between the ends (degrees)",
              round(tilt + float(np.degrees(np.arctan(abs(slope)))), 2), "<= 8",
              tilt + np.degrees(np.arctan(abs(slope))) <= 8.0),
        Check("cortical index", round((W - M) / W, 4), "0.15-0.80", 0.15 <= (W - M) / W <= 0.80),
        Check("medulla visible (density relative to cortex)", round(m.rho, 3), "<= 0.75", m.rho <= 0.75),
        Check("medullary cavity centred (offset / cortex)", round(abs(m.e) / max(m.R - m.ri, 1e-9), 3), "<= 0.5",
              abs(m.e) <= 0.5 * (m.R - m.ri)),
        Check("blur (share of half-width)", round(m.sigma / m.R, 4), "<= 0.25", m.sigma <= 0.25 * m.R),
    ]
    if sp:
        length_mm = L * (mm_per_px(sp, u) or 1.0)
        checks += [
            Check("outer width (mm)", round(W * scale, 3), "4-14", 4.0 <= W * scale <= 14.0),
            Check("cortical thickness (mm)", round((W - M) / 2 * scale, 3), "0.4-4", 0.4 <= (W - M) / 2 * scale <= 4.0),
            Check("bone length (mm, adult 35-100)", round(length_mm, 1), "35-100", 35.0 <= length_mm <= 100.0),
        ]
    else:
        checks.append(Check("bone length / outer width", round(L / W, 2), "6-12", 6.0 <= L / W <= 12.0))
    edges = []
    for f, s in zip(fs, sk):
        cc = a + u * s
        edges.append(ProfileEdges(
            centre=_pt(cc + n * f.x0),
            outer=(_pt(cc + n * (f.x0 - f.R)), _pt(cc + n * (f.x0 + f.R))),
            inner=(_pt(cc + n * (f.x0 + f.e - f.ri)), _pt(cc + n * (f.x0 + f.e + f.ri)))))
    region = (_pt(a + u * along[0]), _pt(a + u * along[-1]))
    failed = [c for c in checks if not c.passed]
    if failed:
        f = failed[0]
        return BoneResult(bone=bone, valid=False, reason=f"{f.name} is {f.value} (accepted {f.accepted})",
                          source=source, unit=unit_name, ends=ends, region=region, n_profiles=len(fs),
                          edges=tuple(edges), checks=tuple(checks), blur_px=round(m.sigma, 3))
    Tk = (Wk - Mk) / 2
    return BoneResult(
        bone=bone, valid=True, reason=None, source=source, unit=unit_name, ends=ends, region=region,
        W=round(W * scale, 4), M=round(M * scale, 4), T=round((W - M) / 2 * scale, 4), MCI=round((W - M) / W, 5),
        spread={"W": round(float(Wk.std() * scale), 4), "M": round(float(Mk.std() * scale), 4),
                "T": round(float(Tk.std() * scale), 4), "MCI": round(float(mci_k.std()), 5)},
        n_profiles=len(fs), edges=tuple(edges), checks=tuple(checks), blur_px=round(m.sigma, 3))


def band_mean(samples: np.ndarray) -> np.ndarray:
    """Mean of each row over its finite samples (NaN where none is)."""
    good = np.isfinite(samples)
    total = np.where(good, samples, 0.0).sum(axis=1)
    count = good.sum(axis=1)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def find_ends(image: np.ndarray, point, distal, half_width: float, length: float | None = None,
              head_window: tuple[float, float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Base and head ends of the shaft through ``point`` running towards ``distal``.

    Along the axis (a band of +-0.4 of the width, averaged), a bone's end is where the grey
    value falls going outwards: into a joint space, or off an overlap with the next bone. Of
    the strongest falls on either side, the pair scoring best is taken, the score favouring a
    length near :data:`LENGTH_PER_WIDTH` widths, or near ``length`` (px) when given (the other
    metacarpals' length: a second try for a bone whose first ends were off). ``head_window``:
    where along the axis (px from ``point``) the head may end (from the finger webs).
    """
    W = 2.0 * half_width
    Lg = length if length else LENGTH_PER_WIDTH * W
    lo, hi = (0.88 * Lg, 1.14 * Lg) if length else (6.0 * W, 12.0 * W)
    s = np.arange(-1.0 * Lg, 1.0 * Lg, 0.5)
    f = band_mean(across(image, point, distal, np.linspace(-0.4 * W, 0.4 * W, 9), s))
    good = np.isfinite(f)
    if good.sum() < 0.8 * f.size:
        raise NotMeasurable("the bone runs off the image")
    f = np.interp(s, s[good], f[good])
    f = ndimage.gaussian_filter1d(f, max(2.0, 0.05 * W))  # ~0.2 mm (samples are 0.5 px): a narrow joint space stays
    g = np.gradient(f, s)
    head, _ = find_peaks(-g)
    head = head[s[head] > 0.1 * Lg]
    if head_window is not None:
        head = head[(s[head] >= head_window[0]) & (s[head] <= head_window[1])]
    base, _ = find_peaks(g)
    base = base[s[base] < -0.1 * Lg]
    if not head.size or not base.size:
        raise NotMeasurable("the bone's ends were not found")
    head = head[np.argsort(g[head])][:8]
    base = base[np.argsort(-g[base])][:8]
    mh, mb = -g[head].min(), g[base].max()
    best = None
    for i in head:
        for j in base:
            span = s[i] - s[j]
            if not lo <= span <= hi:
                continue
            score = -g[i] / mh + g[j] / mb - 2.0 * abs(np.log(span / Lg))
            if best is None or score > best[0]:
                best = (score, s[i], s[j])
    if best is None:
        raise NotMeasurable("no pair of bone ends at a plausible distance")
    p, d = np.asarray(point, float), np.asarray(distal, float)
    return p + d * best[2], p + d * best[1]
