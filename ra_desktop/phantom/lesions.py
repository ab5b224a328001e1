"""Which joints are diseased and how: the lesion plan of one phantom case.

The plan is pure data (no pixels). :mod:`ra_desktop.phantom.anatomy` turns it into geometry
(narrowed joint spaces, erosion bites, osteopenia sites, soft-tissue swellings).

RA pattern (FIELD.md): symmetric, polyarticular, MCP1-5 / PIP2-5 / thumb IP / wrist, DIP spared.
Severity 1 = soft-tissue swelling + periarticular osteopenia + mild narrowing at several joints
(made deliberately visible in aggregate at 224x224); 2 = erosions and clear narrowing;
3 = destructive: large erosions, near-ankylosis of the wrist, subluxation and ulnar deviation.
RA-unrelated findings (DIP osteoarthritis, healed metacarpal fracture) also occur in normal hands
so that "any abnormality" is not a shortcut for "RA".

Sharp/van der Heijde truth (:func:`svdh_truth`, the ground truth's ``"svdh"`` key; mapping 1).
The plan and the drawn bites are graded as a reader scoring the phantom by the SvdH method would,
for the case's hand only; a grade is given only where the generator defines the change:

* Erosion (0-5), per bite: its radius as a share of the half-width of the bone end it bites
  (MC head, phalanx base or head, distal radius, distal ulna; the smaller semi-axis of a carpal
  bone), i.e. the bite's diameter over the width of the bone's surface: under 0.25 -> 1
  (discrete), 0.25-0.5 -> 2, 0.5 or more -> 3 (half the surface). An area's grade is the sum over
  its bites, capped at 5 ("several erosions add up").
* Where the bites are: finger joint X -> erosion area X (MCP1-5, IP1, PIP2-5, both bones).
  Radiocarpal bites, in plan order, are at the radial styloid, the scaphoid waist and the lunate
  margin -> distal radius, scaphoid, lunate. Intercarpal bites sit in the capitate, hamate,
  trapezoid and scaphoid -> (none), (none), trapezium + trapezoid, scaphoid: the capitate and
  hamate are not SvdH areas, so those bites are listed but graded nowhere. Ulnar styloid bites ->
  distal ulna. The generator never erodes the base of MC1 or the trapezium other than through
  the trapezoid: CMC1 is truly 0.
* Joint space narrowing (0-4) from the plan's narrowing fraction f (share of the joint space
  lost; the generator narrows the whole space, never focally, so grade 1 is never given):
  f = 0 -> 0; 0 < f < 0.5 (more than half left) -> 2; 0.5 <= f < 1 (less than half left) -> 3;
  f >= 1 (no space left) or ankylosis -> 4; subluxation -> at least 3. Finger joints from their
  own joint (MCP1-5, PIP2-5); radiocarpal from the radiocarpal joint; trapezium-scaphoid and
  capitate-scaphoid-lunate from the intercarpal joint (the generator narrows the carpus as a
  whole: every carpal bone moves towards the carpal centre by 12% x f of its distance).
* Not defined: CMC3-5 narrowing when the intercarpal joint is narrowed. Carpal collapse moves the
  metacarpal bases by 1-2 mm (``CMC_JOINTS``) but the generator defines no narrowing for them, so
  the truth gives no number there (excluded from comparisons); with a healthy carpus they are 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Joint region names, in mask-value order (mask value = index + 1).
JOINT_NAMES: tuple[str, ...] = (
    "MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "IP1",
    "PIP2", "PIP3", "PIP4", "PIP5",
    "DIP2", "DIP3", "DIP4", "DIP5",
    "radiocarpal", "intercarpal", "ulnar_styloid",
)
#: Joints that RA attacks (everything except the DIPs).
RA_JOINTS: tuple[str, ...] = tuple(j for j in JOINT_NAMES if not j.startswith("DIP"))
DIP_JOINTS: tuple[str, ...] = ("DIP2", "DIP3", "DIP4", "DIP5")
SMALL_JOINTS: tuple[str, ...] = tuple(j for j in RA_JOINTS if j[:2] in ("MC", "PI", "IP"))
WRIST_JOINTS: tuple[str, ...] = ("radiocarpal", "intercarpal", "ulnar_styloid")
#: Carpometacarpal joints: not in the plan (nothing is drawn at them directly), but carpal
#: collapse (intercarpal narrowing) crowds the distal carpal row towards the carpal centroid
#: while the metacarpal bases sink further (``ray_shift``), which narrows or shifts every CMC
#: joint by ~1-2 mm at severity 2-3. The ground truth records them as part of the wrist so the
#: lesion region covers every joint the disease changes. Appended after ``JOINT_NAMES`` so
#: existing mask values stay the same.
CMC_JOINTS: tuple[str, ...] = ("CMC1", "CMC2", "CMC3", "CMC4", "CMC5")
#: Every joint in the ground truth, in mask-value order (mask value = index + 1).
GT_JOINT_NAMES: tuple[str, ...] = JOINT_NAMES + CMC_JOINTS

# Per joint severity 0..3 -> lesion magnitudes. Index = severity.
_NARROWING = (0.0, 0.40, 0.70, 0.95)  # fraction of the normal joint space lost
_SWELLING_MM = (0.0, 2.6, 3.4, 4.2)  # extra soft-tissue radius around the joint
_OSTEOPENIA = (0.0, 0.30, 0.42, 0.52)  # fractional loss of bone density at the joint centre
_EROSION_N = ((0, 0), (0, 1), (1, 2), (2, 4))  # (min, max) erosions per joint
_EROSION_R_MM = ((0, 0), (0.8, 1.2), (1.2, 2.0), (1.8, 3.0))


@dataclass
class Erosion:
    """A marginal erosion. ``bone`` "proximal"/"distal" side of the joint; ``side`` -1 radial,
    +1 ulnar (hand frame); ``radius_mm`` size of the bite."""

    bone: str
    side: int
    radius_mm: float


@dataclass
class JointLesion:
    """RA changes at one joint (all zero for a healthy joint)."""

    severity: int = 0
    narrowing: float = 0.0
    swelling_mm: float = 0.0
    osteopenia: float = 0.0
    erosions: list[Erosion] = field(default_factory=list)
    subluxation_mm: float = 0.0
    deviation_deg: float = 0.0
    ankylosis: bool = False

    def lesion_types(self) -> list[str]:
        """Names of the lesion types present, for the ground-truth JSON."""
        out = []
        if self.swelling_mm > 0:
            out.append("soft_tissue_swelling")
        if self.osteopenia > 0:
            out.append("periarticular_osteopenia")
        if self.narrowing > 0:
            out.append("joint_space_narrowing")
        if self.erosions:
            out.append("erosion")
        if self.subluxation_mm > 0:
            out.append("subluxation")
        if self.deviation_deg > 0:
            out.append("ulnar_deviation")
        if self.ankylosis:
            out.append("ankylosis")
        return out


@dataclass
class CasePlan:
    """Everything random about a case's disease state (anatomy variation is sampled separately)."""

    label: str  # "RA" or "Normal"
    severity: int  # case severity 0..3
    joints: dict[str, JointLesion]
    dip_oa: dict[str, float] = field(default_factory=dict)  # DIP name -> OA grade 1..3
    fracture: dict | None = None  # {"ray": 2..5, "t": 0.3-0.75, "angle_deg": float}

    def other_findings(self) -> list[dict]:
        """RA-unrelated findings for the ground truth."""
        out = []
        if self.dip_oa:
            out.append({"type": "dip_osteoarthritis", "joints": sorted(self.dip_oa),
                        "lesions": ["osteophyte", "joint_space_narrowing", "subchondral_sclerosis"]})
        if self.fracture:
            out.append({"type": "healed_fracture", "bone": f"MC{self.fracture['ray']}",
                        "angulation_deg": round(float(self.fracture["angle_deg"]), 1)})
        return out


def _joint_lesion(rng: np.random.Generator, joint: str, sev: int) -> JointLesion:
    les = JointLesion(severity=sev)
    if sev == 0:
        return les
    les.narrowing = float(_NARROWING[sev] * rng.uniform(0.85, 1.1))
    les.swelling_mm = float(_SWELLING_MM[sev] * rng.uniform(0.85, 1.15))
    les.osteopenia = float(_OSTEOPENIA[sev] * rng.uniform(0.85, 1.15))
    lo, hi = _EROSION_N[sev]
    n_ero = int(rng.integers(lo, hi + 1))
    if joint == "ulnar_styloid" and sev >= 2:
        n_ero = max(n_ero, 1)  # the styloid is a classic early erosion site
    for k in range(n_ero):
        # Bare areas: the radial side of the proximal (metacarpal) head is hit first.
        bone = "proximal" if k % 2 == 0 or joint in WRIST_JOINTS else "distal"
        side = -1 if k == 0 else int(rng.choice([-1, 1]))
        r = float(rng.uniform(*_EROSION_R_MM[sev]))
        les.erosions.append(Erosion(bone, side, r))
    if sev >= 3 and joint in ("MCP2", "MCP3", "MCP4", "MCP5"):
        les.deviation_deg = float(rng.uniform(8.0, 18.0))
        if rng.random() < 0.6:
            les.subluxation_mm = float(rng.uniform(1.5, 3.5))
    if sev >= 3 and joint in ("radiocarpal", "intercarpal"):
        les.ankylosis = True
        les.narrowing = 1.0
    if joint in WRIST_JOINTS:
        les.swelling_mm *= 1.3  # the wrist soft tissue is thicker
    return les


def sample_plan(rng: np.random.Generator, label: str, severity: int, spare_wrist: bool = False) -> CasePlan:
    """Draw per-joint severities around the case severity.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of randomness (consumed deterministically).
    label : {"RA", "Normal"}
    severity : int
        Case severity 1-3 for RA; ignored (0) for normal.
    spare_wrist : bool
        Leave the wrist healthy: the same draws, then the wrist joints reset, so the fingers are
        those of the standard case (an evaluation set where only finger joints carry disease).

    Returns
    -------
    CasePlan
    """
    joints = {j: JointLesion() for j in JOINT_NAMES}
    if label == "RA":
        severity = int(np.clip(severity, 1, 3))
        p_inv = {1: 0.65, 2: 0.78, 3: 0.9}[severity]
        # Polyarticular: each RA joint is involved with a probability that rises with severity.
        involved = [j for j in RA_JOINTS if rng.random() < p_inv]
        small = [j for j in involved if j in SMALL_JOINTS]
        if len(small) < 4:  # polyarticular: at least four small joints
            extra = [j for j in SMALL_JOINTS if j not in small]
            rng.shuffle(extra)
            involved += extra[: 4 - len(small)]
        if not any(j in involved for j in ("radiocarpal", "intercarpal")) and severity >= 2:
            involved.append("intercarpal")
        for j in involved:
            s = int(np.clip(severity + rng.choice([-1, 0, 0, 0, 1]), 1, 3))
            joints[j] = _joint_lesion(rng, j, s)
        # The case severity is realised at least at two joints.
        top = [j for j in involved if joints[j].severity >= severity]
        for j in involved[: max(0, 2 - len(top))]:
            joints[j] = _joint_lesion(rng, j, severity)
        if spare_wrist:
            for j in WRIST_JOINTS:
                joints[j] = JointLesion()
    else:
        label, severity = "Normal", 0
    plan = CasePlan(label=label, severity=severity, joints=joints)
    # RA-unrelated findings: ~30% of normals, ~12% of RA (OA coexists with RA in older patients).
    p_oa, p_fx = (0.22, 0.12) if label == "Normal" else (0.1, 0.04)
    if rng.random() < p_oa:
        n = int(rng.integers(1, 5))
        for j in rng.permutation(DIP_JOINTS)[:n]:
            plan.dip_oa[str(j)] = float(rng.integers(1, 4))
    if rng.random() < p_fx:
        plan.fracture = {"ray": int(rng.choice([2, 3, 4, 5, 5, 5])), "t": float(rng.uniform(0.35, 0.75)),
                         "angle_deg": float(rng.uniform(4.0, 12.0) * rng.choice([-1, 1]))}
    return plan


# ---- Sharp/van der Heijde truth (see the module docstring) ---------------------------------
#: Version of the mapping from plan and bites to SvdH grades, recorded in the ground truth.
SVDH_MAPPING = "ra_desktop.phantom svdh 1"
SVDH_EROSION_SITES: tuple[str, ...] = (
    "MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "IP1", "PIP2", "PIP3", "PIP4", "PIP5",
    "CMC1", "trapezium_trapezoid", "scaphoid", "lunate", "distal_radius", "distal_ulna",
)
SVDH_JSN_SITES: tuple[str, ...] = (
    "MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "PIP2", "PIP3", "PIP4", "PIP5",
    "CMC3", "CMC4", "CMC5", "trapezium_scaphoid", "capitate_scaphoid_lunate", "radiocarpal",
)
#: Where the bites of a wrist joint sit, in plan order (cycled), as (bone, SvdH erosion area or
#: None where the bone is no SvdH area). Must follow :func:`ra_desktop.phantom.anatomy.build_hand`.
WRIST_BITE_BONES: dict[str, tuple[tuple[str, str | None], ...]] = {
    "radiocarpal": (("radius", "distal_radius"), ("scaphoid", "scaphoid"), ("lunate", "lunate")),
    "intercarpal": (("capitate", None), ("hamate", None), ("trapezoid", "trapezium_trapezoid"),
                    ("scaphoid", "scaphoid")),
    "ulnar_styloid": (("ulna", "distal_ulna"),),
}
#: Bones at each finger joint: (proximal, distal) bone names as the anatomy draws them.
FINGER_JOINT_BONES: dict[str, tuple[str, str]] = {
    **{f"MCP{r}": (f"MC{r}", f"PP{r}") for r in range(1, 6)},
    **{f"PIP{r}": (f"PP{r}", f"MP{r}") for r in range(2, 6)},
    "IP1": ("PP1", "DP1"),
}
_JSN_FROM: dict[str, str] = {
    **{f"MCP{r}": f"MCP{r}" for r in range(1, 6)}, **{f"PIP{r}": f"PIP{r}" for r in range(2, 6)},
    "radiocarpal": "radiocarpal", "trapezium_scaphoid": "intercarpal",
    "capitate_scaphoid_lunate": "intercarpal",
}


def bite_grade(share: float) -> int:
    """SvdH erosion points of one bite whose radius is ``share`` of the bitten bone's half-width."""
    return 1 if share < 0.25 else 2 if share < 0.5 else 3


def jsn_grade(les: JointLesion) -> int:
    """SvdH narrowing grade of one joint's lesion (generalised narrowing only)."""
    if les.ankylosis or les.narrowing >= 1.0:
        grade = 4
    elif les.narrowing >= 0.5:
        grade = 3
    elif les.narrowing > 0:
        grade = 2
    else:
        grade = 0
    if les.subluxation_mm > 0:
        grade = max(grade, 3)
    return grade


def svdh_truth(plan: CasePlan, hand: str, bites: list[dict]) -> dict:
    """The ground truth's ``"svdh"`` entry: per-area SvdH grades of the case's hand.

    Parameters
    ----------
    plan : CasePlan
    hand : {"R", "L"}
    bites : list of dict
        Every drawn erosion: ``joint``, ``bone``, ``area`` (SvdH erosion site or None) and
        ``share`` (bite radius / half-width of the bitten bone end), as measured on the drawn
        geometry (:mod:`ra_desktop.phantom.generate`).

    Returns
    -------
    dict
        ``mapping``, ``hand``, ``erosion`` {site: 0-5}, ``jsn`` {site: 0-4} (defined areas only),
        ``not_defined`` {"erosion": [...], "jsn": [...]} and ``bites`` (each with its grade).
    """
    erosion = {site: 0 for site in SVDH_EROSION_SITES}
    listed = []
    for b in bites:
        share = round(float(b["share"]), 3)  # graded as recorded, so the JSON checks itself
        grade = bite_grade(share) if b["area"] is not None else None
        if grade is not None:
            erosion[b["area"]] = min(5, erosion[b["area"]] + grade)
        listed.append({"joint": b["joint"], "bone": b["bone"], "area": b["area"], "share": share,
                       "grade": grade})
    jsn, not_defined = {}, []
    for site in SVDH_JSN_SITES:
        if site in _JSN_FROM:
            jsn[site] = jsn_grade(plan.joints[_JSN_FROM[site]])
        elif plan.joints["intercarpal"].narrowing > 0:  # CMC3-5 under carpal collapse
            not_defined.append(site)
        else:
            jsn[site] = 0
    return {"mapping": SVDH_MAPPING, "hand": hand, "erosion": erosion, "jsn": jsn,
            "not_defined": {"erosion": [], "jsn": not_defined}, "bites": listed}
