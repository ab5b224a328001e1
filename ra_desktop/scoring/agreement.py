"""Agreement between two Sharp/van der Heijde readings of the same cases. No Qt.

Two readers, a reader with herself (a second reading under another name), or a reader against
a phantom's truth (:mod:`ra_desktop.scoring.truth`). For each pair of readings of a case, an area
counts only where both give a score: an area *not assessable* in either reading is left out of
that pair, and so is one that only one of them scored; both are counted and reported, never
read as 0 (an area neither scored is simply absent). Scores of a hand only one reading covers (a phantom images one hand) are not compared.

* Per area: **quadratic-weighted Cohen's kappa** (Cohen 1968; Fleiss & Cohen 1973) of the cases
  scored in both, with ``n`` and a percentile **bootstrap** 95% interval over those cases
  (``n_boot`` resamples, seeded per area so one area's interval does not depend on which others
  are present). Kappa is undefined (None) when neither reading varies and they agree throughout
  (all 0, say): chance agreement is then perfect too. Resamples where it is undefined are left out
  of the interval, and their number kept.
* Totals (erosion, narrowing, both; per case over the areas both readings scored): **ICC(2,1)**,
  two-way random effects, absolute agreement, single rater (McGraw & Wong 1996, ICC(A,1);
  Shrout & Fleiss 1979, ICC(2,1)) with its F-based 95% interval, and the **smallest detectable
  change** SDC = 1.96 · SD(differences) / √2 (Bruynesteyn et al. 2005, one reader), with ``n``.

Quadratic kappa is computed in its moment form, 2·cov(a, b) / (var a + var b + (mean a − mean b)²)
with population moments, which equals 1 − Σ w·O / Σ w·E for weights (i − j)² exactly (the tests
check it against the table form and published values).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterable, Sequence

import numpy as np

from ra_desktop.errors import DataError
from ra_desktop.scoring.svdh import EROSION, HANDS, JSN, NOT_ASSESSABLE, hand_areas

ScoreKey = tuple[str, str, str]
N_BOOT = 2000
SEED = 0
LEVEL = 0.95
_ALL_AREAS = tuple(a for hand in HANDS for a in hand_areas(hand))
_AREA_INDEX = {a.key: i for i, a in enumerate(_ALL_AREAS)}


class AgreementError(DataError):
    """The readings cannot be paired as asked (says what to fix)."""


# ---- statistics ----------------------------------------------------------------------------------
def _kappa_moments(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Quadratic-weighted kappa along the last axis (NaN where undefined)."""
    ma, mb = a.mean(-1), b.mean(-1)
    cov = ((a - ma[..., None]) * (b - mb[..., None])).mean(-1)
    den = a.var(-1) + b.var(-1) + (ma - mb) ** 2
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, 2.0 * cov / np.where(den > 0, den, 1.0), np.nan)


def quadratic_kappa(a: Sequence[float], b: Sequence[float]) -> float | None:
    """Cohen's kappa with quadratic weights of two paired score lists; None when undefined."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError("two paired 1-D score lists of the same length")
    if a.size == 0:
        return None
    k = float(_kappa_moments(a, b))
    return None if math.isnan(k) else k


def kappa_bootstrap(a: Sequence[float], b: Sequence[float], n_boot: int = N_BOOT,
                    rng: np.random.Generator | None = None, level: float = LEVEL
                    ) -> tuple[tuple[float, float] | None, int]:
    """Percentile bootstrap interval of :func:`quadratic_kappa`, resampling the pairs.

    Returns ``((low, high) or None, number of resamples with a defined kappa)``.
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    n = a.size
    if n < 2 or n_boot < 1:
        return None, 0
    rng = rng or np.random.default_rng(SEED)
    defined = []
    for start in range(0, n_boot, 500):  # bounded memory on large studies
        idx = rng.integers(0, n, size=(min(500, n_boot - start), n))
        k = _kappa_moments(a[idx], b[idx])
        defined.append(k[np.isfinite(k)])
    ks = np.concatenate(defined)
    if ks.size == 0:
        return None, 0
    tail = 100.0 * (1.0 - level) / 2.0
    lo, hi = np.percentile(ks, [tail, 100.0 - tail])
    return (float(lo), float(hi)), int(ks.size)


@dataclass(frozen=True)
class ICCResult:
    """ICC(A,1) of an n × k table, with its F-based interval (None where undefined)."""

    value: float | None
    lower: float | None
    upper: float | None
    n: int
    k: int
    msr: float | None = None  # mean squares: rows (targets), columns (raters), error
    msc: float | None = None
    mse: float | None = None


def icc_a1(ratings, level: float = LEVEL) -> ICCResult:
    """ICC(2,1): two-way random effects, absolute agreement, single rater (McGraw & Wong 1996).

    Parameters
    ----------
    ratings : array-like, shape (n targets, k raters), complete
    level : float
        Confidence level of the interval (McGraw & Wong 1996, Table 7, case 2A, with the
        Satterthwaite degrees of freedom; F quantiles from scipy.stats).
    """
    # scipy.special, not scipy.stats: the CPU installer ships ndimage and special only.
    from scipy.special import fdtri  # the F distribution's quantile: fdtri(dfn, dfd, p)

    y = np.asarray(ratings, float)
    if y.ndim != 2 or not np.all(np.isfinite(y)):
        raise ValueError("ratings must be a complete n × k table")
    n, k = y.shape
    if n < 2 or k < 2:
        return ICCResult(None, None, None, n, k)
    grand = y.mean()
    ssr = k * ((y.mean(1) - grand) ** 2).sum()
    ssc = n * ((y.mean(0) - grand) ** 2).sum()
    sse = ((y - grand) ** 2).sum() - ssr - ssc
    msr, msc = ssr / (n - 1), ssc / (k - 1)
    mse = max(sse, 0.0) / ((n - 1) * (k - 1))
    den = msr + (k - 1) * mse + k * (msc - mse) / n
    if den <= 0 or not np.isfinite(den):
        return ICCResult(None, None, None, n, k, msr, msc, mse)
    icc = (msr - mse) / den
    if icc >= 1.0 or mse <= 0:
        return ICCResult(float(icc), None, None, n, k, msr, msc, mse)
    alpha = 1.0 - level
    a = k * icc / (n * (1 - icc))
    b = 1 + k * icc * (n - 1) / (n * (1 - icc))
    v_num = (a * msc + b * mse) ** 2
    v_den = (a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1))
    v = v_num / v_den if v_den > 0 else math.inf
    f_low = fdtri(n - 1, v, 1 - alpha / 2)
    f_up = fdtri(v, n - 1, 1 - alpha / 2)
    c = k * msc + (k * n - k - n) * mse
    lower = n * (msr - f_low * mse) / (f_low * c + n * msr)
    upper = n * (f_up * msr - mse) / (c + n * f_up * msr)
    return ICCResult(float(icc), float(lower), float(upper), n, k, float(msr), float(msc), float(mse))


@dataclass(frozen=True)
class SDCResult:
    """Smallest detectable change of paired totals (first − second reading)."""

    value: float | None
    sd_difference: float | None
    mean_difference: float | None
    n: int


def smallest_detectable_change(first: Sequence[float], second: Sequence[float]) -> SDCResult:
    """SDC = 1.96 · SD(first − second) / √2 (Bruynesteyn et al. 2005), SD with n − 1."""
    d = np.asarray(first, float) - np.asarray(second, float)
    n = int(d.size)
    if n < 2:
        return SDCResult(None, None, float(d.mean()) if n else None, n)
    sd = float(d.std(ddof=1))
    return SDCResult(1.96 * sd / math.sqrt(2.0), sd, float(d.mean()), n)


# ---- pairing readings ----------------------------------------------------------------------------
def _hands(reading) -> tuple[str, ...]:
    return tuple(reading.hands) or tuple(dict.fromkeys(k[0] for k in reading.scores))


def pair_readings(readings: Iterable, readers: tuple[str, str] | None = None):
    """Pair the readings of two readers case by case.

    Parameters
    ----------
    readings : iterable of csvio.Reading
        Any number of readers and cases; each (reader, case) at most once.
    readers : (str, str), optional
        The two readers to compare; needed when the readings have more than two.

    Returns
    -------
    (str, str, list of (Reading, Reading))
        The readers and the pairs of the cases both read, in the first reader's order.
    """
    by_reader: dict[str, dict[str, object]] = {}
    for r in readings:
        cases = by_reader.setdefault(r.reader, {})
        if r.case_id in cases:
            raise AgreementError(f"reader {r.reader!r} has two readings of case {r.case_id!r}")
        cases[r.case_id] = r
    if readers is None:
        if len(by_reader) != 2:
            names = ", ".join(repr(n) for n in by_reader) or "none"
            raise AgreementError(f"agreement needs two readers; the files have {len(by_reader)} ({names}): "
                                 "name the two to compare")
        readers = tuple(by_reader)  # type: ignore[assignment]
    first, second = readers
    if first == second:
        raise AgreementError("name two different readers (a second reading by the same reader "
                             "needs its own reader name)")
    for name in (first, second):
        if name not in by_reader:
            raise AgreementError(f"no readings by {name!r} (readers: {', '.join(map(repr, by_reader))})")
    a, b = by_reader[first], by_reader[second]
    pairs = [(a[c], b[c]) for c in a if c in b]
    if not pairs:
        raise AgreementError(f"{first!r} and {second!r} have no case in common (cases are matched by case_id)")
    return first, second, pairs


# ---- the comparison --------------------------------------------------------------------------------
@dataclass(frozen=True)
class AreaAgreement:
    hand: str
    kind: str
    site: str
    label: str
    kappa: float | None
    ci: tuple[float, float] | None
    n: int  # cases scored in both readings
    not_assessable: int  # cases left out: not assessable in either reading
    unscored: int  # cases left out: scored in one reading only
    exact: int  # cases with the same score
    resamples: int  # bootstrap resamples with a defined kappa


@dataclass(frozen=True)
class TotalAgreement:
    name: str  # "erosion", "jsn", "total"
    icc: ICCResult
    sdc: SDCResult


@dataclass(frozen=True)
class Agreement:
    first: str
    second: str
    cases: int  # cases both read
    areas: list[AreaAgreement]
    totals: list[TotalAgreement]
    not_assessable: int  # area pairs left out over all cases
    unscored: int
    other_hand: int  # scores of a hand the other reading does not cover
    n_boot: int = N_BOOT
    seed: int = SEED
    level: float = LEVEL
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """Plain numbers for ``--json``."""
        out = asdict(self)
        for t in out["totals"]:
            t["icc"].pop("msr"), t["icc"].pop("msc"), t["icc"].pop("mse")
        return out


def compare(pairs: Sequence, first: str = "first", second: str = "second", *, n_boot: int = N_BOOT,
            seed: int = SEED, level: float = LEVEL) -> Agreement:
    """Agreement of paired readings ``[(reading_a, reading_b), ...]`` of the same cases."""
    values: dict[ScoreKey, tuple[list[int], list[int]]] = {}
    left_na: dict[ScoreKey, int] = {}
    left_unscored: dict[ScoreKey, int] = {}
    totals: dict[str, tuple[list[int], list[int]]] = {EROSION: ([], []), JSN: ([], []), "total": ([], [])}
    other_hand = 0
    for ra, rb in pairs:
        ha, hb = _hands(ra), _hands(rb)
        common = [h for h in HANDS if h in ha and h in hb]
        other_hand += sum(1 for k in ra.scores if k[0] not in common)
        other_hand += sum(1 for k in rb.scores if k[0] not in common)
        case_sum = {EROSION: [0, 0], JSN: [0, 0]}
        compared = 0
        for hand in common:
            for area in hand_areas(hand):
                va, vb = ra.scores.get(area.key), rb.scores.get(area.key)
                if va == NOT_ASSESSABLE or vb == NOT_ASSESSABLE:
                    left_na[area.key] = left_na.get(area.key, 0) + 1
                    continue
                if va is None and vb is None:
                    continue  # neither scored it: nothing to compare, nothing left out
                if va is None or vb is None:
                    left_unscored[area.key] = left_unscored.get(area.key, 0) + 1
                    continue
                xa, xb = values.setdefault(area.key, ([], []))
                xa.append(int(va))
                xb.append(int(vb))
                case_sum[area.kind][0] += int(va)
                case_sum[area.kind][1] += int(vb)
                compared += 1
        if compared:
            for name, (sa, sb) in (*case_sum.items(),
                                   ("total", (case_sum[EROSION][0] + case_sum[JSN][0],
                                              case_sum[EROSION][1] + case_sum[JSN][1]))):
                totals[name][0].append(sa)
                totals[name][1].append(sb)

    areas = []
    for area in _ALL_AREAS:
        key = area.key
        if key not in values and key not in left_na and key not in left_unscored:
            continue
        xa, xb = values.get(key, ([], []))
        rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(_AREA_INDEX[key],)))
        ci, resamples = kappa_bootstrap(xa, xb, n_boot, rng, level)
        areas.append(AreaAgreement(
            area.hand, area.kind, area.site, area.label, quadratic_kappa(xa, xb) if xa else None, ci,
            len(xa), left_na.get(key, 0), left_unscored.get(key, 0),
            sum(1 for p, q in zip(xa, xb) if p == q), resamples))
    total_rows = []
    for name in (EROSION, JSN, "total"):
        sa, sb = totals[name]
        table = np.column_stack([sa, sb]) if sa else np.zeros((0, 2))
        total_rows.append(TotalAgreement(name, icc_a1(table, level), smallest_detectable_change(sa, sb)))
    notes = []
    if any(a.kappa is None and a.n for a in areas):
        notes.append("kappa undefined: neither reading varies and they agree on every case")
    return Agreement(first, second, len(pairs), areas, total_rows, sum(left_na.values()),
                     sum(left_unscored.values()), other_hand, n_boot, seed, level, notes)


# ---- the table --------------------------------------------------------------------------------------
def _num(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x:.{digits}f}"


def format_table(ag: Agreement) -> str:
    """One readable table: areas (kappa, CI, n, left out), then the totals (ICC, SDC)."""
    pct = f"{ag.level:.0%}"
    lines = [f"Sharp/van der Heijde agreement: {ag.first} vs {ag.second}, {ag.cases} case"
             f"{'' if ag.cases == 1 else 's'} read by both",
             f"Quadratic-weighted kappa per area ({pct} bootstrap CI over cases, {ag.n_boot} resamples, "
             f"seed {ag.seed}); left out: NA = not assessable in either reading, unscored = scored in one only",
             "",
             f"{'hand':<4}  {'kind':<8}  {'area':<28}  {'kappa':>6}  {pct + ' CI':<15}  {'n':>4}  {'exact':>5}  "
             f"{'NA':>4}  {'unscored':>8}"]
    for a in ag.areas:
        ci = "—" if a.ci is None else f"{a.ci[0]:.2f} to {a.ci[1]:.2f}"
        kind = "erosion" if a.kind == EROSION else "JSN"
        lines.append(f"{a.hand:<4}  {kind:<8}  {a.label:<28}  {_num(a.kappa):>6}  {ci:<15}  {a.n:>4}  "
                     f"{a.exact:>5}  {a.not_assessable:>4}  {a.unscored:>8}")
    lines += ["", f"Left out: {ag.not_assessable} area pair{'s' if ag.not_assessable != 1 else ''} not assessable "
                  f"in either reading, {ag.unscored} scored in one reading only"
                  + (f"; {ag.other_hand} score{'s' if ag.other_hand != 1 else ''} of a hand the other reading "
                     "does not cover" if ag.other_hand else "") + ".",
              "",
              f"Totals per case over the areas both scored: ICC(2,1) absolute agreement ({pct} F-based CI); "
              f"SDC = 1.96·SD(diff)/√2; mean diff = {ag.first} − {ag.second}",
              f"{'total':<8}  {'ICC':>6}  {pct + ' CI':<15}  {'SDC':>6}  {'mean diff':>9}  {'n':>4}"]
    for t in ag.totals:
        ci = "—" if t.icc.lower is None else f"{t.icc.lower:.2f} to {t.icc.upper:.2f}"
        name = {"erosion": "erosion", "jsn": "JSN", "total": "total"}[t.name]
        lines.append(f"{name:<8}  {_num(t.icc.value):>6}  {ci:<15}  {_num(t.sdc.value):>6}  "
                     f"{_num(t.sdc.mean_difference):>9}  {t.icc.n:>4}")
    for note in ag.notes:
        lines.append(f"Note: {note}.")
    return "\n".join(lines)


def agreement_of(readings: Iterable, readers: tuple[str, str] | None = None, **kw) -> Agreement:
    """:func:`pair_readings` then :func:`compare`."""
    first, second, pairs = pair_readings(readings, readers)
    return compare(pairs, first, second, **kw)


__all__ = ["Agreement", "AgreementError", "AreaAgreement", "ICCResult", "SDCResult", "TotalAgreement",
           "agreement_of", "compare", "format_table", "icc_a1", "kappa_bootstrap", "pair_readings",
           "quadratic_kappa", "smallest_detectable_change"]

