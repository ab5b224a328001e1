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
from ra_desktop.measure.definitions import JSW_CENTRAL, JSW_JOINTS, MC_REGION, MCI_BONES
from ra_desktop.measure.hand import bone_bright, measure_hand
from ra_desktop.measure.joints import measure_joint
from ra_desktop.measure.metacarpal import measure_bone
from ra_desktop.measure.results import NOTICE, BoneResult, Check, HandResult, JointResult, ProfileEdges

__all__ = ["JSW_CENTRAL", "JSW_JOINTS", "MCI_BONES", "MC_REGION", "NOTICE", "BoneResult", "Check", "HandResult",
           "JointResult", "ProfileEdges", "bone_bright", "measure_bone", "measure_hand", "measure_joint"]
