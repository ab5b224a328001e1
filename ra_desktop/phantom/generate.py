"""Public entry points: one synthetic case, or a whole labelled data set.

Seeds: each image gets its own generator from ``SeedSequence(seed, spawn_key=(index,))`` so a
data set is identical whatever the worker count. Seed ranges used by the project: training
< 100000, held-out test 500000+, bundled demo 900000+.
"""
from __future__ import annotations

import csv
import multiprocessing as mp
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ra_desktop.phantom.anatomy import Frame, build_hand
from ra_desktop.phantom.lesions import (CMC_JOINTS, FINGER_JOINT_BONES, GT_JOINT_NAMES, JOINT_NAMES, RA_JOINTS,
                                        WRIST_BITE_BONES, CasePlan, JointLesion, sample_plan, svdh_truth)
from ra_desktop.phantom.radiogrammetry import radiogrammetry_truth
from ra_desktop.phantom.render import MAX_VALUE, render
from ra_desktop.phantom.writer import patient_id, write_case

# 1.1: separate disease/anatomy streams, twins; 1.2: CMC joints in the ground truth (same pixels)
GENERATOR_VERSION = "1.2"
DEFAULT_SIZE = 2000
ASPECT = 0.8  # width / height (a portrait 24x30 cm detector field)


@dataclass
class PhantomCase:
    """One synthetic radiograph with its ground truth.

    Attributes
    ----------
    image : numpy.ndarray
        uint16, 12-bit values, MONOCHROME2 (bone bright), shape (H, W) with H the long side.
    ground_truth : dict
        JSON-serialisable: label, severity, per-joint severity/lesions/centre/radius, laterality,
        pixel spacing, seed, other (RA-unrelated) findings.
    mask : numpy.ndarray
        uint8 lesion mask, value = index + 1 of the joint in ``GT_JOINT_NAMES`` inside RA lesion
        regions (periarticular region of a diseased joint and its erosions), 0 elsewhere.
        RA-unrelated findings (DIP OA, old fracture) are never in the mask.
    """

    image: np.ndarray
    ground_truth: dict
    mask: np.ndarray


def case_rng(seed: int, index: int) -> np.random.Generator:
    """The generator of image ``index`` of data set ``seed`` (independent of worker count)."""
    return np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(int(index),)))


def is_ra_index(index: int, ra_fraction: float) -> bool:
    """Exact label balance without knowing n: Bresenham-style interleave of RA and normal."""
    return int(np.floor((index + 1) * ra_fraction)) - int(np.floor(index * ra_fraction)) == 1


def _lesion_mask(shape, joints_px: dict, erosions, sp) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    yy = np.arange(shape[0])[:, None]
    xx = np.arange(shape[1])[None, :]

    def disk(cx, cy, r, value):
        r0, r1 = max(int(cy - r), 0), min(int(cy + r) + 2, shape[0])
        c0, c1 = max(int(cx - r), 0), min(int(cx + r) + 2, shape[1])
        if r1 <= r0 or c1 <= c0:
            return
        inside = (xx[:, c0:c1] - cx) ** 2 + (yy[r0:r1] - cy) ** 2 <= r * r
        mask[r0:r1, c0:c1][inside] = value

    for name, j in joints_px.items():
        if j["severity"] > 0:
            disk(j["center"][0], j["center"][1], 0.6 * j["radius_px"], GT_JOINT_NAMES.index(name) + 1)
    for st in erosions:
        disk(st.centre[0] / sp, st.centre[1] / sp, 1.2 * st.radius / sp, GT_JOINT_NAMES.index(st.joint) + 1)
    return mask


def generate_case(seed_or_rng, label: str = "RA", severity: int = 1, side: str = "R",
                  size: int = DEFAULT_SIZE, *, seed_info=None,
                  force_findings: tuple[str, ...] = (), spare_wrist: bool = False,
                  joint_spaces: bool = False, pose: dict | None = None, anatomy: int = 1) -> PhantomCase:
    """Generate one synthetic PA hand/wrist radiograph.

    Parameters
    ----------
    seed_or_rng : int or numpy.random.Generator
        Seed (an int gives ``case_rng(seed, 0)``) or a generator.
    label : {"RA", "Normal"}
    severity : int
        Case severity 1-3 for RA (ignored for normal).
    side : {"R", "L"}
        Laterality; the left hand is the mirror image of the right.
    size : int
        Long side (rows) in pixels. The API accepts small sizes (tests); the CLI enforces 1500-3000.
    seed_info : optional
        Recorded in the ground truth as ``seed`` (defaults to the int seed).
    force_findings : tuple of {"dip_oa", "fracture"}
        Add these RA-unrelated findings whatever the draw (demo cases).
    spare_wrist : bool
        RA in the finger joints only: the standard case of this seed with its wrist healthy.
    joint_spaces : bool
        Draw radiographic joint spaces at the finger joints (anatomy.build_hand); off by default,
        so every phantom made without it keeps its pixels.
    pose : dict, optional
        The same hand repositioned (a precision test): ``rotation_deg`` added to the hand's
        rotation, ``shift_mm`` (dx, dy) added to its placement, ``noise_seed`` for new texture
        and noise under the same acquisition.
    anatomy : {1, 2}
        1 (default): the anatomy every phantom so far was drawn with (pixels never change).
        2: shaped carpal bones, distal radius and oriented trabeculae (phantom.carpus).

    Returns
    -------
    PhantomCase
    """
    if isinstance(seed_or_rng, np.random.Generator):
        rng = seed_or_rng
    else:
        rng = case_rng(int(seed_or_rng), 0)
        seed_info = seed_info if seed_info is not None else [int(seed_or_rng), 0]
    if label not in ("RA", "Normal"):
        raise ValueError(f"label must be 'RA' or 'Normal', not {label!r}")
    if side not in ("R", "L"):
        raise ValueError(f"side must be 'R' or 'L', not {side!r}")
    # Disease and anatomy draw from separate streams, so a case and its healthy twin
    # (generate_twins) share everything but the lesions.
    plan_seed, anatomy_seed = (int(v) for v in rng.integers(2**63, size=2))
    plan = sample_plan(np.random.default_rng(plan_seed), label, severity, spare_wrist)
    if "dip_oa" in force_findings and not plan.dip_oa:
        plan.dip_oa = {"DIP2": 2.0, "DIP3": 3.0, "DIP4": 2.0}
    if "fracture" in force_findings and not plan.fracture:
        plan.fracture = {"ray": 5, "t": 0.62, "angle_deg": 9.0}  # old boxer's-type fracture
    return _render_case(plan, anatomy_seed, side, size, seed_info, joint_spaces=joint_spaces, pose=pose,
                        anatomy=anatomy)


def generate_twins(seed_or_rng, severity: int = 2, side: str = "R", size: int = DEFAULT_SIZE, *,
                   seed_info=None, spare_wrist: bool = False, anatomy: int = 1) -> tuple[PhantomCase, PhantomCase]:
    """An RA case and its healthy twin: same hand, acquisition and noise; only the lesions differ.

    Trained on such pairs, a classifier has nothing but the RA lesions to tell the classes apart
    (no anatomy or acquisition shortcut), which is what its heat maps should then point at. The
    twin keeps the case's RA-unrelated findings (DIP OA, old fracture), so those carry no label.
    Both are placed in the field by the healthy hand's outline, so their forearms coincide.
    ``spare_wrist``: the RA case's wrist stays healthy (:func:`sample_plan`), so the pair differs
    in the finger joints only, a counterfactual for where a model finds finger disease.
    """
    if isinstance(seed_or_rng, np.random.Generator):
        rng = seed_or_rng
    else:
        rng = case_rng(int(seed_or_rng), 0)
        seed_info = seed_info if seed_info is not None else [int(seed_or_rng), 0]
    plan_seed, anatomy_seed = (int(v) for v in rng.integers(2**63, size=2))
    plan = sample_plan(np.random.default_rng(plan_seed), "RA", severity, spare_wrist)
    healthy = CasePlan(label="Normal", severity=0, joints={j: JointLesion() for j in JOINT_NAMES},
                       dip_oa=dict(plan.dip_oa), fracture=plan.fracture)
    return (_render_case(plan, anatomy_seed, side, size, seed_info, placement_plan=healthy, anatomy=anatomy),
            _render_case(healthy, anatomy_seed, side, size, seed_info, anatomy=anatomy))


def _render_case(plan: CasePlan, anatomy_seed: int, side: str, size: int, seed_info,
                 placement_plan: CasePlan | None = None, joint_spaces: bool = False,
                 pose: dict | None = None, anatomy: int = 1, density: float | None = None) -> PhantomCase:
    """Pixels and ground truth of ``plan`` on the hand drawn from ``anatomy_seed``.

    ``placement_plan``: position the hand in the field as if it had this plan (twins share it).
    ``anatomy``: 1 (default) or 2 (:mod:`~ra_desktop.phantom.carpus`).
    ``density``: the bones' mineral density instead of the drawn one (0.82-1.15; lower looks like
    an older, osteoporotic hand); recorded in the ground truth as ``bone_density``.
    """
    if density is not None and not 0.4 <= float(density) <= 1.5:
        raise ValueError(f"bone density must be 0.4-1.5, not {density!r}")
    if anatomy not in (1, 2):
        raise ValueError(f"anatomy must be 1 or 2, not {anatomy!r}")
    rng = np.random.default_rng(anatomy_seed)
    h = int(size)
    w = int(round(h * ASPECT))
    scale = float(rng.uniform(0.88, 1.1))
    fov_h = float(260.0 * rng.uniform(0.96, 1.04) * (0.5 + 0.5 * scale))
    sp = fov_h / h
    angle = float(rng.normal(0.0, 3.5)) + (float(pose.get("rotation_deg", 0.0)) if pose else 0.0)
    geo_seed = int(rng.integers(2**63))
    # Build once at the origin to measure the hand, then again placed in the field (same seed).
    place = placement_plan or plan
    probe = build_hand(np.random.default_rng(geo_seed), place, Frame(scale, angle, side == "L"), joint_spaces,
                       anatomy)
    xmin, ymin, xmax, _ = probe.extent
    top = rng.uniform(6.0, 16.0)
    cx = (w * sp) / 2 + rng.uniform(-0.04, 0.04) * w * sp
    offset = (cx - (xmin + xmax) / 2, top - ymin)
    if pose:
        offset = (offset[0] + float(pose["shift_mm"][0]), offset[1] + float(pose["shift_mm"][1]))
    frame = Frame(scale, angle, side == "L", offset)
    model = build_hand(np.random.default_rng(geo_seed), plan, frame, joint_spaces, anatomy, density)
    if placement_plan is not None:  # collimation follows the shared outline, not the swelling
        model.extent = build_hand(np.random.default_rng(geo_seed), placement_plan, frame, joint_spaces,
                                  anatomy).extent
    noise_rng = np.random.default_rng(int(pose["noise_seed"])) if pose else None
    image, acq = render(model, (h, w), sp, rng, side, noise_rng=noise_rng, anatomy=anatomy)

    joints_px = {}
    ic = plan.joints["intercarpal"]
    for name in GT_JOINT_NAMES:
        j = model.joints[name]
        if name in CMC_JOINTS:  # deformed by carpal collapse, not drawn on their own
            sev, kinds = (int(ic.severity), ["carpal_collapse"]) if ic.narrowing > 0 else (0, [])
        else:
            sev, kinds = int(plan.joints[name].severity), plan.joints[name].lesion_types()
        joints_px[name] = {
            "center": [round(float(j["center"][0] / sp), 2), round(float(j["center"][1] / sp), 2)],
            "radius_px": round(float(j["radius"] / sp), 2),
            "severity": sev,
            "lesions": kinds,
            "ra_joint": name in RA_JOINTS or name in CMC_JOINTS,
        }
    mask = _lesion_mask((h, w), joints_px, model.erosions, sp)
    gt = {
        "synthetic": True,
        "generator": f"ra_desktop.phantom {GENERATOR_VERSION}",
        **({"anatomy": anatomy} if anatomy != 1 else {}),
        "label": plan.label,
        "severity": int(plan.severity),
        "laterality": side,
        "view": "PA",
        "pixel_spacing_mm": [round(sp, 5), round(sp, 5)],
        "image_shape": [h, w],
        "bits_stored": 12,
        "max_value": MAX_VALUE,
        "seed": seed_info,
        "joints": joints_px,
        "other_findings": plan.other_findings(),
        "mask_encoding": "uint8; 0 = no RA lesion; k = index+1 of the joint in joint_names",
        "joint_names": list(GT_JOINT_NAMES),
        "acquisition": {k: (round(v, 4) if isinstance(v, float) else v) for k, v in acq.items()},
        "hand_scale": round(scale, 4),
        **({"bone_density": round(float(density), 4)} if density is not None else {}),
        "rotation_deg": round(angle, 3),
        # Widths at the metacarpals' mid-shaft and joint space widths, from the drawn geometry.
        "radiogrammetry": radiogrammetry_truth(model, sp, (plan.fracture or {}).get("ray"), joint_spaces),
        # Per-area Sharp/van der Heijde grades of this hand (lesions.svdh_truth). Computed from
        # the plan and the drawn geometry only: no pixel and no other key depends on it.
        "svdh": svdh_truth(plan, side, _svdh_bites(plan, model)),
    }
    return PhantomCase(image=image, ground_truth=gt, mask=mask)


def _svdh_bites(plan: CasePlan, model) -> list[dict]:
    """Every drawn erosion with the bone it bites, its SvdH area and its size relative to that bone.

    ``share`` = bite radius / half-width of the bitten bone end (the head or base of a long bone,
    the smaller semi-axis of a carpal bone), both as drawn, so the hand's scale cancels.
    """
    bones = {b.name: b for b in model.bones}
    out = []
    for joint in JOINT_NAMES:
        drawn = [site for site in model.erosions if site.joint == joint]
        planned = plan.joints[joint].erosions
        if len(drawn) != len(planned):  # pragma: no cover - anatomy and plan out of step
            raise RuntimeError(f"{joint}: {len(drawn)} bites drawn for {len(planned)} planned")
        for k, (site, ero) in enumerate(zip(drawn, planned)):
            if joint in FINGER_JOINT_BONES:
                name = FINGER_JOINT_BONES[joint][0 if ero.bone == "proximal" else 1]
                bone, area = bones[name], joint
                half = bone.r_head if ero.bone == "proximal" else bone.r_base
            else:
                name, area = WRIST_BITE_BONES[joint][k % len(WRIST_BITE_BONES[joint])]
                bone = bones[name]
                half = min(bone.a, bone.b) if hasattr(bone, "a") else bone.r_head
            out.append({"joint": joint, "bone": name, "area": area, "share": float(site.radius / half)})
    return out


def _case_params(seed: int, index: int, ra_fraction: float, severity_range: tuple[int, int]):
    rng = case_rng(seed, index)
    label = "RA" if is_ra_index(index, ra_fraction) else "Normal"
    sev = int(rng.integers(severity_range[0], severity_range[1] + 1)) if label == "RA" else 0
    side = "R" if rng.random() < 0.5 else "L"
    return rng, label, sev, side


def _job(args) -> list[dict]:
    out_dir, seed, index, ra_fraction, sev_range, size, formats, twins, spare_wrist, joint_spaces, anatomy = args
    if twins:  # index is even: the RA case; index + 1: its healthy twin, the same patient
        rng = case_rng(seed, index // 2)
        sev = int(rng.integers(sev_range[0], sev_range[1] + 1))
        side = "R" if rng.random() < 0.5 else "L"
        # seed records how to regenerate the pair: generate_twins(case_rng(seed, index // 2), ...)
        pair = generate_twins(rng, sev, side, size, seed_info=[seed, index // 2], spare_wrist=spare_wrist,
                              anatomy=anatomy)
        return [write_case(Path(out_dir), case, seed, index + k, formats, patient=patient_id(seed, index))
                for k, case in enumerate(pair)]
    rng, label, sev, side = _case_params(seed, index, ra_fraction, sev_range)
    case = generate_case(rng, label, sev, side, size, seed_info=[seed, index], spare_wrist=spare_wrist,
                         joint_spaces=joint_spaces, anatomy=anatomy)
    return [write_case(Path(out_dir), case, seed, index, formats)]


def generate_dataset(out_dir, n: int, seed: int, *, ra_fraction: float = 0.5,
                     severity_range: tuple[int, int] = (1, 3), size: int = DEFAULT_SIZE,
                     formats: tuple[str, ...] = ("png",), workers: int = 2, start_index: int = 0,
                     progress: bool = True, twins: bool = False, spare_wrist: bool = False,
                     joint_spaces: bool = False, anatomy: int = 1) -> list[dict]:
    """Generate ``n`` cases into ``out_dir`` (RA/, Normal/, ground_truth/, labels.csv).

    Parameters
    ----------
    out_dir : path-like
    n : int
        Number of images.
    seed : int
        Data-set seed (training < 100000, test 500000+, demo 900000+).
    ra_fraction : float
        Fraction of RA cases (exact up to rounding, interleaved).
    severity_range : (int, int)
        Inclusive range of RA case severities.
    size : int
        Long side in pixels.
    formats : tuple of {"png", "dcm"}
    workers : int
        Processes; the output does not depend on it.
    start_index : int
        First case index (to extend a data set).
    progress : bool
        Show a tqdm bar.
    twins : bool
        Pairs of an RA case and its healthy twin (:func:`generate_twins`), one patient per pair
        so a patient-wise split keeps twins together; ``ra_fraction`` is then 0.5. ``n`` and
        ``start_index`` must be even.
    spare_wrist : bool
        RA cases with healthy wrists: each is the standard case of its index with the wrist
        joints reset (fingers unchanged); with ``twins``, the RA member of each pair.
    joint_spaces : bool
        Draw radiographic joint spaces at the finger joints (not with ``twins``).
    anatomy : {1, 2}
        1 (default) or 2 (:mod:`~ra_desktop.phantom.carpus`), see :func:`generate_case`.

    Returns
    -------
    list of dict
        The labels.csv rows, in index order.
    """
    if twins and (n % 2 or start_index % 2):
        raise ValueError("twins: n and start_index must be even (pairs)")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(str(out_dir), int(seed), i, float(ra_fraction), tuple(severity_range), int(size),
             tuple(formats), bool(twins), bool(spare_wrist), bool(joint_spaces), int(anatomy))
            for i in range(start_index, start_index + n, 2 if twins else 1)]
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        tqdm = None
    bar = tqdm(total=n, desc="phantoms", unit="img", disable=not progress) if tqdm else None
    rows = []
    if workers <= 1:
        for job in jobs:
            done = _job(job)
            rows.extend(done)
            bar and bar.update(len(done))
    else:
        ctx = mp.get_context("spawn")  # fork + threads in BLAS is fragile; spawn is portable
        with ctx.Pool(workers) as pool:
            for done in pool.imap(_job, jobs, chunksize=1):
                rows.extend(done)
                bar and bar.update(len(done))
    if bar:
        bar.close()
    _write_labels(out_dir / "labels.csv", rows)
    return rows


def _write_labels(path: Path, rows: list[dict]):
    """Write (or merge into) labels.csv, keyed by path, sorted by path."""
    existing = {}
    if path.exists():
        with path.open(newline="") as f:
            existing = {r["path"]: r for r in csv.DictReader(f)}
    for r in rows:
        existing[r["path"]] = r
    with path.open("w", newline="") as f:
        wr = csv.DictWriter(f, fieldnames=["path", "label", "patient_id", "severity"])
        wr.writeheader()
        for key in sorted(existing):
            r = existing[key]
            wr.writerow({k: r[k] for k in ("path", "label", "patient_id", "severity")})
