"""Geometry of a posteroanterior hand/wrist radiograph, in millimetres.

Built in a *right-hand frame* (x towards the ulnar side / little finger, y downward = proximal,
origin near the centre of the carpus) and mapped to image millimetres by :class:`Frame`
(scale, rotation, mirroring for the left hand, translation).

Laterality convention (documented conclusion): a PA hand radiograph is displayed fingers up, as if
the viewer faced the patient standing in the anatomical position -- which is the same picture the
X-ray tube sees looking down at the dorsum of a hand laid palm-down on the detector. Lay your own
right hand palm-down and look at its back: the thumb points to the LEFT. So on a PA view of the
RIGHT hand the thumb (and radius) is on the image's left and the little finger (and ulna) on the
right; a LEFT hand is the mirror image, thumb on the image's right.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ra_desktop.phantom.carpus import CARPAL_OUTLINES, FOREARM_SHIFT, forearm_bones, outline_bone
from ra_desktop.phantom.lesions import CasePlan, JointLesion

_NORMAL_GAP_MM = 1.6  # radiographic joint space of MCP/PIP joints (cartilage of both sides)


def _dir(angle_deg: float) -> np.ndarray:
    """Unit vector pointing distally, ``angle`` degrees towards the ulnar side from straight up."""
    a = np.deg2rad(angle_deg)
    return np.array([np.sin(a), -np.cos(a)])


def _radial_perp(u: np.ndarray) -> np.ndarray:
    """Unit vector perpendicular to ``u`` pointing to the radial side (hand frame)."""
    return np.array([u[1], -u[0]])


@dataclass
class Tapered:
    """A long bone: base ``p0``, head ``p1``; half-widths at base, mid-shaft, head (mm)."""

    name: str
    p0: np.ndarray
    p1: np.ndarray
    r_base: float
    r_shaft: float
    r_head: float
    cap_base: float = 0.5  # cap length / radius at the base (1 = hemisphere, small = flat)
    cap_head: float = 1.0
    cortex_mid: float = 1.3  # cortical thickness at mid-shaft (mm)
    cortex_end: float = 0.5
    trab_mid: float = 0.12  # trabecular density inside the medulla (cortex = 1)
    trab_end: float = 0.34
    density: float = 1.0
    clip: tuple[np.ndarray, np.ndarray] | None = None  # (point, outward normal) half-plane cut
    tuft: float = 0.0  # extra half-width at the head end (distal phalanx tuft)
    socket: float = 0.0  # > 0: concave base, a sphere of this radius (mm) with its pole at p0
    outline: tuple | None = None  # (polygon, box) anatomy 2: cut to the polygon inside the box


@dataclass
class Blob:
    """A carpal-type bone: super-ellipse with semi-axes ``a`` (along ``u``) and ``b``."""

    name: str
    centre: np.ndarray
    u: np.ndarray
    a: float
    b: float
    power: float = 2.0
    cortex: float = 0.6
    trab: float = 0.5
    density: float = 1.0


@dataclass
class SoftShape:
    """Soft tissue: ``kind`` "capsule" (p0, p1, r0, r1), "ellipse" (centre, u, a, b) or
    "polygon" (points, r = depth at which full thickness is reached)."""

    kind: str
    pts: list[np.ndarray]
    r0: float = 0.0
    r1: float = 0.0
    u: np.ndarray | None = None
    tmax: float = 1e9  # cap on projected thickness (mm)


@dataclass
class Site:
    """A local modification: osteopenia (strength = fractional loss, radius = sigma) or an
    erosion (strength = depth of the bite 0..1, radius = radius of the bite)."""

    centre: np.ndarray
    radius: float
    strength: float
    joint: str


@dataclass
class HandModel:
    """All geometry of one case in image millimetres."""

    bones: list = field(default_factory=list)
    soft: list[SoftShape] = field(default_factory=list)
    joints: dict[str, dict] = field(default_factory=dict)  # name -> centre, radius, axis
    osteopenia: list[Site] = field(default_factory=list)
    erosions: list[Site] = field(default_factory=list)
    extent: tuple[float, float, float, float] = (0, 0, 0, 0)  # xmin, ymin, xmax, ymax (mm)


class Frame:
    """Hand frame -> image millimetres: scale, rotate about the origin, mirror, translate."""

    def __init__(self, scale: float, angle_deg: float, mirror: bool, offset=(0.0, 0.0)):
        self.s = float(scale)
        a = np.deg2rad(angle_deg)
        self.rot = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
        self.mirror = mirror
        self.offset = np.asarray(offset, float)

    def v(self, vec) -> np.ndarray:
        """Map a direction (no translation, no scale)."""
        out = self.rot @ np.asarray(vec, float)
        return out * np.array([-1.0, 1.0]) if self.mirror else out

    def p(self, pt) -> np.ndarray:
        """Map a point."""
        return self.v(np.asarray(pt, float) * self.s) + self.offset


# Ray table (hand frame): base point of the metacarpal, metacarpal angle (+ = ulnar), lengths
# of metacarpal / proximal / middle / distal phalanx (mm), width scale. Proportions follow adult
# norms: MC2 longest, middle finger longest overall, thumb has no middle phalanx.
_RAYS = {
    1: dict(base=(-27.5, -15.0), angle=-40.0, lengths=(45.0, 31.0, 0.0, 24.0), w=1.12),
    2: dict(base=(-12.0, -19.5), angle=-6.0, lengths=(67.0, 40.0, 23.0, 17.0), w=1.0),
    3: dict(base=(-1.0, -24.5), angle=0.0, lengths=(64.0, 45.0, 27.0, 19.0), w=1.04),
    4: dict(base=(9.5, -21.0), angle=6.0, lengths=(56.0, 42.0, 26.0, 18.0), w=0.94),
    5: dict(base=(18.0, -17.0), angle=13.0, lengths=(52.0, 33.0, 19.0, 16.0), w=0.86),
}
# Carpal bones: centre, long-axis angle (deg from vertical, + = ulnar), semi-axes a, b, power.
_CARPALS = {
    "scaphoid": ((-16.0, 1.5), 32.0, 12.0, 5.6, 2.0),
    "lunate": ((-1.5, 8.5), 0.0, 7.6, 7.2, 2.3),
    "triquetrum": ((10.0, 4.0), -35.0, 6.2, 5.4, 2.2),
    "pisiform": ((12.5, 2.0), 10.0, 5.0, 4.4, 2.0),
    "trapezium": ((-23.5, -9.0), -35.0, 7.8, 6.0, 2.4),
    "trapezoid": ((-12.5, -12.0), 0.0, 6.2, 5.2, 2.6),
    "capitate": ((-1.0, -11.5), 0.0, 11.5, 6.6, 2.6),
    "hamate": ((10.0, -9.0), 12.0, 10.0, 6.0, 2.6),
}


def build_hand(rng: np.random.Generator, plan: CasePlan, frame: Frame,
               joint_spaces: bool = False, anatomy: int = 1, density: float | None = None) -> HandModel:
    """Sample anatomical variation and build the hand's geometry with the plan's lesions.

    Parameters
    ----------
    rng : numpy.random.Generator
    plan : CasePlan
        Per-joint lesions and RA-unrelated findings.
    frame : Frame
        Hand frame -> image mm transform (laterality is the frame's mirroring).
    joint_spaces : bool
        Finger joints with a radiographic joint space: each phalanx's concave base sits the
        joint's gap beyond the head before it (default False: the base overlaps the head, as in
        every phantom made before; those pixels never change).
    anatomy : {1, 2}
        1 (default, every phantom made before): super-ellipse carpals, a plane-cut radius.
        2: carpal outlines and a shaped distal radius (:mod:`~ra_desktop.phantom.carpus`); the
        same draws, so the fingers, joints and lesions are those of 1 (the forearm and its two
        joints sit ``carpus.FOREARM_SHIFT`` further back).

    Returns
    -------
    HandModel
    """
    m = HandModel()
    F, s = frame, frame.s
    J: dict[str, JointLesion] = plan.joints
    spread = rng.uniform(-2.0, 6.0)  # degrees of extra finger abduction
    gap_var = rng.uniform(0.85, 1.15)  # individual cartilage thickness
    dens = rng.uniform(0.82, 1.15)  # bone mineral density
    if density is not None:  # set by the caller (teaching: an older hand); drawn all the same, so
        dens = float(density)  # every later draw, and so the rest of the hand, stays as it was
    tissue_r = rng.uniform(3.2, 4.6)  # soft tissue beyond the bone edge of the fingers
    # Lesion placement draws from its own stream, so the anatomy stream is the same whatever the
    # plan: a healthy twin (same seed, no lesions) differs from its RA case only by the lesions.
    lesion_rng = np.random.default_rng(rng.integers(2**63))

    def add_long(name, p0, p1, rb, rs, rh, **kw):
        kw.setdefault("density", dens)
        if kw.get("clip") is not None:
            kw["clip"] = (F.p(kw["clip"][0]), F.v(kw["clip"][1]))
        m.bones.append(Tapered(name, F.p(p0), F.p(p1), rb * s, rs * s, rh * s, **kw))

    def joint(name, centre, radius, axis):
        m.joints[name] = {"center": F.p(centre), "radius": radius * s, "axis": F.v(axis)}
        les = J.get(name)
        if les is not None and les.osteopenia > 0:
            m.osteopenia.append(Site(F.p(centre), radius * 0.75 * s, les.osteopenia, name))

    def erode(name, pt, r):
        m.erosions.append(Site(F.p(pt), r * s, 0.92, name))

    # ---- carpus (intercarpal narrowing = the bones crowd towards their centroid)
    ic = J["intercarpal"]
    contract = 1.0 - 0.12 * ic.narrowing
    centroid = np.array([-3.0, -2.0])
    carp = {}
    for name, (c0, ang, a, b, pw) in _CARPALS.items():
        c = centroid + (np.array(c0) + rng.normal(0, 0.3, 2) - centroid) * contract
        jitter = rng.normal(0, 2)
        carp[name] = (c, ang + jitter, a, b, pw)
        if anatomy == 2 and name in CARPAL_OUTLINES:
            m.bones.append(outline_bone(name, c0, c, jitter, F, dens))
            continue
        a, b = a * 1.08, b * 1.1  # crowd the carpus: ~1-1.5 mm intercarpal spaces
        at = c + (3.0, 0.0) if anatomy == 2 else c  # anatomy 2: the pisiform over the triquetrum
        m.bones.append(Blob(name, F.p(at), F.v(_dir(ang)), a * s, b * s, pw, cortex=0.6 * s,
                            trab=0.42, density=dens))
    # Hook of the hamate: seen end-on as a dense ring over the hamate body.
    hc = carp["hamate"][0] + (np.array([3.5, -0.5]) if anatomy == 2 else np.array([1.5, 2.5]))
    m.bones.append(Blob("hamate_hook", F.p(hc), F.v(_dir(20)), 3.2 * s, 2.3 * s, 2.0, cortex=0.9 * s,
                        trab=0.2, density=dens * 0.8))
    ray_shift = np.array([0.0, (1.0 - contract) * 22.0])  # distal row sinks with carpal collapse

    # ---- distal radius and ulna (radiocarpal narrowing = forearm moves distally)
    rc = J["radiocarpal"]
    lunate_bottom = carp["lunate"][0][1] + 7.6
    fore = np.array([0.0, lunate_bottom - 16.5 - 1.8 * rc.narrowing * gap_var])
    if anatomy == 2:  # its larger proximal row needs the forearm further back for a joint space
        fore = fore + FOREARM_SHIFT
    tilt = np.array([0.385, -0.923])  # radial inclination ~22 degrees
    sty_tip = fore + (14.0, 12.5)
    if anatomy == 2:
        forearm_bones(add_long, F, fore, sty_tip)
    else:
        add_long("radius", fore + (-13.5, 160), fore + (-13.5, 6.0), 10.0, 9.5, 14.2, cap_head=0.35,
                 cortex_mid=2.6, cortex_end=0.7, clip=(fore + (-14.0, 14.5), tilt), trab_end=0.38)
        add_long("ulna", fore + (9.5, 160), fore + (9.0, 21.5), 7.0, 6.5, 8.0, cap_head=0.8,
                 cortex_mid=2.2, cortex_end=0.6)
        add_long("ulnar_styloid", fore + (12.5, 24.0), sty_tip, 3.4, 2.2, 1.5, cap_head=1.0,
                 cortex_mid=0.7, cortex_end=0.5, trab_mid=0.4)
    joint("radiocarpal", (-8.0, fore[1] + 14.0), 17.0, _dir(0))
    joint("intercarpal", carp["capitate"][0] + (0, 6.0), 16.0, _dir(0))
    joint("ulnar_styloid", sty_tip + (0, 2.0), 8.0, _dir(0))
    # Radiocarpal bare areas: radial styloid, scaphoid waist, lunate margin.
    rc_sites = [fore + (-26.0, 12.5), carp["scaphoid"][0] + (-5.0, 1.0),
                carp["lunate"][0] + (5.5, 5.0)]
    for k, e in enumerate(rc.erosions):
        erode("radiocarpal", rc_sites[k % 3], e.radius_mm)
    for k, e in enumerate(ic.erosions):
        erode("intercarpal", carp[["capitate", "hamate", "trapezoid", "scaphoid"][k % 4]][0]
              + lesion_rng.normal(0, 3.0, 2), e.radius_mm)
    for e in J["ulnar_styloid"].erosions:
        erode("ulnar_styloid", sty_tip + (-1.0 + lesion_rng.uniform(-0.5, 1.5), 2.0 + lesion_rng.uniform(0, 3)),
              e.radius_mm + 0.5)

    # ---- soft tissue of wrist, palm and forearm
    mc_heads = {}
    for ray, spec in _RAYS.items():
        b = np.array(spec["base"]) + ray_shift
        mc_heads[ray] = b + _dir(spec["angle"]) * spec["lengths"][0]
    wr = rng.uniform(-1.5, 2.5)
    # The palm reaches ~15 mm beyond the MC heads (web spaces at the proximal phalanges).
    palm = [(-31.0 - wr, 40.0), (-33.0 - wr, 5.0), (-38.0, -20.0), mc_heads[1] + (-2.0, -4.0),
            mc_heads[2] + (-8.0, -12.0), mc_heads[2] + (-3.0, -16.0), mc_heads[3] + (0.0, -17.0),
            mc_heads[4] + (3.0, -15.0), mc_heads[5] + (7.0, -11.0), mc_heads[5] + (9.0, 2.0),
            (32.0, -38.0), (28.0 + wr, 0.0), (26.0 + wr, 40.0)]
    m.soft.append(SoftShape("polygon", [F.p(q) for q in palm], r0=13.0 * s))
    forearm = [(-31.0 - wr, 30.0), (-36.0 - wr, 230.0), (30.0 + wr, 230.0), (26.0 + wr, 30.0)]
    m.soft.append(SoftShape("polygon", [F.p(q) for q in forearm], r0=14.0 * s))
    sw = J["radiocarpal"].swelling_mm
    if sw > 0:  # widen the wrist outline; thickness capped near the wrist's own (tmax)
        m.soft.append(SoftShape("ellipse", [F.p((-2.0, fore[1] + 16.0))], r0=(27.0 + sw) * s,
                                r1=(16.0 + 1.5 * sw) * s, u=F.v((1.0, 0.0)),
                                tmax=(26.0 + 1.5 * sw) * s))
    sw = J["ulnar_styloid"].swelling_mm
    if sw > 0:  # ulnar-sided bulge (extensor carpi ulnaris tenosynovitis) over the styloid
        m.soft.append(SoftShape("ellipse", [F.p(sty_tip + (3.0, 3.0))], r0=14.0 * s,
                                r1=(9.0 + sw) * s, u=F.v((0.0, -1.0)), tmax=24.0 * s))

    # ---- rays
    for ray, spec in _RAYS.items():
        _build_ray(m, rng, plan, F, ray, spec, ray_shift, spread, gap_var, dens, tissue_r,
                   joint, erode, add_long, joint_spaces)

    pts = np.array([p for sh in m.soft for p in sh.pts])
    m.extent = (pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())
    return m


def _build_ray(m, rng, plan, F, ray, spec, ray_shift, spread, gap_var, dens, tissue_r,
               joint, erode, add_long, joint_spaces=False):
    """Metacarpal and phalanges of one ray, its joints, lesions and soft tissue."""
    s = F.s
    J = plan.joints
    w = spec["w"] * rng.uniform(0.95, 1.05)
    L_mc, L_pp, L_mp, L_dp = (x * rng.uniform(0.97, 1.03) for x in spec["lengths"])
    ang = spec["angle"] + rng.normal(0, 1.0)
    base = np.array(spec["base"]) + ray_shift
    u = _dir(ang)
    names = ("MCP1", "IP1", None) if ray == 1 else (f"MCP{ray}", f"PIP{ray}", f"DIP{ray}")

    # Metacarpal (optionally with a healed, angulated fracture: two segments + callus).
    fx = plan.fracture if plan.fracture and plan.fracture["ray"] == ray else None
    rb, rs, rh = (7.0 if ray != 1 else 7.6) * w, 3.9 * w, 6.8 * w
    # The CMC joint sits just proximal to the metacarpal base; carpal collapse narrows it
    # (lesions.CMC_JOINTS). Geometry only: it draws nothing and consumes no randomness.
    joint(f"CMC{ray}", base - u * 1.0, rb, u)
    if fx:
        pf = base + u * L_mc * fx["t"]
        u2 = _dir(ang + fx["angle_deg"])
        head = pf + u2 * L_mc * (1 - fx["t"])
        add_long(f"MC{ray}_proximal", base, pf + u * 1.5, rb, rs, rs * 1.05, cap_base=0.45,
                 cap_head=0.2, cortex_mid=1.5 * w, trab_mid=0.15)
        add_long(f"MC{ray}", pf - u2 * 1.5, head, rs * 1.05, rs, rh, cap_base=0.2, cap_head=1.0,
                 cortex_mid=1.5 * w, trab_mid=0.15)
        perp = _radial_perp(u)
        callus = [pf + perp * rs * 0.9, pf - perp * rs * 0.9]
        for c in callus:  # fusiform periosteal callus, denser than cortex at the fracture site
            add_long(f"MC{ray}_callus", c - u * 7.0, c + u2 * 7.0, 0.6, 1.9, 0.6, cap_base=1.0,
                     cap_head=1.0, cortex_mid=0.8, trab_mid=0.8, trab_end=0.8, density=dens * 0.9)
        u = u2
    else:
        head = base + u * L_mc
        add_long(f"MC{ray}", base, head, rb, rs, rh, cap_base=0.45, cap_head=1.0,
                 cortex_mid=1.5 * w, trab_mid=0.15)
    if ray == 1:  # two sesamoids at the thumb MCP, a normal finding
        for side in (-1, 1):
            c = head - u * 3.5 + _radial_perp(u) * side * 4.2
            m.bones.append(Blob("sesamoid", F.p(c), F.v(u), 2.4 * s, 2.0 * s, 2.0, cortex=0.5 * s,
                                trab=0.5, density=dens))

    # Phalanges: each joint's gap and (MCP) deviation / subluxation from the plan.
    pj_specs = [(names[0], L_pp, (6.4, 4.1, 5.1)), (names[1], L_mp, (5.4, 3.5, 4.3)),
                (names[2], L_dp, (4.6, 2.4, 2.2))]
    if ray == 1:
        pj_specs = [(names[0], L_pp, (6.8, 4.4, 5.4)), (names[1], L_dp, (5.4, 3.0, 2.6))]
    finger_spread = {1: -spread * 0.6, 2: -spread * 0.7, 3: 0.0, 4: spread * 0.6, 5: spread * 1.2}[ray]
    ang_f = ang + finger_spread + (rng.normal(0, 1.5) if ray > 1 else rng.normal(10, 3))
    prox_end, prox_r = head, rh
    prox_cap = rh  # how far the head before the joint reaches beyond prox_end (cap_head 1.0)
    seg_pts = [base]
    for i, (jname, L, (r0, r1, r2)) in enumerate(pj_specs):
        les = J.get(jname) if jname else None
        is_dip = jname is not None and jname.startswith("DIP")
        oa = plan.dip_oa.get(jname, 0.0) if is_dip else 0.0
        gap = _NORMAL_GAP_MM * gap_var * (0.75 if is_dip else 1.0)
        if les is not None:
            gap *= 1.0 - les.narrowing
            if les.subluxation_mm:
                gap -= 1.5  # volar subluxation: the base overrides the head on a PA view
            ang_f += les.deviation_deg
        if oa:
            gap *= 1.0 - 0.25 * oa
        u_j = _dir(ang_f if i > 0 or ray > 1 else ang_f)
        # Joint-space phantoms: the base's pole sits ``gap`` beyond the head's surface (so far the
        # bones overlapped by the head's cap); the phalanx is shortened by as much, so the joints
        # beyond stay where they were.
        lead = prox_cap if joint_spaces else 0.0
        centre = prox_end + u_j * (lead + gap / 2)
        rad = {0: 11.0, 1: 9.0, 2: 7.5}[i] * w * (1.15 if ray == 1 else 1.0)
        sub = np.zeros(2)
        if les is not None and les.subluxation_mm:
            sub = -_radial_perp(u_j) * les.subluxation_mm  # ulnar translocation of the base
        if jname:
            joint(jname, centre, rad, u_j)
        p0 = prox_end + u_j * (lead + gap) + sub
        p1 = p0 + u_j * (L - lead)
        r0w, r1w, r2w = r0 * w, r1 * w, r2 * w
        is_distal = i == len(pj_specs) - 1
        add_long(f"{'DP' if is_distal else ('PP' if i == 0 else 'MP')}{ray}", p0, p1, r0w, r1w, r2w,
                 cap_base=0.35, cap_head=0.6 if is_distal else 0.9,
                 cortex_mid=(1.1 if i == 0 else 0.9) * w, trab_mid=0.2,
                 tuft=0.9 * w if is_distal else 0.0,
                 socket=1.4 * (prox_r + max(gap, 0.0)) * s if joint_spaces else 0.0)
        # Erosions at the bare areas: the joint margins just inside the capsule.
        if les is not None:
            for e in les.erosions:
                if e.bone == "proximal":
                    pt = prox_end - u_j * prox_r * 0.55 + _radial_perp(u_j) * e.side * prox_r * 0.92
                else:
                    pt = p0 + u_j * r0w * 0.35 + _radial_perp(u_j) * e.side * r0w * 0.95
                erode(jname, pt, e.radius_mm)
            if les.swelling_mm > 0:  # fusiform periarticular soft-tissue swelling
                m.soft.append(SoftShape("ellipse", [F.p(centre)], r0=rad * 1.05 * s,
                                        r1=(prox_r + tissue_r + les.swelling_mm) * s, u=F.v(u_j)))
        if oa:  # Heberden's nodes: marginal osteophytes + subchondral sclerosis + soft tissue
            for side in (-1, 1):
                for q, rr in ((prox_end - u_j * 0.8, prox_r), (p0 + u_j * 0.8, r0w)):
                    c = q + _radial_perp(u_j) * side * (rr + 0.4 * oa)
                    m.bones.append(Blob("osteophyte", F.p(c), F.v(u_j), (1.0 + 0.5 * oa) * s,
                                        (0.6 + 0.3 * oa) * s, 2.0, cortex=0.3 * s, trab=0.9,
                                        density=dens * 1.1))
            m.bones.append(Blob("sclerosis", F.p(centre), F.v(_radial_perp(u_j)), prox_r * 0.9 * s,
                                0.9 * s, 2.0, cortex=0.2 * s, trab=0.6, density=dens))
            m.soft.append(SoftShape("ellipse", [F.p(centre)], r0=rad * 0.8 * s,
                                    r1=(prox_r + tissue_r + 1.0 + 0.4 * oa) * s, u=F.v(u_j)))
        seg_pts.append(p1)
        prox_end, prox_r = p1, r2w
        prox_cap = (0.6 if is_distal else 0.9) * r2w
        ang_f += rng.normal(0, 1.0)
    # Soft tissue: one tapered capsule per segment from the MC head to the fingertip.
    tip = prox_end
    finger_r0 = (rh + tissue_r) * (1.1 if ray == 1 else 1.0)
    mcp_c = m.joints[names[0]]["center"]
    m.soft.append(SoftShape("capsule", [F.p(head - u * 12.0), F.p(seg_pts[1])], r0=finger_r0 * s,
                            r1=(finger_r0 - 0.6) * s))
    for a, b in zip(seg_pts[1:-1], seg_pts[2:]):
        m.soft.append(SoftShape("capsule", [F.p(a), F.p(b)], r0=(finger_r0 - 0.6) * s,
                                r1=(finger_r0 - 2.0) * s))
    _ = (mcp_c, tip)
    if ray == 1:  # first web space: concave edge from the thumb phalanx to the index MCP
        mc2 = np.array(_RAYS[2]["base"]) + ray_shift
        web_in = 0.5 * (head + mc2 + _dir(-6) * 45.0) + np.array([6.0, 6.0])
        m.soft.append(SoftShape("polygon", [F.p(base), F.p(head + u * 12.0), F.p(web_in),
                                            F.p(mc2 + _dir(-6) * 52.0), F.p(mc2)], r0=9.0 * s))
