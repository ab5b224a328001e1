"""Synthetic posteroanterior hand/wrist radiographs with known RA lesions (ground truth included).

All images are synthetic phantoms, not patients. See :mod:`ra_desktop.phantom.generate`.
"""
from ra_desktop.phantom.generate import PhantomCase, case_rng, generate_case, generate_dataset, generate_twins
from ra_desktop.phantom.lesions import JOINT_NAMES, RA_JOINTS
from ra_desktop.phantom.writer import load_ground_truth


def joint_regions() -> tuple[str, ...]:
    """Joint region names, in mask-value order (mask value = index + 1)."""
    return JOINT_NAMES


__all__ = ["PhantomCase", "case_rng", "generate_case", "generate_dataset", "generate_twins", "load_ground_truth",
           "joint_regions", "JOINT_NAMES", "RA_JOINTS"]
