"""Progression between two scored studies of one patient: per-area change, change per year, and
whether the change is larger than the smallest detectable change. No Qt.

Only areas scored in both studies count (a not-assessable or unscored area on either side is left
out, and counted), so a total change never mixes areas seen once with areas seen twice. A change
is called real only above the smallest detectable change (SDC) when one is configured: for one
reader, SDC = 1.96 · SD(differences) / √2 (Bruynesteyn 2005), measured on repeated readings.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Mapping

from ra_desktop.scoring.svdh import EROSION, NOT_ASSESSABLE, hand_areas

Key = tuple[str, str, str]


@dataclass(frozen=True)
class AreaChange:
    key: Key
    label: str
    prior: int
    current: int

    @property
    def change(self) -> int:
        return self.current - self.prior


@dataclass(frozen=True)
class Progression:
    changes: list[AreaChange]  # every area scored in both, in reading order
    left_out: int  # areas not assessable or unscored in either study
    years: float | None  # between the study dates, when both are known and in order
    sdc: float | None

    def total(self, kind: str | None = None) -> int:
        return sum(c.change for c in self.changes if kind is None or c.key[1] == kind)

    @property
    def erosion(self) -> int:
        return self.total(EROSION)

    @property
    def jsn(self) -> int:
        return self.total("jsn")

    @property
    def per_year(self) -> float | None:
        return self.total() / self.years if self.years else None

    @property
    def beyond_sdc(self) -> bool | None:
        """True when the total change exceeds the SDC, None when no SDC is configured."""
        return None if self.sdc is None else abs(self.total()) > self.sdc

    def summary(self) -> str:
        parts = [f"total change {self.total():+d} (erosion {self.erosion:+d}, narrowing {self.jsn:+d}) over "
                 f"{len(self.changes)} areas scored in both"]
        if self.left_out:
            parts.append(f"{self.left_out} areas left out (not assessable or unscored in one study)")
        if self.years:
            parts.append(f"{self.years:.1f} years apart: {self.per_year:+.1f} per year")
        else:
            parts.append("change per year unknown (a study date is missing)")
        if self.sdc is not None:
            word = "exceeds" if self.beyond_sdc else "does not exceed"
            parts.append(f"{word} the smallest detectable change ({self.sdc:g})")
        return "; ".join(parts)


def years_between(prior: str | None, current: str | None) -> float | None:
    """Years from one YYYYMMDD date to a later one; None when either is missing or malformed."""
    try:
        a = date(int(prior[:4]), int(prior[4:6]), int(prior[6:8]))
        b = date(int(current[:4]), int(current[4:6]), int(current[6:8]))
    except (TypeError, ValueError):
        return None
    days = (b - a).days
    return days / 365.25 if days > 0 else None


def progression(prior: Mapping[Key, int | str], current: Mapping[Key, int | str], hands: list[str],
                prior_date: str | None = None, current_date: str | None = None,
                sdc: float | None = None) -> Progression:
    """Compare two sheets (area key -> score) over ``hands``."""
    changes, left_out = [], 0
    for hand in hands:
        for a in hand_areas(hand):
            p, c = prior.get(a.key), current.get(a.key)
            if p is None or c is None or NOT_ASSESSABLE in (p, c):
                left_out += 1
                continue
            changes.append(AreaChange(a.key, f"{a.label} {'erosion' if a.kind == EROSION else 'narrowing'}",
                                      int(p), int(c)))
    return Progression(changes, left_out, years_between(prior_date, current_date), sdc)
