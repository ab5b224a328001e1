"""A teaching atlas of the radiographic markers of RA: each marker at each severity on one hand.

Every image of a plate is the same phantom hand (anatomy, placement, acquisition and noise: the
twin machinery of :func:`~ra_desktop.phantom.generate.generate_twins`), once healthy as the
reference and once per severity with **only that marker** at the plate's joints, so the
difference a learner sees is the marker and nothing else. Magnitudes are the generator's own per
severity (:mod:`ra_desktop.phantom.lesions`); arrows point at the changed joints from the ground
truth, and each image carries the Sharp/van der Heijde grades the truth gives those joints.

Plain data for :mod:`ra_desktop.report.atlas` (the PDF handout); no Qt, no model.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from ra_desktop.phantom.generate import GENERATOR_VERSION, _render_case, case_rng
from ra_desktop.phantom.lesions import (
    _EROSION_R_MM,
    _NARROWING,
    _OSTEOPENIA,
    _SWELLING_MM,
    JOINT_NAMES,
    CasePlan,
    Erosion,
    JointLesion,
)
from ra_desktop.render.greyscale import auto_window

SEVERITIES = (1, 2, 3)
LEVEL_NAMES = {0: "Normal", 1: "Mild", 2: "Moderate", 3: "Severe"}
_FINGERS = ("MCP2", "MCP3", "PIP2", "PIP3")
_MCPS = ("MCP2", "MCP3", "MCP4", "MCP5")
_WRIST = ("radiocarpal", "intercarpal")


def _erosion(sev: int) -> JointLesion:
    # Bites at the bare areas: the radial side of the metacarpal head first, then the phalanx base.
    r = float(np.mean(_EROSION_R_MM[sev]))
    bites = [Erosion("proximal", -1, r), Erosion("distal", -1, r), Erosion("proximal", 1, r)][:sev]
    return JointLesion(severity=sev, erosions=bites)


@dataclass(frozen=True)
class Marker:
    """One radiographic marker: where the atlas shows it and what one severity of it is."""

    key: str
    title: str
    caption: str
    joints: tuple[str, ...]
    lesion: Callable[[int], JointLesion]
    svdh: tuple[str, ...] = ()  # the SvdH components ("erosion", "jsn") the marker changes
    levels: tuple[int, ...] = SEVERITIES
    view: tuple[str, ...] = ()  # more joints the crop must show (where the change shows beyond them)


MARKERS: tuple[Marker, ...] = (
    Marker("swelling", "Soft-tissue swelling",
           "Fusiform swelling of the soft tissue around the joint: the earliest sign, before any bone "
           "change. Compare the soft-tissue outline with the normal hand, not the bone.",
           _FINGERS, lambda s: JointLesion(severity=s, swelling_mm=_SWELLING_MM[s])),
    Marker("osteopenia", "Periarticular osteopenia",
           "Loss of bone density next to the joint (juxta-articular), the shafts unchanged. Early and "
           "subtle; window narrowly over bone to see it.",
           _FINGERS, lambda s: JointLesion(severity=s, osteopenia=_OSTEOPENIA[s])),
    Marker("narrowing", "Joint space narrowing",
           "Uniform (concentric) loss of the joint space from cartilage loss, unlike the focal narrowing "
           "of osteoarthritis. SvdH joint space narrowing 0-4 per joint.",
           _FINGERS, lambda s: JointLesion(severity=s, narrowing=_NARROWING[s]), svdh=("jsn",)),
    Marker("erosion", "Marginal erosions",
           "Sharp-edged bites at the joint margin where bone is not covered by cartilage (the bare "
           "areas), first on the radial side of the metacarpal heads. SvdH erosion 0-5 per joint.",
           _FINGERS, _erosion, svdh=("erosion",)),
    Marker("deviation", "Ulnar deviation",
           "Late: the fingers turn towards the ulna at the MCP joints, a sign of destroyed joints and "
           "lax ligaments.",
           _MCPS, lambda s: JointLesion(severity=s, deviation_deg=(6.0, 12.0, 18.0)[s - 1]),
           view=("PIP2", "PIP5")),
    Marker("subluxation", "Subluxation",
           "Late: the phalanx base slips off the metacarpal head (here sideways, towards the ulna). "
           "Counted as at least grade 3 narrowing in the SvdH method.",
           _MCPS, lambda s: JointLesion(severity=s, subluxation_mm=(1.5, 2.5, 3.5)[s - 1]), svdh=("jsn",),
           view=("PIP2", "PIP5")),
    Marker("ankylosis", "Ankylosis of the wrist",
           "End stage: the carpal joints fuse and the joint spaces disappear (SvdH narrowing 4). The "
           "phantom draws it at the radiocarpal and intercarpal joints only.",
           _WRIST, lambda s: JointLesion(severity=3, narrowing=1.0, ankylosis=True), svdh=("jsn",), levels=(3,),
           view=("ulnar_styloid", "CMC1", "CMC5")),
)


@dataclass
class Panel:
    """One image of a plate: a crop of the radiograph (uint8), arrows and the truth's grades."""

    level: int
    image: np.ndarray
    arrows: list[tuple[float, float]] = field(default_factory=list)  # crop pixels the arrows point at
    grades: str = ""


@dataclass
class Plate:
    marker: Marker
    panels: list[Panel]


def _plan(marker: Marker | None, level: int) -> CasePlan:
    joints = {j: JointLesion() for j in JOINT_NAMES}
    if marker is not None and level > 0:
        for j in marker.joints:
            joints[j] = marker.lesion(level)
    return CasePlan(label="RA" if marker is not None and level > 0 else "Normal",
                    severity=level if marker is not None else 0, joints=joints)


def _crop_box(gt: dict, joints: tuple[str, ...], margin_mm: float = 14.0) -> tuple[int, int, int, int]:
    sp = float(gt["pixel_spacing_mm"][0])
    pts = np.array([gt["joints"][j]["center"] for j in joints], dtype=float)
    m = margin_mm / sp
    h, w = gt["image_shape"]
    x0, y0 = np.maximum(pts.min(axis=0) - m, 0)
    x1, y1 = np.minimum(pts.max(axis=0) + m, [w, h])
    return int(y0), int(y1), int(x0), int(x1)


def _grades(gt: dict, marker: Marker) -> str:
    out = []
    for kind in marker.svdh:
        scores = gt["svdh"][kind]
        named = [a for a in marker.joints if a in scores]
        if named:
            label = "erosion" if kind == "erosion" else "narrowing"
            out.append(f"SvdH {label}: " + ", ".join(f"{a} {scores[a]}" for a in named))
    if any(j in _WRIST for j in marker.joints) and "jsn" in marker.svdh:
        out = ["SvdH narrowing: radiocarpal " + str(gt["svdh"]["jsn"].get("radiocarpal", "-"))
               + ", C-S-L " + str(gt["svdh"]["jsn"].get("capitate_scaphoid_lunate", "-"))]
    return "; ".join(out)


def plates(seed: int = 0, side: str = "R", size: int = 1800, anatomy: int = 2,
           markers: tuple[Marker, ...] = MARKERS) -> Iterator[Plate]:
    """Yield one plate per marker (each renders 1 + its severities phantoms; about 1 s each)."""
    rng = case_rng(seed, 0)
    _plan_seed, anatomy_seed = (int(v) for v in rng.integers(2**63, size=2))
    healthy_plan = _plan(None, 0)
    seed_info = [int(seed), 0, f"atlas {GENERATOR_VERSION}"]

    def render(plan: CasePlan):
        case = _render_case(plan, anatomy_seed, side, size, seed_info, placement_plan=healthy_plan, anatomy=anatomy)
        return case.image, case.ground_truth

    normal_img, normal_gt = render(healthy_plan)
    for marker in markers:
        y0, y1, x0, x1 = _crop_box(normal_gt, marker.joints + marker.view)
        # One window for the whole plate (from the normal hand), so density differences show.
        c, w = auto_window(normal_img[y0:y1, x0:x1])
        lo, hi = c - w / 2, c + w / 2

        def crop(img: np.ndarray) -> np.ndarray:
            part = (img[y0:y1, x0:x1].astype(np.float32) - lo) / max(hi - lo, 1.0)
            return (np.clip(part, 0, 1) * 255.0 + 0.5).astype(np.uint8)

        panels = [Panel(0, crop(normal_img), grades=_grades(normal_gt, marker) if marker.svdh else "")]
        for level in marker.levels:
            img, gt = render(_plan(marker, level))
            arrows = [(gt["joints"][j]["center"][0] - x0, gt["joints"][j]["center"][1] - y0) for j in marker.joints]
            panels.append(Panel(level, crop(img), arrows, _grades(gt, marker) if marker.svdh else ""))
        yield Plate(marker, panels)
