"""A phantom's Sharp/van der Heijde truth, read from its ground-truth JSON. No Qt.

The generator writes per-area grades of the case's hand under the ground truth's ``"svdh"`` key
(:func:`ra_desktop.phantom.lesions.svdh_truth`, where the mapping from lesion plan to grades is
defined). Areas whose change the generator does not grade are *not defined* there; here they
become :data:`NOT_ASSESSABLE`, so every comparison leaves them out (and counts them) instead of
reading a number nobody defined. Ground truth written before that key existed (the bundled demo
cases among them) has no SvdH truth: :class:`TruthUnavailable` says so.
"""
from __future__ import annotations

from typing import Any, Mapping

from ra_desktop.errors import DataError
from ra_desktop.scoring.svdh import EROSION, HANDS, JSN, NOT_ASSESSABLE, check_score, hand_areas

#: The reader name phantom truth is exported under (``ra-desktop scores truth``).
TRUTH_READER = "phantom truth"
TRUTH_KEY = "svdh"

Score = int | str
ScoreKey = tuple[str, str, str]


class TruthUnavailable(DataError):
    """The ground truth has no usable SvdH truth (predates it, or is not a phantom's)."""


def truth_scores(ground_truth: Mapping[str, Any]) -> dict[ScoreKey, Score]:
    """Every SvdH area of the phantom's hand -> its true grade, or NOT_ASSESSABLE where not defined.

    Parameters
    ----------
    ground_truth : dict
        A phantom's ground-truth JSON, as loaded.

    Returns
    -------
    dict
        ``(hand, kind, site) -> int | "NA"`` for the 31 areas of the case's hand (the other hand
        was not imaged: it has no entries).

    Raises
    ------
    TruthUnavailable
        The file predates SvdH truth, is not a phantom's ground truth, or its entry is malformed.
    """
    if not isinstance(ground_truth, Mapping) or not ground_truth.get("synthetic"):
        raise TruthUnavailable("not a phantom's ground truth (no \"synthetic\": true): "
                               "only generated phantoms have SvdH truth")
    entry = ground_truth.get(TRUTH_KEY)
    if entry is None:
        generator = ground_truth.get("generator", "an older generator")
        raise TruthUnavailable(
            f"this ground truth predates SvdH truth (written by {generator!s} without the "
            f"\"{TRUTH_KEY}\" key); regenerate the phantoms with `ra-desktop phantom` to get "
            "per-area Sharp/van der Heijde grades")
    try:
        return _parse(entry)
    except (KeyError, TypeError, ValueError) as exc:
        raise TruthUnavailable(f"malformed \"{TRUTH_KEY}\" entry in the ground truth: {exc}") from None


def _parse(entry: Mapping[str, Any]) -> dict[ScoreKey, Score]:
    hand = entry["hand"]
    if hand not in HANDS:
        raise ValueError(f"hand must be one of {HANDS}, got {hand!r}")
    grades = {EROSION: entry[EROSION], JSN: entry[JSN]}
    not_defined = entry.get("not_defined") or {}
    out: dict[ScoreKey, Score] = {}
    for a in hand_areas(hand):
        undefined = a.site in (not_defined.get(a.kind) or ())
        graded = a.site in grades[a.kind]
        if undefined == graded:
            raise ValueError(f"{a.describe()}: " + ("both graded and not defined" if graded
                                                     else "neither graded nor listed as not defined"))
        value = NOT_ASSESSABLE if undefined else grades[a.kind][a.site]
        out[a.key] = check_score(a, value)
    known = {a.site for a in hand_areas(hand) if a.kind == EROSION}, {a.site for a in hand_areas(hand) if a.kind == JSN}
    for kind, sites in zip((EROSION, JSN), known):
        extra = (set(grades[kind]) | set(not_defined.get(kind) or ())) - sites
        if extra:
            raise ValueError(f"unknown {kind} area(s) {sorted(extra)}")
    return out
