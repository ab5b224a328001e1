"""Where the scored sites of a hand usually lie, and placing all of them from a few landmarks. No Qt.

The template is a right hand on a posteroanterior radiograph as displayed (thumb on the image's
left, fingers up), in a unit box; a left hand is its mirror image. It was read off the bundled
phantoms' joint centres and placed by hand for the carpal sites the phantoms do not name. From
two landmarks the template is moved, turned and scaled (a similarity); from three or more it
also shears (a least-squares affine fit), which follows a hand spread wider or narrower. The
result is a suggestion the reader drags into place, never a measurement.
"""
from __future__ import annotations

import numpy as np

RIGHT_HAND: dict[str, tuple[float, float]] = {
    "MCP1": (0.30, 0.57), "IP1": (0.21, 0.47),
    "MCP2": (0.47, 0.42), "MCP3": (0.55, 0.41), "MCP4": (0.64, 0.45), "MCP5": (0.71, 0.48),
    "PIP2": (0.42, 0.26), "PIP3": (0.55, 0.23), "PIP4": (0.66, 0.29), "PIP5": (0.74, 0.35),
    "CMC1": (0.38, 0.68), "CMC3": (0.56, 0.66), "CMC4": (0.63, 0.67), "CMC5": (0.69, 0.68),
    "trapezium_trapezoid": (0.44, 0.70), "trapezium_scaphoid": (0.46, 0.74),
    "scaphoid": (0.49, 0.77), "capitate_scaphoid_lunate": (0.55, 0.74), "lunate": (0.57, 0.79),
    "radiocarpal": (0.55, 0.81), "distal_radius": (0.52, 0.85), "distal_ulna": (0.66, 0.84),
}
# Far apart on every hand, and easy to click: the default landmarks asked for.
LANDMARKS = ("MCP2", "MCP5", "radiocarpal")


def template(hand: str) -> dict[str, tuple[float, float]]:
    """Unit-box positions of every site for the ``hand`` ("R" or "L")."""
    if hand == "R":
        return dict(RIGHT_HAND)
    if hand == "L":
        return {site: (1.0 - x, y) for site, (x, y) in RIGHT_HAND.items()}
    raise ValueError(f"hand must be 'L' or 'R', got {hand!r}")


def fit_sites(hand: str, landmarks: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
    """Every site placed on the image from ``landmarks`` (site -> image x, y; at least two)."""
    unit = template(hand)
    known = [s for s in landmarks if s in unit]
    if len(known) < 2:
        raise ValueError("place at least two landmarks first (for example MCP2 and MCP5)")
    src = np.array([unit[s] for s in known], dtype=float)
    dst = np.array([landmarks[s] for s in known], dtype=float)
    if len(known) == 2:
        matrix = _similarity(src, dst)
    else:
        design = np.hstack([src, np.ones((len(src), 1))])
        matrix, *_ = np.linalg.lstsq(design, dst, rcond=None)
        matrix = matrix.T
    out = {}
    for site, (x, y) in unit.items():
        px, py = matrix @ np.array([x, y, 1.0])
        out[site] = (float(px), float(py))
    out.update({s: (float(landmarks[s][0]), float(landmarks[s][1])) for s in known})
    return out


# Phantom ground-truth joints (ra_desktop.phantom) that are scoring sites, by another name or the same.
_TRUTH_SITES = {"ulnar_styloid": "distal_ulna", "intercarpal": "capitate_scaphoid_lunate"}


def ground_truth_sites(ground_truth: dict) -> dict[str, tuple[float, float]]:
    """Scoring sites whose position a phantom's ground truth gives (image x, y)."""
    out = {}
    for name, joint in (ground_truth.get("joints") or {}).items():
        site = _TRUTH_SITES.get(name, name)
        centre = joint.get("center") if isinstance(joint, dict) else None
        if site in RIGHT_HAND and isinstance(centre, (list, tuple)) and len(centre) == 2:
            out[site] = (float(centre[0]), float(centre[1]))
    return out


def _similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2x3 matrix of the rotation, uniform scale and shift taking src[0], src[1] to dst[0], dst[1]."""
    a, b = complex(*src[0]), complex(*src[1])
    c, d = complex(*dst[0]), complex(*dst[1])
    if a == b:
        raise ValueError("the two landmarks are at the same template point")
    k = (d - c) / (b - a)
    t = c - k * a
    return np.array([[k.real, -k.imag, t.real], [k.imag, k.real, t.imag]])
