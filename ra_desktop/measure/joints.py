"""Joint space width: from the proximal bone's cortical edge to the distal bone's, along the finger.

Lines run along the finger's axis (the distal bone's, found from its shaft) across the joint,
offset sideways over the central part of the joint
(:data:`~ra_desktop.measure.definitions.JSW_CENTRAL` of the head's half-width). On each line
the two bone ends are fitted as projected bone ends (the same path-length model as a shaft's
profile, one end from either side, blurred, under an unknown monotone grey scale); the width is
the distance between the two fitted surfaces. Bones that overlap on the projection give a
negative width: no joint space is visible there, and the joint is reported as such.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from ra_desktop.measure.definitions import JSW_CENTRAL
from ra_desktop.measure.metacarpal import band_mean, mm_per_px, spacing_pair, start_values
from ra_desktop.measure.profiles import across, normal, sample, unit
from ra_desktop.measure.results import Check, JointResult
from ra_desktop.measure.tube import _design, _project, chord_profiles, levenberg_marquardt, normalise_rows

N_LINES = 9
#: Lines of an MCP's nine that may lie off the smooth curve of the others (noise on one line, an
#: erosion's edge). None at a PIP: there a wrongly placed joint (on the DIP, on a neighbouring
#: finger) is often caught only by its widths' scatter, and one line left out let such joints pass.
OUTLIERS = {"MCP": 1}
#: A line left out must be this many times farther off the others' parabola than any kept line.
APART = 2.0
STEP = 0.25  # px between samples along a line
#: The second look for the bone beyond a joint, in head half-widths either side (the first: 1.4).
RETRY_REACH = 0.9
#: Between two bone ends a joint space is darker than either; where the bones overlap on the
#: projection, the band fitted as a "space" is their double layer or one's edge. On 160 development
#: phantoms (seed 561000) every joint measured right had at least 0.21 of the line's range, the
#: three given a width where the bones overlap 0.03-0.14.
MIN_DIP = 0.15
WINDOW = 0.12  # the fit reaches this share of the head half-width into either bone
_STEPS = np.array([0.01, 0.01, 0.002, 1e-3, 2e-3])  # xa, xb, cortex, rho, sigma


def _pt(p) -> tuple[float, float]:
    return round(float(p[0]), 2), round(float(p[1]), 2)


def _rotate(u: np.ndarray, deg: float) -> np.ndarray:
    a = np.radians(deg)
    return np.array([u[0] * np.cos(a) - u[1] * np.sin(a), u[0] * np.sin(a) + u[1] * np.cos(a)])


def phalanx_axis(image, centre, distal, h: float, reach: float = 1.4):
    """Axis of the bone beyond a joint: (unit vector, point on it), or None.

    Tracked from the joint: step along the current direction, find the bone's centre on a
    profile across it (``reach`` head half-widths either side of the track; the bone nearest
    the track, so a neighbouring finger is never taken), and steer towards it; the line through
    the centres on the shaft is the axis.
    """
    c = np.asarray(centre, float)
    u = np.asarray(distal, float) / np.hypot(*distal)
    x = np.arange(-reach * h, reach * h, 0.5)
    along = np.linspace(-0.1 * h, 0.1 * h, 3)
    pos, pts = c, []
    for _ in range(7):
        pos = pos + u * 0.45 * h
        prof = across(image, pos, u, x, along).mean(axis=0)
        if np.isnan(prof).any():
            break
        sv = start_values(x, prof, 0.55 * h)
        if sv is None:
            break
        pos = pos + normal(u) * sv[0]
        pts.append(pos)
        if len(pts) >= 3:
            fit = np.asarray(pts[1:])
            d = fit[-1] - fit[0]
            if np.hypot(*d) > 0:
                u = d / np.hypot(*d)
    if len(pts) < 3:
        return None
    return u, np.asarray(pts[1])


def _gap_starts(x: np.ndarray, prof: np.ndarray, h: float):
    """Start values for the two bone surfaces on one line: around the darkest point near 0."""
    ys = ndimage.gaussian_filter1d(prof, 4.0)
    g = np.gradient(ys, x)
    near = np.abs(x) <= 0.5 * h
    if not near.any():
        return None
    k = np.flatnonzero(near)[np.argmin(ys[near])]
    before = (x < x[k]) & (x >= x[k] - 0.35 * h)
    after = (x > x[k]) & (x <= x[k] + 0.35 * h)
    if not before.any() or not after.any():
        return None
    xa = x[np.flatnonzero(before)[np.argmin(g[before])]]
    xb = x[np.flatnonzero(after)[np.argmax(g[after])]]
    return float(xa), float(xb)


def _gap_dip(x: np.ndarray, Y: np.ndarray, surfaces: np.ndarray) -> float:
    """How much darker the space between the fitted surfaces is than the bone just beyond either,
    as a share of each line's range (median over the lines). A joint space is darker than both
    bone ends; where the bones overlap on the projection, the "space" found is the brighter
    double layer of bone, or the edge of one, and this is small or negative."""
    dips = []
    for row, (a, b) in zip(Y, surfaces):
        width = max(b - a, 2 * (x[1] - x[0]))
        mid = (a + b) / 2
        gap = row[np.abs(x - mid) <= max(width / 2, x[1] - x[0])]
        before = row[(x < a) & (x >= a - width)]
        after = row[(x > b) & (x <= b + width)]
        if not gap.size or not before.size or not after.size:
            continue
        dips.append((min(before.mean(), after.mean()) - gap.mean()) / max(float(np.ptp(row)), 1e-9))
    return float(np.median(dips)) if dips else 0.0


def _fit_lines(x: np.ndarray, Y: np.ndarray, starts: np.ndarray, h: float, free: list[int]):
    """Fit both surfaces on each line: rows of (xa, xb, cortex, rho, sigma), relative
    residuals, and whether each fit is usable. Columns not in ``free`` stay as started."""
    Yn, scale, good = normalise_rows(Y)
    lb = np.array([x[0], x[0], 0.02 * h, 0.0, 0.15])
    ub = np.array([x[-1], x[-1], 0.4 * h, 0.95, 6.0])
    P = np.clip(starts, lb, ub)

    def chords(Pm):
        xa, xb, cx, rho, sig = (Pm[:, k] for k in range(5))
        z = np.zeros_like(xa)
        both = chord_profiles(x, np.concatenate([np.stack([xa - h, z + h, h - cx, z, rho, sig], axis=1),
                                                 np.stack([xb + h, z + h, h - cx, z, rho, sig], axis=1)]))
        return both[: len(xa)] + both[len(xa):]

    def residuals(Pm):
        return _project(_design(x, chords(Pm)), Yn)[1]

    P = levenberg_marquardt(residuals, P, free, lb, ub, _STEPS)
    g = chords(P)
    coef, res = _project(_design(x, g), Yn)
    contrast = np.ptp(res + Yn, axis=1)
    rel = np.sqrt(np.mean(res ** 2, axis=1)) / np.maximum(contrast, 1e-9)
    slope = coef[:, 2:3] + 2 * coef[:, 3:4] * g
    rising = np.all((slope > 0) | (g > 0.3 * g.max(axis=1, keepdims=True)), axis=1)
    return P, rel, rising & good


def _smooth_subset(offsets, widths, ok, limit, outliers):
    """Lines to keep (mask) and their largest distance from a parabola through them.

    The set with the fewest lines left out (at most ``outliers``, at least 7 kept) that lies within
    ``limit`` of its parabola, each line left out at least ``APART`` times farther off that parabola
    than any kept line; the lowest such distance among sets of that size. Without one, all fitted
    lines and their own distance (the check then fails).
    """
    from itertools import combinations

    idx = np.flatnonzero(ok)

    def rough_of(sel):
        o, w = offsets[sel], widths[sel]
        return float(np.max(np.abs(w - np.polyval(np.polyfit(o, w, 2), o))))

    full = rough_of(idx)
    if full <= limit:
        return ok.copy(), full
    for drop in range(1, outliers + 1):
        if len(idx) - drop < 7:
            break
        best = None
        for out in combinations(range(len(idx)), drop):
            sel = np.delete(idx, out)
            coef = np.polyfit(offsets[sel], widths[sel], 2)
            r = float(np.max(np.abs(widths[sel] - np.polyval(coef, offsets[sel]))))
            # A clear outlier only: at least twice as far off the curve as any kept line (else the
            # widths are just scattered, as on a joint placed on the wrong bones).
            apart = float(np.min(np.abs(widths[idx[list(out)]] - np.polyval(coef, offsets[idx[list(out)]]))))
            if r <= limit and apart >= APART * r and (best is None or r < best[1]):
                best = (sel, r)
        if best is not None:
            keep = np.zeros_like(ok)
            keep[best[0]] = True
            return keep, best[1]
    return ok.copy(), full


def measure_joint(image: np.ndarray, centre, spacing_mm=None, *, toward=None, axis=None,
                  joint: str = "joint", source: str = "manual", head_half_width: float | None = None,
                  sigma: float | None = None) -> JointResult:
    """Joint space width at a joint (minimum and mean over its central part).

    Parameters
    ----------
    image : numpy.ndarray
        2-D grey values, bone bright.
    centre : (x, y)
        The joint (a click or marker near the middle of the joint space).
    spacing_mm : float or (row, column) or None
        Without it, widths are in pixels.
    toward : (x, y), optional
        A point on the finger beyond the joint (the second click; e.g. the next joint).
    axis : (x, y), optional
        Unit vector towards the fingertip, instead of ``toward``.
    joint, source : str
        Carried into the result.
    head_half_width : float, optional
        The proximal bone's head half-width in pixels, when known.
    sigma : float, optional
        The image's blur in pixels (from a shaft's fit), when known.

    Returns
    -------
    JointResult
        Never raises for a bad image or bad points: an invalid result says why.
    """
    sp = spacing_pair(spacing_mm)
    unit_name = "mm" if sp else "px"
    c = np.asarray(centre, float)
    given = _pt(toward) if toward is not None and np.all(np.isfinite(np.asarray(toward, float))) else None

    def invalid(reason, checks=(), **kw):
        return JointResult(joint=joint, valid=False, reason=reason, source=source, unit=unit_name,
                           centre=_pt(c), checks=tuple(checks), toward=given,
                           **kw)

    img = np.asarray(image)
    if img.ndim != 2 or not np.all(np.isfinite(c)):
        return invalid("needs a 2-D image and a point")
    if axis is not None:
        u0, _ = unit((0, 0), axis)
    elif toward is not None:
        u0, dist = unit(c, toward)
        if dist < 5:
            return invalid("the point on the finger is too close to the joint")
    else:
        return invalid("needs the finger's direction (a point on the finger beyond the joint)")
    if head_half_width is None:
        guess = 6.0 / (sp[0] if sp else 0.12)
        x = np.arange(-2.4 * guess, 2.4 * guess, 0.5)
        prof = across(img, c - u0 * 0.5 * guess, u0, x, np.array([-1.0, 0.0, 1.0])).mean(axis=0)
        sv = None if np.isnan(prof).any() else start_values(x, prof, guess)
        if sv is None:
            return invalid("no bone end found before the joint")
        head_half_width = sv[1]
    h = float(head_half_width)
    found = phalanx_axis(img, c, u0, h)
    if found is None:
        return invalid("the bone beyond the joint runs off the image")
    u, _ = found
    turn = float(np.degrees(np.arccos(np.clip(u @ u0, -1.0, 1.0))))
    limit = 20.0 if joint.startswith(("PIP", "DIP", "IP")) else 35.0  # MCPs deviate in RA, PIPs little
    if turn > limit and joint.startswith("PIP"):
        # The track may have stepped onto a neighbouring finger: once more, looking less far sideways,
        # kept only if it then follows the finger closely (half the turn allowed). Not at an MCP: on
        # the bench it gave widths to two joints whose bones overlap.
        again = phalanx_axis(img, c, u0, h, reach=RETRY_REACH)
        if again is not None:
            turn2 = float(np.degrees(np.arccos(np.clip(again[0] @ u0, -1.0, 1.0))))
            if turn2 <= 0.5 * limit:
                u, turn = again[0], turn2
    if turn > limit:
        return invalid(f"the finger's axis turns {turn:.0f} degrees at the joint (accepted {limit:.0f}): "
                       "the bone beyond it was not followed", axis=_pt(u))
    n = normal(u)
    # The lines are centred on the proximal bone's head.
    x = np.arange(-1.5 * h, 1.5 * h, 0.5)
    prof = across(img, c - u * 0.4 * h, u, x, np.array([-1.0, 0.0, 1.0])).mean(axis=0)
    sv = None if np.isnan(prof).any() else start_values(x, prof, h)
    lat = sv[0] if sv is not None else 0.0
    if sv is not None:
        h = float(np.clip(sv[1], 0.6 * h, 1.4 * h))
    offsets = lat + np.linspace(-JSW_CENTRAL * h, JSW_CENTRAL * h, N_LINES)
    t = np.arange(-0.9 * h, 0.9 * h, STEP)
    # Each line is the mean of five parallel ones a tenth of the line spacing apart (less noise).
    sub = np.linspace(-0.25, 0.25, 5) * (offsets[1] - offsets[0])
    lat_all = offsets[:, None] + sub[None, :]
    P = (np.asarray(c)[None, None, None, :] + t[None, None, :, None] * u
         + lat_all[:, :, None, None] * n)
    Y = sample(img, P[..., 0], P[..., 1]).mean(axis=1)
    if np.isnan(Y).any():
        return invalid("the joint runs off the image")
    starts = []
    mean_start = _gap_starts(t, Y.mean(axis=0), h)
    if mean_start is None:
        return invalid("no joint space found between two bone ends")
    for row in Y:
        s = _gap_starts(t, row, h) or mean_start
        if abs(s[0] - mean_start[0]) > 0.15 * h or abs(s[1] - mean_start[1]) > 0.15 * h:
            s = mean_start
        starts.append([s[0], s[1], 0.08 * h, 0.35, sigma if sigma else 1.0])
    starts = np.array(starts)
    lo, hi = mean_start[0] - WINDOW * h, mean_start[1] + WINDOW * h
    cols = (t >= lo) & (t <= hi)
    # The bones' cortex, density and the blur from the mean of the lines; then each line's surfaces.
    shared, _, _ = _fit_lines(t[cols], Y[:, cols].mean(axis=0)[None], starts[N_LINES // 2][None], h,
                              [0, 1, 2, 3] if sigma else [0, 1, 2, 3, 4])
    starts[:, 2:] = shared[0, 2:]
    fitted, rel, ok = _fit_lines(t[cols], Y[:, cols], starts, h, [0, 1])
    mm_u = mm_per_px(sp, u)
    scale = mm_u or 1.0
    widths = (fitted[:, 1] - fitted[:, 0]) * scale
    ok &= rel <= 0.1
    checks = [Check("lines fitted", round(float(ok.mean()), 3), ">= 7 of 9", bool(ok.sum() >= 7))]
    lines = tuple((_pt(c + u * fa + n * o), _pt(c + u * fb + n * o))
                  for (fa, fb), o, k in zip(fitted[:, :2], offsets, ok) if k)
    if ok.sum() < 7:
        return invalid("the joint's surfaces could not be fitted on enough lines", checks, axis=_pt(u), lines=lines)
    # Across the central part the width changes smoothly (curved surfaces): a parabola fits it,
    # and its lowest point over the lines is the minimum (the raw minimum of noisy lines is low).
    # At an MCP one line may be clearly off it (one line's surface fitted off the bone: noise at 8
    # bits, an erosion's edge): the largest set of lines, at most OUTLIERS left out and never under
    # 7, whose widths lie on a parabola with the left-out line far from it is kept (the others are
    # not drawn); without one, the joint is rejected as inconsistent.
    limit = 0.2 if sp else 1.5
    keep, rough = _smooth_subset(offsets, widths, ok, limit, OUTLIERS.get(joint[:3], 0))
    if keep.sum() < ok.sum():
        ok = keep
        lines = tuple((_pt(c + u * fa + n * o), _pt(c + u * fb + n * o))
                      for (fa, fb), o, k in zip(fitted[:, :2], offsets, ok) if k)
    w = widths[ok]
    o = offsets[ok]
    dip = _gap_dip(t[cols], Y[:, cols][ok], fitted[ok, :2])
    para = np.polyval(np.polyfit(o, w, 2), np.linspace(o.min(), o.max(), 41))
    lowest = float(para.min())
    upper = 4.0 if sp else 0.6 * h
    checks += [
        Check("fit residual (share of contrast)", round(float(np.median(rel[ok])), 4), "<= 0.06",
              bool(np.median(rel[ok]) <= 0.06)),
        Check("joint space visible (minimum width)", round(lowest, 4), "> 0", bool(lowest > 0 and w.min() > 0)),
        Check("widths consistent across the joint", round(rough, 4), f"<= {limit:g} {unit_name}", rough <= limit),
        Check("mean width plausible", round(float(w.mean()), 4), f"<= {upper:g} {unit_name}", bool(w.mean() <= upper)),
        Check("joint space darker than both bone ends", round(dip, 4), f">= {MIN_DIP:g} of the range", dip >= MIN_DIP),
    ]
    failed = [k for k in checks if not k.passed]
    if failed:
        no_space = failed[0].name.startswith(("joint space visible", "joint space darker"))
        reason = ("no joint space visible: the bones touch or overlap on the image (complete narrowing, "
                  "ankylosis or subluxation)" if no_space
                  else f"{failed[0].name} is {failed[0].value} (accepted {failed[0].accepted})")
        return invalid(reason, checks, axis=_pt(u), lines=lines)
    return JointResult(joint=joint, valid=True, reason=None, source=source, unit=unit_name, centre=_pt(c),
                       axis=(round(float(u[0]), 5), round(float(u[1]), 5)),
                       minimum=round(lowest, 4), mean=round(float(w.mean()), 4), lines=lines,
                       checks=tuple(checks), toward=given)
