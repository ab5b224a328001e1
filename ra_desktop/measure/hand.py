"""Everything measurable on one hand radiograph, without clicks: the cortical index of MC2-4 and
the joint space widths of MCP2-5 and PIP2-5, each validated; whatever fails says why.

Order: the hand's outline and orientation (:mod:`.outline`), the metacarpals' rough axes
(:mod:`.locate`), each metacarpal's ends along its axis and its mid-shaft measurement
(:mod:`.metacarpal`), then the metacarpals checked against each other; the MCP joints just
beyond the metacarpal heads and the PIP joints at the end of the proximal phalanges
(:mod:`.joints`), or wherever the caller's joint markers put them.
"""
from __future__ import annotations

import time

import numpy as np
from scipy import ndimage
from ra_desktop.measure.peaks import find_peaks  # scipy.signal is too big for the CPU installer

from ra_desktop.io import Radiograph
from ra_desktop.measure.definitions import MCI_BONES
from ra_desktop.measure.joints import measure_joint, phalanx_axis
from ra_desktop.measure.locate import RoughAxis, rough_metacarpals
from ra_desktop.measure.metacarpal import (LENGTH_PER_WIDTH, band_mean, find_ends, measure_bone, spacing_pair,
                                           start_values)
from ra_desktop.measure.outline import WORK_MM, NotMeasurable, locate_hand, working_image
from ra_desktop.measure.profiles import across, normal, unit
from ra_desktop.measure.results import BoneResult, Check, HandResult, JointResult

_SHAFT_HALF_MM = 3.8  # a typical adult metacarpal's mid-shaft half-width (start value only)
# Metacarpal lengths relative to MC3's (adult hands: MC2 the longest, MC5 the shortest).
_RELATIVE_LENGTH = {"MC2": 1.05, "MC3": 1.0, "MC4": 0.88, "MC5": 0.81}
# Where the PIP lies beyond the MCP, as a share of the ray's metacarpal length (proximal phalanx
# / metacarpal, end to end); the DIP lies at 0.8 or more.
_PIP_AT = {2: 0.55, 3: 0.62, 4: 0.64, 5: 0.56}


def bone_bright(image) -> tuple[np.ndarray, tuple[float, float] | None]:
    """Grey values with bone bright (MONOCHROME1 inverted) and the spacing, from a Radiograph
    or an array (then bone is taken to be bright and the spacing unknown)."""
    if isinstance(image, Radiograph):
        px = np.asarray(image.pixels, np.float32)
        if px.ndim != 2:
            raise NotMeasurable("not a single greyscale image")
        if image.inverted:
            px = np.float32(np.nanmax(px)) - px
        return px, spacing_pair(image.pixel_spacing_mm)
    px = np.asarray(image, np.float32)
    if px.ndim != 2:
        raise NotMeasurable("not a single greyscale image")
    return px, None


def _shaft(img, rough: RoughAxis, px_mm: float):
    """Half-width (px), a point on the centre line and the direction of the shaft near the rough
    axis: the centres of profiles across it, 4 half-widths either side, straighten the axis."""
    R0 = _SHAFT_HALF_MM / px_mm
    x = np.arange(-2.4 * R0, 2.4 * R0, 0.5)
    prof = across(img, rough.point, rough.distal, x, np.linspace(-2 * R0, 2 * R0, 9)).mean(axis=0)
    sv = None if np.isnan(prof).any() else start_values(x, prof, R0)
    if sv is None:
        raise NotMeasurable("no shaft with two cortices where the metacarpal should be")
    half, point, d = sv[1], rough.point + normal(rough.distal) * sv[0], rough.distal
    x = np.arange(-2.4 * half, 2.4 * half, 0.5)
    pos, cen, halves = [], [], []
    for s in np.linspace(-4.0 * half, 4.0 * half, 7):
        prof = across(img, point + d * s, d, x, np.linspace(-0.4 * half, 0.4 * half, 5)).mean(axis=0)
        sv = None if np.isnan(prof).any() else start_values(x, prof, half)
        if sv is not None:
            pos.append(s)
            cen.append(sv[0])
            halves.append(sv[1])
    if len(pos) >= 4:
        keep = np.abs(np.asarray(halves) / np.median(halves) - 1) < 0.25
        half = float(np.median(np.asarray(halves)[keep]))
        if keep.sum() >= 4:
            slope, icpt = np.polyfit(np.asarray(pos)[keep], np.asarray(cen)[keep], 1)
            point = point + normal(d) * icpt
            d = d + normal(d) * slope
            d = d / np.hypot(*d)
    return half, point, d


def _typical_length(lengths: dict[str, float], shafts: dict, sp_mean: float | None) -> float:
    """MC3's length (px) the found metacarpals agree on: the value most of them match within 12%
    (scaled by their relative lengths); a tie goes to the one nearest the expectation (70 mm
    with a spacing, else 8.8 shaft widths)."""
    norm = {k: v / _RELATIVE_LENGTH[k] for k, v in lengths.items()}
    if sp_mean:
        expected = 70.0 / sp_mean
    else:
        expected = LENGTH_PER_WIDTH * 2.0 * float(np.median([s[2] for s in shafts.values()]))

    def support(v: float) -> tuple[int, float]:
        agree = [w for w in norm.values() if abs(w / v - 1) <= 0.12]
        return len(agree), -abs(np.log(v / expected))

    plausible = [v for v in norm.values() if 0.7 <= v / expected <= 1.4] if sp_mean else list(norm.values())
    best = max(plausible or list(norm.values()), key=support)
    return float(np.median([w for w in norm.values() if abs(w / best - 1) <= 0.12]))


def _head_window(point: np.ndarray, distal: np.ndarray, hand, wk) -> tuple[float, float]:
    """Where a metacarpal's head may end along its axis (px from ``point``): from 35 mm before
    to 15 mm beyond the finger webs of the hand's outline."""
    mm = wk.mm_per_px or WORK_MM
    t_point = float((wk.from_full(point) - hand.centre) @ hand.distal)
    per_px = float(np.asarray(distal) @ hand.distal) / wk.factor  # working px along distal per full px
    per_px = per_px if abs(per_px) > 1e-6 else 1e-6
    return ((hand.finger_line - 35.0 / mm - t_point) / per_px, (hand.finger_line + 15.0 / mm - t_point) / per_px)


def _cross_checks(bones: dict[str, BoneResult], lengths: dict[str, float]) -> dict[str, BoneResult]:
    """Metacarpals against each other: similar cortical indices and widths, MC2 longer than MC5."""
    out = dict(bones)
    if "MC2" in lengths and "MC5" in lengths and lengths["MC2"] < lengths["MC5"]:
        for k, b in out.items():
            if b.valid:
                out[k] = _reject(b, "the index and little-finger metacarpals could not be told apart "
                                    "(MC2 shorter than MC5)")
        return out
    valid = {k: b for k, b in out.items() if b.valid}
    if len(valid) == 1:  # two of three failing casts doubt on which bones were found
        k, b = next(iter(valid.items()))
        out[k] = _reject(b, "the other metacarpals failed their checks, so this bone's identity is uncertain")
    if len(valid) >= 3:
        mci = np.median([b.MCI for b in valid.values()])
        w = np.median([b.W for b in valid.values()])
        for k, b in valid.items():
            if abs(b.MCI - mci) > 0.15:
                out[k] = _reject(b, f"its cortical index differs from the other metacarpals' by {abs(b.MCI - mci):.2f}"
                                    " (accepted 0.15)")
            elif not 0.7 <= b.W / w <= 1.4:
                out[k] = _reject(b, f"its width is {b.W / w:.2f} times the other metacarpals' (accepted 0.7-1.4)")
    return out


def _reject(b: BoneResult, reason: str) -> BoneResult:
    checks = (*b.checks, Check("consistent with the other metacarpals", None, "yes", False))
    return BoneResult(bone=b.bone, valid=False, reason=reason, source=b.source, unit=b.unit, ends=b.ends,
                      region=b.region, n_profiles=b.n_profiles, edges=b.edges, checks=checks, blur_px=b.blur_px)


def _follow_to_pip(img, mcp: np.ndarray, u_pp: np.ndarray, mc_length: float, h: float, ray: int):
    """The PIP joint along the proximal phalanx: a fall of grey value (the head's end) near the
    phalanx's expected length (a share of the metacarpal's, :data:`_PIP_AT`); the DIP lies
    beyond 0.8 of it."""
    at = _PIP_AT[ray]
    s = np.arange((at - 0.12) * mc_length, (at + 0.12) * mc_length, 0.5)
    f = band_mean(across(img, mcp, u_pp, np.linspace(-0.25 * h, 0.25 * h, 5), s))
    if np.isnan(f).mean() > 0.2:
        return None
    good = np.isfinite(f)
    f = ndimage.gaussian_filter1d(np.interp(s, s[good], f[good]), 2.0)
    g = np.gradient(f, s)
    falls, _ = find_peaks(-g)
    if not falls.size:
        return None
    score = -g[falls] / max(float(-g[falls].min()), 1e-12) - 2.0 * np.abs(s[falls] / mc_length - at)
    k = falls[int(np.argmax(score))]
    return mcp + u_pp * (s[k] + 0.1 * h)


def _no_joint(name: str, unit_name: str, reason: str) -> JointResult:
    return JointResult(joint=name, valid=False, reason=reason, source="automatic", unit=unit_name)


def measure_hand(image, spacing_mm=None, joints: dict[str, tuple[float, float]] | None = None) -> HandResult:
    """Measure a PA hand radiograph automatically.

    Parameters
    ----------
    image : Radiograph or numpy.ndarray
        A loaded radiograph (polarity and spacing taken from it) or a 2-D array, bone bright.
    spacing_mm : float or (row, column), optional
        Overrides the image's spacing (or gives one to an array).
    joints : dict, optional
        Joint positions from the caller, site -> (x, y) image pixels (e.g. ``{"MCP2": (812, 790)}``,
        the scoring worksheet's markers); the others are found automatically.

    Returns
    -------
    HandResult
        Never raises for an unsuitable image: ``measurable`` False and a reason instead.
    """
    t0 = time.perf_counter()
    try:
        img, sp = bone_bright(image)
    except NotMeasurable as exc:
        return HandResult(measurable=False, reason=exc.reason, unit="px", spacing_mm=None,
                          needs_manual=MCI_BONES, seconds=round(time.perf_counter() - t0, 3))
    if spacing_mm is not None:
        sp = spacing_pair(spacing_mm)
    unit_name = "mm" if sp else "px"
    sp_mean = float(np.mean(sp)) if sp else None
    markers = {k: np.asarray(v, float) for k, v in (joints or {}).items()}

    def done(**kw) -> HandResult:
        return HandResult(unit=unit_name, spacing_mm=sp_mean, seconds=round(time.perf_counter() - t0, 3), **kw)

    try:
        wk = working_image(img, sp_mean)
        hand = locate_hand(wk)
    except NotMeasurable as exc:
        return done(measurable=False, reason=exc.reason, needs_manual=MCI_BONES)
    notes = []
    if wk.inverted:
        img = np.float32(np.nanmax(img)) - img
        notes.append("the image's grey scale looked inverted (bone dark, air bright): measured inverted")
    if sp_mean and hand.finger_reach * wk.mm_per_px < 55.0:
        return done(measurable=False, needs_manual=MCI_BONES, notes=tuple(notes),
                    reason=f"the fingers reach {hand.finger_reach * wk.mm_per_px:.0f} mm beyond the webs, less than "
                           "an adult's (55 mm or more): a child's hand, a wrong pixel spacing, or fingers cut off")
    px_mm = sp_mean or WORK_MM / wk.factor
    bones: dict[str, BoneResult] = {}
    axes: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    shafts: dict[str, tuple[np.ndarray, np.ndarray, float]] = {}
    try:
        rough = rough_metacarpals(wk, hand)
    except NotMeasurable as exc:
        if not markers:
            return done(measurable=False, reason=exc.reason, needs_manual=MCI_BONES)
        rough = []
    for r in rough:
        try:
            half, point, distal = _shaft(img, r, px_mm)
            window = _head_window(point, distal, hand, wk)
            base, head = find_ends(img, point, distal, half, head_window=window)
            # Again from the middle of the bone found: the search is even on both sides.
            point = point + distal * float((0.5 * (base + head) - point) @ distal)
        except NotMeasurable as exc:
            if r.name in MCI_BONES:
                bones[r.name] = BoneResult(bone=r.name, valid=False, reason=exc.reason, source="automatic",
                                           unit=unit_name)
            continue
        axes[r.name] = (base, head, half)
        shafts[r.name] = (point, distal, half)
    # The four metacarpals are of similar length: ends far off the others' found the wrong edges;
    # such a bone gets a second search for ends at about the others' length.
    lengths = {k: float(np.hypot(*(v[1] - v[0]))) for k, v in axes.items()}
    typical = None
    if len(lengths) >= 3:
        # Every bone's ends again, at the length the metacarpals agree on (a second look for a
        # bone whose first ends were off, a steadier choice for the others).
        typical = _typical_length(lengths, shafts, sp_mean)
        for name in list(axes):
            point, distal, half = shafts[name]
            want = typical * _RELATIVE_LENGTH[name]
            try:
                base, head = find_ends(img, point, distal, half, length=want,
                                       head_window=_head_window(point, distal, hand, wk))
                axes[name], lengths[name] = (base, head, half), float(np.hypot(*(head - base)))
                continue
            except NotMeasurable:
                if 0.88 <= lengths[name] / want <= 1.14:
                    continue
            del axes[name], lengths[name]
            if name in MCI_BONES:
                bones[name] = BoneResult(bone=name, valid=False, source="automatic", unit=unit_name,
                                         reason="its ends were not found at a length like the other metacarpals'")
    for name, (base, head, _) in axes.items():
        if name in MCI_BONES:
            bones[name] = measure_bone(img, base, head, sp, bone=name, source="automatic")
    for name in MCI_BONES:
        bones.setdefault(name, BoneResult(bone=name, valid=False, reason="the metacarpals were not found",
                                          source="automatic", unit=unit_name))
    unsuitable = _whole_hand_checks(lengths, hand, wk.factor, sp_mean)
    if unsuitable:
        return done(measurable=False, reason=unsuitable, needs_manual=MCI_BONES, notes=tuple(notes))
    bones = _cross_checks(bones, lengths)
    blur = [b.blur_px for b in bones.values() if b.valid and b.blur_px]
    sigma = float(np.median(blur)) if blur else None
    if sum(b.valid for b in bones.values()) < 2:  # the rays' identity is in doubt: no joints from them
        axes, lengths = {}, {}
    out_joints = _measure_joints(img, sp, unit_name, hand, axes, lengths, markers, sigma, typical)
    mci = [bones[k].MCI for k in MCI_BONES if bones[k].valid]
    return done(measurable=True, reason=None, bones=bones, joints=out_joints,
                mean_MCI=round(float(np.mean(mci)), 5) if len(mci) == len(MCI_BONES) else None,
                thumb_side=_thumb_side_name(hand), notes=tuple(notes),
                needs_manual=tuple(k for k in MCI_BONES if not bones[k].valid))


def _whole_hand_checks(lengths: dict[str, float], hand, factor: int, sp_mean: float | None) -> str | None:
    """Why the hand as a whole is unsuitable (a child's, a foot), or None."""
    found = [v for k, v in lengths.items() if k in MCI_BONES]
    if len(found) < 2:
        return None
    mc = float(np.median(found))
    if sp_mean and not 35.0 <= mc * sp_mean <= 100.0:
        return (f"the metacarpals are {mc * sp_mean:.0f} mm long, outside an adult's 35-100 mm: a child's hand "
                "(or a wrong pixel spacing); reference values are for adults")
    if hand.finger_reach * factor < 0.7 * mc:
        return ("the digits are short for a hand (shorter than 0.7 of a metacarpal): a foot, or fingers cut off "
                "by the image's edge")
    return None


def _thumb_side_name(hand) -> str:
    # lateral is the image's right when the fingers point up
    return "right" if hand.thumb_side > 0 else "left"


def _measure_joints(img, sp, unit_name, hand, axes, lengths, markers, sigma, typical) -> dict[str, JointResult]:
    out: dict[str, JointResult] = {}
    distal = hand.distal
    for ray in range(2, 6):
        mc = axes.get(f"MC{ray}")
        mcp_name, pip_name = f"MCP{ray}", f"PIP{ray}"
        h = 1.7 * mc[2] if mc else None
        u_mc = unit(mc[0], mc[1])[0] if mc else distal
        # MCP: the caller's marker, or just beyond the metacarpal's head.
        if mcp_name in markers:
            centre, source = markers[mcp_name], "marker"
        elif mc is not None:
            centre, source = mc[1] + u_mc * 0.1 * mc[2], "automatic"
        else:
            why = f"MC{ray} was not found" if lengths else "the metacarpals were not identified with confidence"
            out[mcp_name] = _no_joint(mcp_name, unit_name, why)
            out[pip_name] = _no_joint(pip_name, unit_name, why)
            continue
        toward = markers.get(pip_name)
        u0 = unit(centre, toward)[0] if toward is not None else u_mc
        res = measure_joint(img, centre, sp, axis=u0, joint=mcp_name, source=source, head_half_width=h,
                            sigma=sigma)
        out[mcp_name] = res
        # PIP: the caller's marker, or the end of the proximal phalanx.
        if pip_name in markers:
            centre_p = markers[pip_name]
            u_pp = unit(centre, centre_p)[0]
            out[pip_name] = measure_joint(img, centre_p, sp, axis=u_pp, joint=pip_name, source="marker",
                                          sigma=sigma)
            continue
        h_pp = 0.75 * (h or 60.0)
        found = phalanx_axis(img, centre, u0, h or 60.0)
        if found is None:
            out[pip_name] = _no_joint(pip_name, unit_name, "the proximal phalanx was not found")
            continue
        u_pp, on_axis = found
        start = on_axis + u_pp * float((centre - on_axis) @ u_pp)  # the MCP, moved onto the phalanx's axis
        mc_length = typical * _RELATIVE_LENGTH[f"MC{ray}"] if typical else lengths.get(f"MC{ray}")
        if not mc_length:
            out[pip_name] = _no_joint(pip_name, unit_name, f"MC{ray}'s length is not known")
            continue
        pip = _follow_to_pip(img, start, u_pp, mc_length, h_pp, ray)
        if pip is None:
            out[pip_name] = _no_joint(pip_name, unit_name, "the proximal phalanx runs off the image")
            continue
        out[pip_name] = measure_joint(img, pip, sp, axis=u_pp, joint=pip_name, source="automatic", sigma=sigma)
    return out
