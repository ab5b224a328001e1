"""Radiogrammetry on hand radiographs: metacarpal cortical index and joint space width.

Qt-free API for the viewer, the worklist and the command line:

- :func:`measure_hand` -- automatic: MC2-4 (W, M, T, MCI), MCP2-5 and PIP2-5 joint space
  widths, each validated; optional joint positions from the caller.
- :func:`measure_bone` -- one metacarpal between two clicked ends (the manual fallback).
- :func:`measure_joint` -- one joint from a click on it and a click on the finger beyond it.
- :func:`bone_bright` -- a Radiograph's pixels with bone bright, and its spacing.

Results (:mod:`ra_desktop.measure.results`) are frozen dataclasses; a rejected result carries
no number, only the reason and the checks. These are measurements, not a diagnosis; reference
ranges are not bundled.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Loaded on first use (PEP 562): the viewer imports measure.roi with the window, and this package's
# analysis modules pull in scipy (0.2 s) that the window does not need to appear.
_WHERE = {
    "JSW_CENTRAL": "definitions", "JSW_JOINTS": "definitions", "MCI_BONES": "definitions", "MC_REGION": "definitions",
    "bone_bright": "hand", "measure_hand": "hand", "measure_joint": "joints", "measure_bone": "metacarpal",
    "NOTICE": "results", "BoneResult": "results", "Check": "results", "HandResult": "results",
    "JointResult": "results", "ProfileEdges": "results",
}
__all__ = sorted(_WHERE)

if TYPE_CHECKING:
    from ra_desktop.measure.definitions import JSW_CENTRAL, JSW_JOINTS, MC_REGION, MCI_BONES
    from ra_desktop.measure.hand import bone_bright, measure_hand
    from ra_desktop.measure.joints import measure_joint
    from ra_desktop.measure.metacarpal import measure_bone
    from ra_desktop.measure.results import NOTICE, BoneResult, Check, HandResult, JointResult, ProfileEdges


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
    globals()[name] = value
    return value
