"""Feedback on a learner's Sharp/van der Heijde scores of a phantom, and running statistics. No Qt.

Per area of the imaged hand, the learner's score against the phantom's truth
(:func:`ra_desktop.scoring.truth.truth_scores`):

* ``agree`` — the same grade;
* ``over`` — a higher grade than the truth (damage scored that is not there, or too much);
* ``under`` — a lower grade, but not 0: the lesion was seen, its grade underestimated;
* ``missed`` — the truth has damage and the learner scored 0, marked it not assessable, or left
  it unscored: a lesion not found (its joint is drawn on the image);
* ``not scored`` — no damage there, and the learner left it unscored or marked it not assessable;
* ``not assessable`` — the generator does not grade this area here (its truth is NA): left out.

Case totals count every area the truth grades; an area the learner left unscored or marked not
assessable counts 0 in the learner's total (a quiz asks for every gradable area). Statistics over
the cases answered so far: quadratic-weighted kappa of all compared areas pooled (erosion and
narrowing together; :func:`ra_desktop.scoring.agreement.quadratic_kappa`), the mean absolute
difference of case totals, and the share of compared areas with exactly the truth's grade. An area
is *compared* where both the learner and the truth give a number.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from ra_desktop.scoring.agreement import quadratic_kappa
from ra_desktop.scoring.svdh import NOT_ASSESSABLE, Area, hand_areas
from ra_desktop.scoring.template import fit_sites, ground_truth_sites

AGREE, OVER, UNDER, MISSED, NOT_SCORED, NOT_GRADED = (
    "agree", "over", "under", "missed", "not scored", "not assessable")
VERDICTS = (AGREE, OVER, UNDER, MISSED, NOT_SCORED, NOT_GRADED)

ScoreKey = tuple[str, str, str]


@dataclass(frozen=True)
class AreaFeedback:
    area: Area
    learner: int | str | None
    truth: int | str
    verdict: str

    @property
    def compared(self) -> bool:
        return isinstance(self.learner, int) and isinstance(self.truth, int)


@dataclass(frozen=True)
class CaseFeedback:
    """Feedback on one case: every area of the imaged hand, the totals, where the misses are."""

    hand: str
    areas: tuple[AreaFeedback, ...]
    learner_total: int
    truth_total: int
    miss_positions: dict[str, tuple[float, float]]  # site -> image (x, y) of each missed lesion

    @property
    def total_difference(self) -> int:
        """Learner's total minus the truth's: positive when the learner scored more damage."""
        return self.learner_total - self.truth_total

    def count(self, verdict: str) -> int:
        return sum(1 for a in self.areas if a.verdict == verdict)

    @property
    def misses(self) -> tuple[AreaFeedback, ...]:
        return tuple(a for a in self.areas if a.verdict == MISSED)


def verdict(learner, truth) -> str:
    """The verdict of one area (see the module's list)."""
    if truth == NOT_ASSESSABLE:
        return NOT_GRADED
    if not isinstance(learner, int):  # unscored (None) or marked not assessable
        return MISSED if truth > 0 else NOT_SCORED
    if learner == truth:
        return AGREE
    if learner > truth:
        return OVER
    return MISSED if learner == 0 else UNDER


def site_positions(ground_truth: Mapping, hand: str) -> dict[str, tuple[float, float]]:
    """Image positions of every scoring site: the phantom's own joint centres where it names the
    site, the hand template fitted to them for the rest (the carpal bones)."""
    known = ground_truth_sites(dict(ground_truth))
    if len(known) < 2:
        return known
    return fit_sites(hand, known)


def case_feedback(learner: Mapping[ScoreKey, int | str], truth: Mapping[ScoreKey, int | str],
                  ground_truth: Mapping | None = None) -> CaseFeedback:
    """Feedback on a learner's sheet of one case.

    Parameters
    ----------
    learner : dict
        ``(hand, kind, site) -> int | "NA"``, as the worksheet holds them (unscored areas absent).
    truth : dict
        The phantom's truth (:func:`ra_desktop.scoring.truth.truth_scores`): every area of one hand.
    ground_truth : dict, optional
        The phantom's ground truth, for where the missed lesions are on the image.
    """
    hands = {k[0] for k in truth}
    if len(hands) != 1:
        raise ValueError(f"the truth must cover one hand, it covers {sorted(hands) or 'none'}")
    hand = hands.pop()
    rows, learner_total, truth_total = [], 0, 0
    for a in hand_areas(hand):
        t, mine = truth[a.key], learner.get(a.key)
        rows.append(AreaFeedback(a, mine, t, verdict(mine, t)))
        if t != NOT_ASSESSABLE:
            truth_total += int(t)
            learner_total += mine if isinstance(mine, int) else 0
    positions = site_positions(ground_truth, hand) if ground_truth else {}
    misses = {r.area.site: positions[r.area.site] for r in rows if r.verdict == MISSED and r.area.site in positions}
    return CaseFeedback(hand, tuple(rows), learner_total, truth_total, misses)


@dataclass(frozen=True)
class SessionStats:
    cases: int
    compared: int  # area pairs with a number on both sides
    kappa: float | None  # None: undefined (nothing compared, or neither side varies)
    mad_total: float | None  # mean |learner total - truth total| per case
    exact_share: float | None  # share of compared areas with the truth's grade

    def summary(self) -> str:
        if not self.cases:
            return "No case answered yet."

        def num(x, fmt):
            return "—" if x is None else format(x, fmt)

        return (f"{self.cases} case{'s' if self.cases != 1 else ''} · weighted kappa {num(self.kappa, '.2f')} · "
                f"mean |total difference| {num(self.mad_total, '.1f')} · exact {num(self.exact_share, '.0%')} "
                f"of {self.compared} areas")


def session_stats(feedback: Iterable[CaseFeedback]) -> SessionStats:
    """Running statistics over the cases answered so far."""
    feedback = list(feedback)
    mine, true = [], []
    for f in feedback:
        for a in f.areas:
            if a.compared:
                mine.append(a.learner)
                true.append(a.truth)
    n = len(mine)
    return SessionStats(
        len(feedback), n, quadratic_kappa(mine, true) if n else None,
        sum(abs(f.total_difference) for f in feedback) / len(feedback) if feedback else None,
        sum(1 for p, q in zip(mine, true) if p == q) / n if n else None)
