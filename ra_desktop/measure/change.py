"""Change of radiogrammetry between two studies of one patient: mean MCI and each joint space
width, per year, against a smallest detectable change from the method's precision. No Qt.

Only values valid in both studies are compared (the others are listed as left out); joint space
widths only when both studies are in the same unit (mm needs a pixel spacing in both).

Smallest detectable change (SDC) for one value measured twice: SDC = 1.96 · √2 · SD, with the
SD of repeated measurement taken from the repositioning precision (coefficient of variation) as
CV × the value (mean of the two studies). The CVs are the ones ``bench/bench_measure.py``
measured on phantoms (9 hands × 5 re-renders, rotation ±5°, shift ±5 mm, new noise; README
"Radiogrammetry"): **phantom precision, not measured on patients**; a site with its own
repeat-study precision should replace them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from ra_desktop.measure.results import HandResult
from ra_desktop.scoring.progression import years_between  # one rule for a study interval

#: Repositioning coefficients of variation measured by bench/bench_measure.py (phantoms).
PRECISION_CV: dict[str, float] = {"MCI": 0.0048, "JSW": 0.045}
PRECISION_SOURCE = ("phantom repositioning test (bench/bench_measure.py): CV of the mean MCI 0.48%, of each "
                    "mean JSW 4.5%; not measured on patients")


@dataclass(frozen=True)
class ValueChange:
    name: str  # "mean MCI", "JSW MCP2"...
    prior: float
    current: float
    unit: str  # "" for the MCI
    years: float | None
    sdc: float | None

    @property
    def change(self) -> float:
        return self.current - self.prior

    @property
    def per_year(self) -> float | None:
        return self.change / self.years if self.years else None

    @property
    def beyond_sdc(self) -> bool | None:
        return None if self.sdc is None else abs(self.change) > self.sdc

    def text(self) -> str:
        digits = 3 if self.unit != "px" else 1
        u = f" {self.unit}" if self.unit else ""
        out = f"{self.name}: {self.prior:.{digits}f} → {self.current:.{digits}f}, change {self.change:+.{digits}f}{u}"
        out += f" ({self.per_year:+.{digits}f}{u} per year)" if self.per_year is not None else " (per year unknown)"
        if self.sdc is not None:
            out += (f"; {'beyond' if self.beyond_sdc else 'within'} the smallest detectable change "
                    f"(±{self.sdc:.{digits}f}{u})")
        return out


@dataclass(frozen=True)
class MeasureChange:
    years: float | None
    values: list[ValueChange]
    left_out: list[str] = field(default_factory=list)  # not valid in one of the studies

    def lines(self) -> list[str]:
        out = [v.text() for v in self.values]
        if self.years is None:
            out.append("Change per year unknown: a study date is missing or not earlier.")
        if self.left_out:
            out.append(f"Not compared (not valid in both studies): {', '.join(self.left_out)}.")
        return out


def _sdc(kind: str, a: float, b: float) -> float:
    return 1.96 * math.sqrt(2.0) * PRECISION_CV[kind] * abs(a + b) / 2.0


def measurement_change(prior: HandResult, current: HandResult, prior_date: str | None = None,
                       current_date: str | None = None) -> MeasureChange:
    """Mean MCI and each MCP/PIP joint space width (mean over the central part), prior → current."""
    years = years_between(prior_date, current_date)
    values, left = [], []
    if prior.mean_MCI is not None and current.mean_MCI is not None:
        values.append(ValueChange("mean MCI", prior.mean_MCI, current.mean_MCI, "", years,
                                  _sdc("MCI", prior.mean_MCI, current.mean_MCI)))
    else:
        left.append("mean MCI")
    for site in sorted(set(prior.joints) | set(current.joints), key=lambda s: (s[:3] != "MCP", s)):
        p, c = prior.joints.get(site), current.joints.get(site)
        if p is None or c is None or not (p.valid and c.valid) or p.unit != c.unit:
            left.append(f"JSW {site}")
            continue
        values.append(ValueChange(f"JSW {site}", p.mean, c.mean, c.unit, years, _sdc("JSW", p.mean, c.mean)))
    return MeasureChange(years, values, left)
