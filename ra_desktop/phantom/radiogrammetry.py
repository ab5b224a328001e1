"""Radiogrammetry truth of a phantom, computed from its drawn geometry (no pixels).

Metacarpals MC2-4: the bone runs from its base end (the base cap's pole, ``cap_base * r_base``
before p0) to its head end (the head cap's pole, ``cap_head * r_head`` beyond p1). At 201
positions evenly spread over :data:`~ra_desktop.measure.definitions.MC_REGION` of that length,
the outer half-width R is the drawn tube's half-width there and the medullary half-width is
``max(R - cortex, 0.05 mm)``, exactly as the renderer draws them (render.tapered_sdf,
render.tapered_cortex). W and M are the means of twice those; T = (W - M) / 2, MCI = (W - M) / W.
A metacarpal with a healed fracture has no truth (two segments and a callus).

Joint spaces MCP2-5 and PIP2-5: lines along the finger's axis (the joint's axis, that of the
distal bone) through the proximal bone's head, offset sideways by up to
:data:`~ra_desktop.measure.definitions.JSW_CENTRAL` of the head's half-width (41 lines). On
each, the width is the distance from the last point inside the proximal bone to the first point
inside the distal bone (the renderer's own field, to 1 um); minimum and mean over the lines. A
negative width means the two bones overlap on the projection: no joint space is visible, which
is the case in every phantom drawn without ``joint_spaces``.
"""
from __future__ import annotations

import numpy as np

from ra_desktop.measure.definitions import JSW_CENTRAL, JSW_JOINTS, MC_REGION, MCI_BONES
from ra_desktop.phantom.anatomy import HandModel, Tapered
from ra_desktop.phantom.render import tapered_cortex, tapered_sdf


def bone_ends(b: Tapered) -> tuple[np.ndarray, np.ndarray]:
    """(base end, head end) of a long bone in image mm: the poles of its end caps."""
    u = (b.p1 - b.p0) / float(np.hypot(*(b.p1 - b.p0)))
    cb = 0.0 if b.socket else b.cap_base * b.r_base
    return b.p0 - u * cb, b.p1 + u * b.cap_head * (b.r_head + b.tuft)


def metacarpal_truth(b: Tapered, sp: float) -> dict:
    """W, M, T, MCI of one metacarpal at the measurement region, and its ends in pixels."""
    a, z = bone_ends(b)
    length = float(np.hypot(*(z - a)))
    u = (z - a) / length
    f = np.linspace(MC_REGION[0], MC_REGION[1], 201)
    pts = a[None, :] + (f * length)[:, None] * u[None, :]
    _, r, sc, L, _, _ = tapered_sdf(b, pts[:, 0], pts[:, 1])
    ri = np.maximum(r - tapered_cortex(b, sc / L), 0.05)
    w, m = 2.0 * float(np.mean(r)), 2.0 * float(np.mean(ri))
    return {
        "W_mm": round(w, 4), "M_mm": round(m, 4), "T_mm": round((w - m) / 2, 4),
        "MCI": round((w - m) / w, 5),
        "W_px": round(w / sp, 3), "M_px": round(m / sp, 3),
        "base_end_px": [round(float(a[0] / sp), 2), round(float(a[1] / sp), 2)],
        "head_end_px": [round(float(z[0] / sp), 2), round(float(z[1] / sp), 2)],
        "length_mm": round(length, 3),
    }


def _field(b: Tapered, origin: np.ndarray, u: np.ndarray, t: np.ndarray, after: float | None) -> np.ndarray:
    """The bone's field along origin + t·u; ``origin`` (2,) for one line or (n, 2) for n lines."""
    o = np.asarray(origin, float)
    pts = o[..., None, :] + t[:, None] * u[None, :]
    sdf = tapered_sdf(b, pts[..., 0], pts[..., 1])[0]
    return sdf if after is None else np.where(t > after, sdf, 1.0)


def _edges(b: Tapered, origins: np.ndarray, u: np.ndarray, t: np.ndarray, coarse: np.ndarray, last: bool,
           after: float | None = None) -> list[float | None]:
    """Where each line origins[i] + t·u leaves (``last``) or enters ``b``: the bracket on the
    coarse field, then every 1 um between its two samples (all lines' fine samples in one call)."""
    out: list[float | None] = [None] * len(origins)
    fines: list[tuple[int, np.ndarray]] = []
    for i, row in enumerate(coarse):
        pair = _bracket(row, last)
        if pair is None:
            continue
        k, j = pair
        if not 0 <= j < len(t):
            out[i] = float(t[k])
            continue
        lo, hi = sorted((t[k], t[j]))
        fines.append((i, np.arange(lo, hi + _FINE_MM / 2, _FINE_MM)))
    if fines:
        pts = np.concatenate([origins[i][None, :] + f[:, None] * u[None, :] for i, f in fines])
        sdf = tapered_sdf(b, pts[:, 0], pts[:, 1])[0]
        start = 0
        for i, f in fines:
            part = sdf[start:start + len(f)]
            start += len(f)
            out[i] = _inside_run(part if after is None else np.where(f > after, part, 1.0), f, last)
    return out


def _bracket(sdf: np.ndarray, last: bool) -> tuple[int, int] | None:
    """The inside sample at the end (``last``) or start of the inside run, and its outside neighbour."""
    idx = np.flatnonzero(sdf < 0)
    if idx.size == 0:
        return None
    k = int(idx[-1] if last else idx[0])
    return k, (k + 1 if last else k - 1)


def _inside_run(sdf: np.ndarray, t: np.ndarray, last: bool) -> float | None:
    """The boundary of the inside (sdf < 0) run: its end (``last``) or its start, interpolated."""
    pair = _bracket(sdf, last)
    if pair is None:
        return None
    k, j = pair
    if not 0 <= j < len(t):
        return float(t[k])
    s0, s1 = sdf[k], sdf[j]
    return float(t[k] + (t[j] - t[k]) * s0 / (s0 - s1))


# Each line is sampled every 10 um to find the edge, then every 1 um between the two samples
# around it, where the field is interpolated linearly: the 1 um answer at a tenth of the cost.
_COARSE_MM, _FINE_MM = 0.01, 0.001
_SPARSE = 10  # the coarse grid is first read every 0.1 mm (see _coarse)


def _coarse(b: Tapered, origins: np.ndarray, u: np.ndarray, t: np.ndarray, after: float | None) -> np.ndarray:
    """The field on the coarse grid ``t`` of every line, exact where an edge can be.

    All lines in one call, first on every ``_SPARSE``-th sample; the full grid is then evaluated only
    around each place where two sparse samples differ in sign (a bone is millimetres wide, a sparse
    step 0.1 mm). Elsewhere the sparse sample's sign stands for its neighbours, which is all
    :func:`_bracket` reads: the edges found are those of the full grid.
    """
    sparse = _field(b, origins, u, t[::_SPARSE], None)
    field = np.repeat(sparse, _SPARSE, axis=1)[:, :len(t)]
    rows, steps = np.nonzero((sparse[:, 1:] < 0) != (sparse[:, :-1] < 0))
    if rows.size:  # the edge lies between full samples SPARSE*steps and SPARSE*(steps+1): one step more each side
        cols = _SPARSE * steps[:, None] + np.arange(-_SPARSE, 2 * _SPARSE + 1)[None, :]
        rows = np.broadcast_to(rows[:, None], cols.shape)
        keep = (cols >= 0) & (cols < len(t))
        rows, cols = rows[keep], cols[keep]
        pts = origins[rows] + t[cols, None] * u[None, :]
        field[rows, cols] = tapered_sdf(b, pts[:, 0], pts[:, 1])[0]
    return field if after is None else np.where(t > after, field, 1.0)


def joint_truth(prox: Tapered, dist: Tapered, axis: np.ndarray, sp: float) -> dict:
    """Minimum and mean joint space width (mm) over the joint's central part."""
    u = np.asarray(axis, float) / float(np.hypot(*axis))
    n = np.array([-u[1], u[0]])
    half = prox.r_head
    reach = 2.0 * (prox.r_head + dist.r_base)
    t = np.arange(-reach, reach, _COARSE_MM)
    origins = prox.p1[None, :] + np.linspace(-JSW_CENTRAL * half, JSW_CENTRAL * half, 41)[:, None] * n[None, :]
    coarse_p, coarse_d = _coarse(prox, origins, u, t, None), _coarse(dist, origins, u, t, -half)
    ends = _edges(prox, origins, u, t, coarse_p, last=True)
    starts = _edges(dist, origins, u, t, coarse_d, last=False, after=-half)
    widths = [tb - ta for ta, tb in zip(ends, starts) if ta is not None and tb is not None]
    if not widths:
        return {"visible": False}
    lo, mean = float(np.min(widths)), float(np.mean(widths))
    return {"min_mm": round(lo, 4), "mean_mm": round(mean, 4), "visible": lo > 0,
            "axis": [round(float(u[0]), 5), round(float(u[1]), 5)],
            "head_centre_px": [round(float(prox.p1[0] / sp), 2), round(float(prox.p1[1] / sp), 2)]}


def radiogrammetry_truth(model: HandModel, sp: float, fracture_ray: int | None,
                         joint_spaces: bool) -> dict:
    """The ``radiogrammetry`` entry of a phantom's ground truth (see the module docstring)."""
    bones = {b.name: b for b in model.bones if isinstance(b, Tapered)}
    mcs = {}
    for name in MCI_BONES:
        if fracture_ray == int(name[2:]):
            mcs[name] = {"measurable": False, "reason": "healed fracture"}
        else:
            mcs[name] = {"measurable": True, **metacarpal_truth(bones[name], sp)}
    ok = [v["MCI"] for v in mcs.values() if v["measurable"]]
    joints = {}
    for name, (p, d) in JSW_JOINTS.items():
        joints[name] = joint_truth(bones[p], bones[d], model.joints[name]["axis"], sp)
    return {
        "definition": "ra_desktop.phantom.radiogrammetry 1",
        "region_fraction": list(MC_REGION),
        "jsw_central_fraction": JSW_CENTRAL,
        "joint_spaces_drawn": bool(joint_spaces),
        "metacarpals": mcs,
        "mean_MCI": round(float(np.mean(ok)), 5) if len(ok) == len(MCI_BONES) else None,
        "joints": joints,
    }
