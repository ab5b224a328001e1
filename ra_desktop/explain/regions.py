"""Attribution per named region: joints where they are known, a neutral grid otherwise.

Joint positions are known for phantoms (ground truth JSON: ``joints[name] = {"center": [x, y],
"radius_px": r, "severity": s, ...}``, image pixel coordinates). A joint region is the disc of
``radius_px`` around its centre; the wrist is the union of the radiocarpal, intercarpal, ulnar
styloid and carpometacarpal (CMC1-5, generator 1.2+) discs, as in the Sharp/van der Heijde wrist.
For a real radiograph nothing says where the joints are, so the summary falls back to a 4×4 grid
named "row r, col c" — never an anatomical name the software cannot back up.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ra_desktop.results import RegionScore

FINGER_JOINTS: tuple[str, ...] = (
    "MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "IP1", "PIP2", "PIP3", "PIP4", "PIP5",
    "DIP2", "DIP3", "DIP4", "DIP5",
)
WRIST_PARTS: tuple[str, ...] = ("radiocarpal", "intercarpal", "ulnar_styloid",
                                 "CMC1", "CMC2", "CMC3", "CMC4", "CMC5")
#: Reported region -> the ground-truth joints it is made of.
REGION_JOINTS: dict[str, tuple[str, ...]] = {
    **{j: (j,) for j in FINGER_JOINTS}, "wrist": WRIST_PARTS,
}
#: The regions RA attacks, as the Sharp/van der Heijde score reads them (DIPs are spared).
RA_REGIONS: tuple[str, ...] = ("MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "IP1", "PIP2", "PIP3", "PIP4", "PIP5",
                               "wrist")
GRID = 4


def _scale(gt: Mapping[str, Any], image_shape: tuple[int, int]) -> tuple[float, float]:
    """(sy, sx) from the ground truth's image shape to ``image_shape`` (1, 1 when they agree)."""
    gt_shape = gt.get("image_shape") or image_shape
    return image_shape[0] / float(gt_shape[0]), image_shape[1] / float(gt_shape[1])


def disc(image_shape: tuple[int, int], center_xy: Any, radius: float) -> np.ndarray:
    """Boolean H×W disc; ``center_xy`` is (x, y) = (column, row), pixel centres at integers."""
    H, W = image_shape
    yy, xx = np.ogrid[:H, :W]
    cx, cy = float(center_xy[0]), float(center_xy[1])
    return (xx - cx) ** 2 + (yy - cy) ** 2 <= float(radius) ** 2


def joint_discs(ground_truth: Mapping[str, Any], image_shape: tuple[int, int]) -> dict[str, tuple[float, float, float]]:
    """(x, y, radius) of every ground-truth joint in ``image_shape`` pixels (scaled when resized)."""
    sy, sx = _scale(ground_truth, image_shape)
    out = {}
    for name, joint in (ground_truth.get("joints") or {}).items():
        cx, cy = joint["center"]
        out[name] = (float(cx * sx), float(cy * sy), float(joint["radius_px"] * (sx + sy) / 2))
    return out


def joint_masks(ground_truth: Mapping[str, Any], image_shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Disc mask of every ground-truth joint, scaled when the image was resized."""
    return {name: disc(image_shape, (cx, cy), r) for name, (cx, cy, r) in joint_discs(ground_truth, image_shape).items()}


def _disc_sums(pos: np.ndarray, discs: list[tuple[float, float, float]]) -> float:
    """Sum of ``pos`` over the union of discs, computed inside their bounding box only (the same
    pixels as :func:`disc`, without building full-size masks: ~10x faster on a 2k x 2.5k map)."""
    H, W = pos.shape
    x0 = max(0, min(int(np.floor(cx - r)) for cx, _, r in discs))
    x1 = min(W - 1, max(int(np.ceil(cx + r)) for cx, _, r in discs))
    y0 = max(0, min(int(np.floor(cy - r)) for _, cy, r in discs))
    y1 = min(H - 1, max(int(np.ceil(cy + r)) for _, cy, r in discs))
    if x1 < x0 or y1 < y0:
        return 0.0
    yy, xx = np.ogrid[y0:y1 + 1, x0:x1 + 1]
    mask = np.zeros((y1 - y0 + 1, x1 - x0 + 1), bool)
    for cx, cy, r in discs:
        mask |= (xx - cx) ** 2 + (yy - cy) ** 2 <= r ** 2
    return float(pos[y0:y1 + 1, x0:x1 + 1][mask].sum(dtype=np.float64))


def _region_sums(pos: np.ndarray, ground_truth: Mapping[str, Any] | None) -> dict[str, float]:
    """Sum of ``pos`` in each region of :func:`region_masks`, same regions, same pixels."""
    H, W = pos.shape
    discs = joint_discs(ground_truth, (H, W)) if ground_truth else {}
    if discs:
        out = {}
        for region, parts in REGION_JOINTS.items():
            present = [discs[p] for p in parts if p in discs]
            if present:
                out[region] = _disc_sums(pos, present)
        return out
    rows = (np.arange(H) * GRID) // H
    cols = (np.arange(W) * GRID) // W
    r_start = np.searchsorted(rows, np.arange(GRID))
    c_start = np.searchsorted(cols, np.arange(GRID))
    # reduceat needs increasing starts: a grid row with no pixel (tiny image) has none
    r_ok = [r for r in range(GRID) if (rows == r).any()]
    c_ok = [c for c in range(GRID) if (cols == c).any()]
    # Row bands summed down the columns in float64, then the columns: the same additions in the same
    # order as reduceat over rows (bit for bit), 4x faster on a 5 MP map (no buffered casts).
    bounds = [*r_start[r_ok], H]
    bands = np.stack([pos[a:b].sum(axis=0, dtype=np.float64) for a, b in zip(bounds, bounds[1:])])
    block = np.add.reduceat(bands, c_start[c_ok], axis=1)
    out = {f"row {r + 1}, col {c + 1}": 0.0 for r in range(GRID) for c in range(GRID)}
    for i, r in enumerate(r_ok):
        for j, c in enumerate(c_ok):
            out[f"row {r + 1}, col {c + 1}"] = float(block[i, j])
    return out


def region_masks(ground_truth: Mapping[str, Any] | None, image_shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Named boolean masks: joint regions (MCP1–5, IP1, PIP2–5, DIP2–5, wrist) or a 4×4 grid."""
    image_shape = (int(image_shape[0]), int(image_shape[1]))
    joints = joint_masks(ground_truth, image_shape) if ground_truth else {}
    if joints:
        out = {}
        for region, parts in REGION_JOINTS.items():
            present = [joints[p] for p in parts if p in joints]
            if present:
                out[region] = np.logical_or.reduce(present)
        return out
    H, W = image_shape
    rows = (np.arange(H) * GRID) // H
    cols = (np.arange(W) * GRID) // W
    return {
        f"row {r + 1}, col {c + 1}": (rows[:, None] == r) & (cols[None, :] == c)
        for r in range(GRID) for c in range(GRID)
    }


def lesion_mask(ground_truth: Mapping[str, Any], image_shape: tuple[int, int], *,
                min_severity: int = 1, mask: np.ndarray | None = None, dilate_px: int = 0) -> np.ndarray:
    """Where the disease is: discs of joints with severity >= ``min_severity``.

    If the phantom's lesion ``mask`` (uint8, joint index + 1) is given, its pixels, dilated by
    ``dilate_px``, are added, so a lesion drawn slightly outside the disc still counts.
    """
    image_shape = (int(image_shape[0]), int(image_shape[1]))
    out = np.zeros(image_shape, bool)
    discs = joint_masks(ground_truth, image_shape)
    for name, joint in (ground_truth.get("joints") or {}).items():
        if int(joint.get("severity", 0)) >= min_severity:
            out |= discs[name]
    if mask is not None:
        m = np.asarray(mask) > 0
        if m.shape != image_shape:
            from PIL import Image  # nearest resize keeps the mask binary

            m = np.asarray(Image.fromarray(m.astype(np.uint8) * 255).resize(image_shape[::-1], Image.NEAREST)) > 0
        if dilate_px > 0:
            from scipy.ndimage import binary_dilation

            m = binary_dilation(m, iterations=int(dilate_px))
        out |= m
    return out


def region_scores(image_map: np.ndarray, ground_truth: Mapping[str, Any] | None = None,
                  image_shape: tuple[int, int] | None = None) -> list[RegionScore]:
    """Share of the map's positive attribution in each named region, largest first.

    Parameters
    ----------
    image_map : np.ndarray, (H, W)
        A map in image space (NaN = not seen). Only positive values count (for SHAP: evidence
        toward RA); a Grad-CAM map is all non-negative.
    ground_truth : dict, optional
        Phantom ground truth with ``joints``; without it, a 4×4 grid is used.
    image_shape : (H, W), optional
        Defaults to ``image_map.shape``.

    Returns
    -------
    list of RegionScore
        ``score`` in [0, 1] = positive attribution inside the region / all positive attribution
        (regions can overlap, so scores need not sum to 1). All zeros when nothing is positive.
    """
    m = np.asarray(image_map)
    if m.dtype not in (np.float32, np.float64):
        m = m.astype(np.float64)
    shape = tuple(image_shape or m.shape)
    if m.shape != shape:
        raise ValueError(f"map shape {m.shape} does not match image shape {shape}")
    # float32 maps stay float32 (half the memory traffic on a 5 MP map); sums are float64.
    # fmax is one pass: NaN and negatives -> 0; only +inf would survive, caught by the total.
    pos = np.fmax(m, m.dtype.type(0))
    total = float(pos.sum(dtype=np.float64))
    if not np.isfinite(total):
        pos = np.where(np.isfinite(m) & (m > 0), m, m.dtype.type(0))
        total = float(pos.sum(dtype=np.float64))
    scores = [
        RegionScore(name, float(part / total) if total > 0 else 0.0)
        for name, part in _region_sums(pos, ground_truth).items()
    ]
    return sorted(scores, key=lambda s: -s.score)


def region_means(image_map: np.ndarray, ground_truth: Mapping[str, Any]) -> dict[str, float]:
    """Mean of the map over each joint region of :func:`region_masks`, over the pixels the model saw
    (NaN for a region it did not see). Unlike :func:`region_scores` this does not favour large
    regions, so a small PIP joint and the whole wrist compare fairly."""
    m = np.asarray(image_map, dtype=np.float32)
    seen = np.isfinite(m)
    sums = _region_sums(np.where(seen, m, np.float32(0)), ground_truth)
    areas = _region_sums(seen.astype(np.float32), ground_truth)
    return {name: sums[name] / areas[name] if areas[name] > 0 else float("nan") for name in sums}


def diseased_regions(ground_truth: Mapping[str, Any], min_severity: int = 1) -> set[str]:
    """The joint regions (MCP1–5, IP1, PIP2–5, DIP2–5, wrist) with a part of severity >= ``min_severity``."""
    joints = ground_truth.get("joints") or {}
    return {region for region, parts in REGION_JOINTS.items()
            if any(int(joints[p].get("severity") or 0) >= min_severity for p in parts if p in joints)}


def top_regions(scores: list[RegionScore], k: int = 3) -> list[RegionScore]:
    """The ``k`` best regions with a positive score (what the app and the report list)."""
    return [s for s in sorted(scores, key=lambda s: -s.score) if s.score > 0][:k]
