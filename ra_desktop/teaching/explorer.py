"""The live marker explorer's core: a phantom hand whose markers a teacher sets joint by joint.

A :class:`Scene` is a hand (:class:`HandSpec`) and a level 0-3 per (joint, marker). Levels are the
generator's own severities (:mod:`ra_desktop.phantom.lesions`), interpolated in between so a slider
moves smoothly: level 2 is exactly the generator's severity-2 magnitude, 1.5 halfway between its
severity-1 and severity-2 magnitudes. :func:`plan_for` turns a scene into a
:class:`~ra_desktop.phantom.lesions.CasePlan`; :func:`render_pair` renders it and its healthy twin
(same anatomy, placement, acquisition and noise: the twin machinery of
:func:`~ra_desktop.phantom.generate.generate_twins`), pixel-aligned, at any size.

Markers are offered only where the generator draws them (:data:`MARKER_JOINTS`): ulnar deviation
and subluxation at MCP2-5, ankylosis at the radiocarpal and intercarpal joints (drawn as a joint
space that is gone), osteoarthritis (Heberden's nodes) at the DIPs, which RA spares.

Plain data and numpy; no Qt, no model (the model's readout is :mod:`ra_desktop.teaching.readout`).
"""
from __future__ import annotations

import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace

import numpy as np

from ra_desktop.phantom.generate import GENERATOR_VERSION, PhantomCase, _render_case, case_rng
from ra_desktop.phantom.lesions import (
    _EROSION_R_MM,
    _NARROWING,
    _OSTEOPENIA,
    _SWELLING_MM,
    DIP_JOINTS,
    JOINT_NAMES,
    WRIST_JOINTS,
    CasePlan,
    Erosion,
    JointLesion,
)

LEVEL_MAX = 3.0
PREVIEW_SIZE = 480  # long side while a slider moves (~0.15 s a render)
FULL_SIZE = 1000  # long side once it stops (~0.25 s a render)

#: Marker keys in display order, with their names on screen.
MARKER_TITLES: dict[str, str] = {
    "erosion": "Erosion",
    "narrowing": "Joint space narrowing",
    "osteopenia": "Periarticular osteopenia",
    "swelling": "Soft-tissue swelling",
    "subluxation": "Subluxation",
    "deviation": "Ulnar deviation",
    "ankylosis": "Ankylosis",
    "osteoarthritis": "Osteoarthritis (DIP)",
}
MARKERS: tuple[str, ...] = tuple(MARKER_TITLES)
#: Short names, for a chart's labels.
MARKER_SHORT: dict[str, str] = {
    "erosion": "Erosion", "narrowing": "Narrowing", "osteopenia": "Osteopenia", "swelling": "Swelling",
    "subluxation": "Subluxation", "deviation": "Ulnar deviation", "ankylosis": "Ankylosis",
    "osteoarthritis": "DIP OA",
}
#: The markers that are RA's (osteoarthritis is the contrast, not RA).
RA_MARKERS: tuple[str, ...] = MARKERS[:-1]

_FINGER = ("MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "IP1", "PIP2", "PIP3", "PIP4", "PIP5")
_MCP2_5 = ("MCP2", "MCP3", "MCP4", "MCP5")
#: Where the generator draws each marker (anatomy.build_hand): nowhere else is it offered.
MARKER_JOINTS: dict[str, tuple[str, ...]] = {
    "erosion": _FINGER + WRIST_JOINTS,
    "narrowing": _FINGER + ("radiocarpal", "intercarpal"),
    "osteopenia": _FINGER + WRIST_JOINTS,
    "swelling": _FINGER + ("radiocarpal", "ulnar_styloid"),
    "subluxation": _MCP2_5,
    "deviation": _MCP2_5,
    "ankylosis": ("radiocarpal", "intercarpal"),
    "osteoarthritis": DIP_JOINTS,
}
#: Joints a teacher can select, in the generator's order.
EXPLORER_JOINTS: tuple[str, ...] = tuple(j for j in JOINT_NAMES if any(j in v for v in MARKER_JOINTS.values()))

# Late signs per severity, the atlas's magnitudes (ra_desktop.phantom.atlas MARKERS).
_SUBLUXATION_MM = (0.0, 1.5, 2.5, 3.5)
_DEVIATION_DEG = (0.0, 6.0, 12.0, 18.0)
_EROSION_MEAN_R = tuple(float(np.mean(r)) for r in _EROSION_R_MM)
# Bite order of the atlas: the radial side of the metacarpal head first, then the phalanx base.
_BITES = (("proximal", -1), ("distal", -1), ("proximal", 1))
_LEVELS = (0.0, 1.0, 2.0, 3.0)


def markers_at(joint: str) -> tuple[str, ...]:
    """The markers the generator draws at ``joint``, in display order."""
    return tuple(m for m in MARKERS if joint in MARKER_JOINTS[m])


def nearest_joint(ground_truth: dict, x: float, y: float) -> str | None:
    """The explorer joint nearest image point (x, y) of a rendered hand, if within twice its radius."""
    joints = ground_truth["joints"]
    best = min(EXPLORER_JOINTS, key=lambda j: math.dist(joints[j]["center"], (x, y)))
    return best if math.dist(joints[best]["center"], (x, y)) <= 2 * joints[best]["radius_px"] else None


def _interp(level: float, table) -> float:
    return float(np.interp(level, _LEVELS, table))


#: Bone density choices for a hand (the generator draws 0.82-1.15 per seed, all the demo model saw):
#: the seed's own, a dense young hand, or an older, osteoporotic one (thinner cortices look fainter).
DENSITIES: dict[str, float | None] = {"as drawn": None, "high (young adult)": 1.15, "low (older hand)": 0.7}


@dataclass(frozen=True)
class HandSpec:
    """Which hand: the seed draws the anatomy, placement and acquisition; ``side`` mirrors it;
    ``joint_spaces`` draws radiographic joint spaces at the finger joints (narrowing then shows as
    a thinner gap; the bundled demo model was trained on hands without them); ``anatomy`` 2 draws
    the shaped carpus and distal radius of :mod:`ra_desktop.phantom.carpus` (nor on those);
    ``density`` sets the bones' mineral density instead of the seed's (:data:`DENSITIES`)."""

    seed: int = 0
    side: str = "R"
    joint_spaces: bool = False
    anatomy: int = 1
    density: float | None = None

    def __post_init__(self) -> None:
        if self.side not in ("R", "L"):
            raise ValueError(f"side must be 'R' or 'L', not {self.side!r}")

    @property
    def anatomy_seed(self) -> int:
        # As generate_case draws it: (plan seed, anatomy seed) from the case's generator.
        return int(case_rng(int(self.seed), 0).integers(2**63, size=2)[1])


@dataclass(frozen=True)
class Scene:
    """A hand and its markers: ``levels`` holds (joint, marker, level) for every level > 0, sorted."""

    hand: HandSpec = field(default_factory=HandSpec)
    levels: tuple[tuple[str, str, float], ...] = ()

    def level(self, joint: str, marker: str) -> float:
        """The level 0-3 of ``marker`` at ``joint`` (0 where unset)."""
        for j, m, v in self.levels:
            if j == joint and m == marker:
                return v
        return 0.0

    def with_level(self, joint: str, marker: str, level: float) -> Scene:
        """This scene with one level changed (clipped to 0-3).

        Raises
        ------
        ValueError
            The generator does not draw ``marker`` at ``joint``.
        """
        if marker not in MARKER_JOINTS or joint not in MARKER_JOINTS[marker]:
            raise ValueError(f"the phantom does not draw {marker!r} at {joint!r}")
        level = float(min(max(level, 0.0), LEVEL_MAX))
        rest = [(j, m, v) for j, m, v in self.levels if (j, m) != (joint, marker)]
        if level > 0:
            rest.append((joint, marker, level))
        return replace(self, levels=tuple(sorted(rest)))

    def with_hand(self, hand: HandSpec) -> Scene:
        return replace(self, hand=hand)

    def without(self, marker: str) -> Scene:
        """The same scene with ``marker`` removed at every joint."""
        return replace(self, levels=tuple(t for t in self.levels if t[1] != marker))

    def present(self) -> tuple[str, ...]:
        """Markers set anywhere, in display order."""
        used = {m for _, m, _ in self.levels}
        return tuple(m for m in MARKERS if m in used)

    def joints(self) -> tuple[str, ...]:
        """Joints with any marker set, in the generator's order."""
        used = {j for j, _, _ in self.levels}
        return tuple(j for j in JOINT_NAMES if j in used)


def _joint_lesion(joint: str, levels: dict[str, float]) -> JointLesion:
    les = JointLesion(severity=int(math.ceil(max(levels.values(), default=0.0))))
    les.narrowing = _interp(levels.get("narrowing", 0.0), _NARROWING)
    swelling = _interp(levels.get("swelling", 0.0), _SWELLING_MM)
    les.swelling_mm = swelling * (1.3 if joint in WRIST_JOINTS else 1.0)  # as the generator: thicker wrist
    les.osteopenia = _interp(levels.get("osteopenia", 0.0), _OSTEOPENIA)
    les.subluxation_mm = _interp(levels.get("subluxation", 0.0), _SUBLUXATION_MM)
    les.deviation_deg = _interp(levels.get("deviation", 0.0), _DEVIATION_DEG)
    ero = levels.get("erosion", 0.0)
    if ero > 0:
        # One bite per severity step; a fractional level grows the bites towards the next size
        # (below level 1 from half the severity-1 radius).
        radius = _interp(ero, (0.5 * _EROSION_MEAN_R[1], *_EROSION_MEAN_R[1:]))
        les.erosions = [Erosion(bone, side, radius) for bone, side in _BITES[: int(math.ceil(ero))]]
    if levels.get("ankylosis", 0.0) > 0:  # drawn as fused: the joint space is gone
        les.ankylosis = True
        les.narrowing = 1.0
        les.severity = 3
    return les


def plan_for(scene: Scene) -> CasePlan:
    """The generator's plan of ``scene``: label RA when any RA marker is set, else Normal."""
    per_joint: dict[str, dict[str, float]] = {}
    for j, m, v in scene.levels:
        per_joint.setdefault(j, {})[m] = v
    joints = {j: JointLesion() for j in JOINT_NAMES}
    dip_oa: dict[str, float] = {}
    for j, levels in per_joint.items():
        oa = levels.pop("osteoarthritis", 0.0)
        if oa > 0:
            dip_oa[j] = oa
        if levels:
            joints[j] = _joint_lesion(j, levels)
    severity = max((les.severity for les in joints.values()), default=0)
    ra = severity > 0
    return CasePlan(label="RA" if ra else "Normal", severity=min(int(severity), 3) if ra else 0,
                    joints=joints, dip_oa=dip_oa)


def healthy_plan() -> CasePlan:
    """No marker anywhere: the twin, and the placement every render of a hand shares."""
    return CasePlan(label="Normal", severity=0, joints={j: JointLesion() for j in JOINT_NAMES})


# ---- presets ----------------------------------------------------------------------------------
def _preset(spec: dict[tuple[str, ...], dict[str, float]]) -> tuple[tuple[str, str, float], ...]:
    out = []
    for joints, markers in spec.items():
        for j in joints:
            for m, v in markers.items():
                out.append((j, m, float(v)))
    return tuple(sorted(out))


#: Prepared hands (levels only; any hand can wear them). Deterministic, so a class sees the same.
PRESETS: dict[str, tuple[tuple[str, str, float], ...]] = {
    "normal": (),
    # Soft tissue and bone density only: no erosion, the joint spaces barely touched.
    "early RA": _preset({
        ("MCP2", "MCP3", "PIP3"): {"swelling": 1.5, "osteopenia": 1.5, "narrowing": 0.5},
        ("PIP2",): {"swelling": 1.0, "osteopenia": 1.0},
        ("ulnar_styloid",): {"swelling": 1.0},
    }),
    # Marginal erosions and uniform narrowing at the MCPs, PIPs and the wrist.
    "established RA": _preset({
        ("MCP2", "MCP3", "PIP2", "PIP3"): {"erosion": 2, "narrowing": 2, "osteopenia": 2, "swelling": 2},
        ("MCP4", "MCP5", "PIP4"): {"erosion": 1, "narrowing": 1.5, "osteopenia": 1.5, "swelling": 1},
        ("ulnar_styloid",): {"erosion": 2, "swelling": 1.5},
        ("radiocarpal",): {"erosion": 1, "narrowing": 1.5, "osteopenia": 1.5},
    }),
    # Destruction: large erosions, no joint space, subluxed and deviated MCPs, a fused wrist.
    "late RA": _preset({
        ("MCP2", "MCP3"): {"erosion": 3, "narrowing": 3, "osteopenia": 2.5, "subluxation": 2.5, "deviation": 2.5},
        ("MCP4", "MCP5"): {"erosion": 3, "narrowing": 3, "osteopenia": 2.5, "deviation": 2.5},
        ("PIP2", "PIP3", "PIP4", "MCP1"): {"erosion": 2.5, "narrowing": 3, "osteopenia": 2},
        ("radiocarpal", "intercarpal"): {"ankylosis": 3, "erosion": 2, "osteopenia": 2},
        ("ulnar_styloid",): {"erosion": 3},
    }),
    # Heberden's nodes at the DIPs and nothing of RA: the pattern a learner must not call RA.
    "osteoarthritis (contrast)": _preset({("DIP2", "DIP4"): {"osteoarthritis": 2}, ("DIP3",): {"osteoarthritis": 3}}),
}
#: The order presentation mode steps through.
SEQUENCE: tuple[str, ...] = ("normal", "early RA", "established RA", "late RA", "osteoarthritis (contrast)")


def preset_scene(name: str, hand: HandSpec | None = None) -> Scene:
    """The scene of preset ``name`` on ``hand`` (KeyError for an unknown name)."""
    return Scene(hand or HandSpec(), PRESETS[name])


# ---- rendering ---------------------------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class RenderedPair:
    """A scene rendered with its healthy twin, pixel-aligned, both read-only uint16 (12-bit)."""

    scene: Scene
    size: int
    image: np.ndarray
    twin: np.ndarray
    ground_truth: dict
    mask: np.ndarray

    @property
    def pixel_spacing_mm(self) -> float:
        return float(self.ground_truth["pixel_spacing_mm"][0])


def _readonly(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


def render_scene(scene: Scene, size: int) -> PhantomCase:
    """The pixels and ground truth of ``scene`` at long side ``size`` (placed as its twin)."""
    seed_info = [int(scene.hand.seed), 0, f"explorer {GENERATOR_VERSION}"]
    return _render_case(plan_for(scene), scene.hand.anatomy_seed, scene.hand.side, int(size), seed_info,
                        placement_plan=healthy_plan(), joint_spaces=scene.hand.joint_spaces,
                        anatomy=scene.hand.anatomy, density=scene.hand.density)


_TWINS: OrderedDict[tuple[HandSpec, int], np.ndarray] = OrderedDict()
_TWIN_CACHE = 4  # the twin never changes while sliders move: render it once per hand and size
_TWIN_LOCK = threading.Lock()  # the explorer's lane and the model's lane both render


def render_twin(hand: HandSpec, size: int) -> np.ndarray:
    """The healthy twin's pixels (read-only, cached for the last few hands and sizes)."""
    key = (hand, int(size))
    with _TWIN_LOCK:
        if key in _TWINS:
            _TWINS.move_to_end(key)
            return _TWINS[key]
    img = _readonly(render_scene(Scene(hand), size).image)
    with _TWIN_LOCK:
        _TWINS[key] = img
        while len(_TWINS) > _TWIN_CACHE:
            _TWINS.popitem(last=False)
    return img


def render_pair(scene: Scene, size: int) -> RenderedPair:
    """``scene`` and its healthy twin at long side ``size``: same hand, acquisition and noise.

    Pixels differ only where a marker changes the hand (its joint's region; the bones beyond a
    narrowed, subluxed or deviated joint, which move with it).
    """
    case = render_scene(scene, size)
    return RenderedPair(scene, int(size), _readonly(case.image), render_twin(scene.hand, size),
                        case.ground_truth, _readonly(case.mask))
