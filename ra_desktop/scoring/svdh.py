"""The Sharp/van der Heijde method for hands: its areas, their score ranges, and totals. No Qt.

Per hand, erosions are scored in 16 areas (0-5) and joint space narrowing in 15 areas (0-4)
(van der Heijde 2000; ../shared/FIELD.md). An area can also be *not assessable* (hidden by a
cast, out of the field, unreadable): it is left out of the totals and counted, never read as 0.
Areas are named by the joint or bone they score; the erosion and the narrowing score of a joint
share its site (and its marker on the image).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

EROSION, JSN = "erosion", "jsn"
KINDS = (EROSION, JSN)
HANDS = ("R", "L")
MAX_SCORE = {EROSION: 5, JSN: 4}
NOT_ASSESSABLE = "NA"

# (site, label) in the standard reading order: fingers radial to ulnar, then the wrist.
_EROSION_AREAS = (
    ("MCP1", "MCP 1"), ("MCP2", "MCP 2"), ("MCP3", "MCP 3"), ("MCP4", "MCP 4"), ("MCP5", "MCP 5"),
    ("IP1", "Thumb IP"), ("PIP2", "PIP 2"), ("PIP3", "PIP 3"), ("PIP4", "PIP 4"), ("PIP5", "PIP 5"),
    ("CMC1", "CMC 1 (base of MC1)"), ("trapezium_trapezoid", "Trapezium + trapezoid"),
    ("scaphoid", "Scaphoid"), ("lunate", "Lunate"), ("distal_radius", "Distal radius"),
    ("distal_ulna", "Distal ulna"),
)
_JSN_AREAS = (
    ("MCP1", "MCP 1"), ("MCP2", "MCP 2"), ("MCP3", "MCP 3"), ("MCP4", "MCP 4"), ("MCP5", "MCP 5"),
    ("PIP2", "PIP 2"), ("PIP3", "PIP 3"), ("PIP4", "PIP 4"), ("PIP5", "PIP 5"),
    ("CMC3", "CMC 3"), ("CMC4", "CMC 4"), ("CMC5", "CMC 5"),
    ("trapezium_scaphoid", "Trapezium–scaphoid"), ("capitate_scaphoid_lunate", "Capitate–scaphoid–lunate"),
    ("radiocarpal", "Radiocarpal"),
)

# Marker labels on the radiograph, where the wrist's areas sit close together: the usual
# abbreviations, so neighbouring labels stay readable. Finger sites are already short.
_SHORT = {
    "trapezium_trapezoid": "Tm+Td", "scaphoid": "Sc", "lunate": "Lu", "distal_radius": "DR",
    "distal_ulna": "DU", "trapezium_scaphoid": "Tm–Sc", "capitate_scaphoid_lunate": "C–S–L",
    "radiocarpal": "RC",
}


def short_label(site: str) -> str:
    """The marker label of ``site`` (e.g. "MCP2", "RC" for the radiocarpal joint)."""
    return _SHORT.get(site, site)


@dataclass(frozen=True)
class Area:
    """One scored area of one hand: what it scores (``kind``), where (``site``), up to ``max``."""

    hand: str
    kind: str
    site: str
    label: str

    @property
    def max(self) -> int:
        return MAX_SCORE[self.kind]

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.hand, self.kind, self.site)

    def describe(self) -> str:
        side = "right" if self.hand == "R" else "left"
        return f"{self.label}, {'erosion' if self.kind == EROSION else 'narrowing'} ({side} hand, 0–{self.max})"


def hand_areas(hand: str) -> tuple[Area, ...]:
    """The 31 areas of one hand in the order a reader scores them: erosions, then narrowing."""
    if hand not in HANDS:
        raise ValueError(f"hand must be 'L' or 'R', got {hand!r}")
    return (tuple(Area(hand, EROSION, s, lab) for s, lab in _EROSION_AREAS)
            + tuple(Area(hand, JSN, s, lab) for s, lab in _JSN_AREAS))


AREAS_PER_HAND = len(hand_areas("R"))
SITES: tuple[str, ...] = tuple(dict.fromkeys(s for s, _ in _EROSION_AREAS + _JSN_AREAS))
_BY_KEY = {a.key: a for hand in HANDS for a in hand_areas(hand)}


def area(hand: str, kind: str, site: str) -> Area:
    try:
        return _BY_KEY[(hand, kind, site)]
    except KeyError:
        raise ValueError(f"no Sharp/van der Heijde {kind} area {site!r} for hand {hand!r}") from None


def check_score(a: Area, value: int | str | None) -> int | str | None:
    """``value`` if it is a valid score for ``a`` (an integer 0..max, or NOT_ASSESSABLE), else raise."""
    if value is None or value == NOT_ASSESSABLE:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= a.max:
        raise ValueError(f"{a.describe()}: score must be 0–{a.max} or {NOT_ASSESSABLE}, got {value!r}")
    return value


@dataclass(frozen=True)
class Totals:
    """Sums over the scored areas; not-assessable and unscored areas are counted, not summed."""

    erosion: int
    jsn: int
    erosion_max: int  # the maximum over the areas counted (not-assessable ones excluded)
    jsn_max: int
    scored: int
    not_assessable: int
    unscored: int

    @property
    def total(self) -> int:
        return self.erosion + self.jsn

    @property
    def total_max(self) -> int:
        return self.erosion_max + self.jsn_max

    @property
    def complete(self) -> bool:
        return self.unscored == 0


def totals(scores: Mapping[tuple[str, str, str], int | str | None], hands: Iterable[str]) -> Totals:
    """Totals of ``scores`` (area key -> score) over the areas of ``hands``."""
    ero = jsn = ero_max = jsn_max = scored = na = unscored = 0
    for hand in hands:
        for a in hand_areas(hand):
            value = scores.get(a.key)
            if value is None:
                unscored += 1
            elif value == NOT_ASSESSABLE:
                na += 1
                continue
            else:
                scored += 1
            if a.kind == EROSION:
                ero += int(value or 0) if value is not None else 0
                ero_max += a.max
            else:
                jsn += int(value or 0) if value is not None else 0
                jsn_max += a.max
    return Totals(ero, jsn, ero_max, jsn_max, scored, na, unscored)
