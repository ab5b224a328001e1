"""Lesion swap: counterfactual training images from twin phantoms (not in the published recipe).

A twin pair (``ra-desktop phantom --twins``) is one hand rendered twice: with RA lesions and
without. Blending the two through a soft mask of the diseased joints' regions gives images whose
label is decided only inside those regions:

* the twin with the RA case's joint regions pasted in is RA;
* the RA case with the twin's (healthy) joint regions pasted in is normal.

Everything outside the joint regions then carries no label information — the global level shift
that osteopenia causes through the percentile window, finger positions moved by narrowing or
deviation, the forearm — so a model trained on these images has to take its evidence from the
joints, which is where its heat maps should point. It is a data intervention, not a loss on the
maps: the maps are still measured, not trained.

Subsets (``subset_p``): an RA case of severity >= 2 always has a diseased wrist, so a model can
learn to take all its evidence there (the model card's "With a healthy wrist"). With probability
``subset_p`` an RA-labelled swap pastes only a random subset of the diseased regions (the app's
regions: each finger joint, and the wrist as one), so finger disease alone must carry the label.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from ra_desktop.explain.regions import REGION_JOINTS
from ra_desktop.io.dataset import Sample
from ra_desktop.io.ground_truth import load_ground_truth

EDGE_SIGMA_PX = 1.5  # soft edge of the blend at the cached (256 px) size: no hard seam to learn


@dataclass(frozen=True)
class TwinPair:
    ra: int  # index of the RA case in the cache
    normal: int  # index of its healthy twin
    mask: np.ndarray  # float32 blend weight of the RA case's diseased joint regions, cache size
    ground_truth: dict | None = None  # the RA case's, for subset masks
    regions: tuple[tuple[str, ...], ...] = ()  # diseased joints grouped by reported region


def joint_region_mask(ground_truth: dict, shape: tuple[int, int],
                      joints: frozenset[str] | None = None) -> np.ndarray:
    """Soft mask (float32, 0..1) of the discs of the joints with severity >= 1, at ``shape``.

    The discs are the joint regions the app reports (``explain.regions``): ``radius_px`` about
    each joint centre, scaled from the ground truth's image size to ``shape`` (ellipses when the
    resize changes the aspect ratio). ``joints``: only these (all diseased joints when None).
    """
    H, W = ground_truth["image_shape"]
    sy, sx = shape[0] / float(H), shape[1] / float(W)
    yy, xx = np.mgrid[: shape[0], : shape[1]].astype(np.float32)
    mask = np.zeros(shape, np.float32)
    for name, joint in ground_truth["joints"].items():
        if int(joint.get("severity") or 0) < 1 or (joints is not None and name not in joints):
            continue
        cx, cy = joint["center"]
        r = float(joint["radius_px"])
        inside = ((xx + 0.5) / sx - cx) ** 2 + ((yy + 0.5) / sy - cy) ** 2 <= r * r
        mask[inside] = 1.0
    return np.clip(ndimage.gaussian_filter(mask, EDGE_SIGMA_PX), 0.0, 1.0)


def find_pairs(samples: list[Sample], shape: tuple[int, int]) -> dict[int, TwinPair]:
    """Each index of a twin pair -> its :class:`TwinPair` (phantoms without a twin are left out).

    Twins share a patient ID and differ in label; the mask comes from the RA member's ground truth.
    """
    by_patient: dict[str, dict[int, int]] = {}
    for i, s in enumerate(samples):
        if s.patient_id:
            by_patient.setdefault(s.patient_id, {})[int(s.label)] = i
    pairs: dict[int, TwinPair] = {}
    for members in by_patient.values():
        if set(members) != {0, 1}:
            continue
        gt = load_ground_truth(samples[members[1]].path)
        if not gt or "joints" not in gt:
            continue
        pair = TwinPair(ra=members[1], normal=members[0], mask=joint_region_mask(gt, shape),
                        ground_truth=gt, regions=diseased_groups(gt))
        pairs[pair.ra] = pairs[pair.normal] = pair
    return pairs


def diseased_groups(ground_truth: dict) -> tuple[tuple[str, ...], ...]:
    """The diseased joints (severity >= 1) grouped by reported region; regions with none left out."""
    joints = ground_truth.get("joints") or {}
    groups = []
    for parts in REGION_JOINTS.values():
        sick = tuple(j for j in parts if int((joints.get(j) or {}).get("severity") or 0) >= 1)
        if sick:
            groups.append(sick)
    return tuple(groups)


def subset_mask(pair: TwinPair, shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The blend mask of a random non-empty subset of the pair's diseased regions (each kept with
    probability 0.5)."""
    if len(pair.regions) < 2 or pair.ground_truth is None:
        return pair.mask
    keep = rng.random(len(pair.regions)) < 0.5
    if not keep.any():
        keep[int(rng.integers(len(pair.regions)))] = True
    joints = frozenset(j for group, k in zip(pair.regions, keep) if k for j in group)
    return joint_region_mask(pair.ground_truth, shape, joints)


OUTSIDE = ("twin", "mean")


def swap(units: list[np.ndarray], pair: TwinPair, rng: np.random.Generator,
         outside: str = "twin", subset_p: float = 0.0) -> tuple[np.ndarray, int, np.ndarray]:
    """A blended image, its label, and the blend mask: RA regions (1) or healthy regions (0) on a
    background. For label 1 the mask is where the image's disease is (a subset's, when drawn).

    ``outside="twin"``: the background is the other twin (RA regions on the healthy twin, or the
    reverse). Narrowing moves the bones beyond a diseased joint, so that background is then
    anti-correlated with the label. ``outside="mean"``: the background is the mean of both twins,
    the same for both labels, so nothing outside the regions carries the label, and the seams at
    the regions' edges are alike for both.

    ``subset_p``: the share of RA-labelled swaps that paste a random subset of the diseased
    regions (:func:`subset_mask`) instead of all of them; a normal swap always heals them all.
    """
    if outside not in OUTSIDE:
        raise ValueError(f"outside must be one of {OUTSIDE}, not {outside!r}")
    ra, normal, m = units[pair.ra], units[pair.normal], pair.mask
    label = int(rng.random() < 0.5)
    if label and subset_p > 0 and rng.random() < subset_p:
        m = subset_mask(pair, m.shape, rng)
    inside = ra if label else normal
    if outside == "twin":
        background = normal if label else ra
    else:
        background = 0.5 * (ra + normal)
    return (m * inside + (1.0 - m) * background).astype(np.float32), label, m
