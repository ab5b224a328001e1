"""Binary classification metrics with bootstrap confidence intervals. Pure numpy.

Conventions: ``y`` is 1 for RA (positive) and 0 for normal; ``score`` is P(RA); a case is called
positive when ``score >= threshold`` (the same rule the model folder's threshold is used with).
Undefined values (a ratio with a zero denominator, an AUC with one class) are NaN and come with a
human-readable note instead of an exception, so a small or one-sided data set still gets a report.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

METRIC_NAMES = ("accuracy", "sensitivity", "specificity", "precision", "f1", "auc")


def _as_arrays(y, score) -> tuple[np.ndarray, np.ndarray]:
    y = np.asarray(y).astype(np.int64).ravel()
    score = np.asarray(score, dtype=np.float64).ravel()
    if y.shape != score.shape:
        raise ValueError(f"labels ({y.size}) and scores ({score.size}) differ in length")
    if y.size and not np.isin(y, (0, 1)).all():
        raise ValueError("labels must be 0 (normal) or 1 (RA)")
    return y, score


def _rank_average(a: np.ndarray) -> np.ndarray:
    """Ranks 1..n along the last axis with ties sharing their average rank."""
    from scipy.stats import rankdata  # scipy is a core dependency; rankdata handles ties exactly

    return rankdata(a, method="average", axis=-1)


def roc_auc(y, score) -> float:
    """Area under the ROC curve via the Mann-Whitney U statistic (ties count one half).

    Returns NaN when ``y`` holds only one class (the AUC is undefined, not 0.5).
    """
    y, score = _as_arrays(y, score)
    n_pos = int(y.sum())
    n_neg = int(y.size - n_pos)
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = _rank_average(score)
    u = ranks[y == 1].sum() - n_pos * (n_pos + 1) / 2.0
    return float(u / (n_pos * n_neg))


def confusion(y, score, threshold: float = 0.5) -> dict[str, int]:
    """Confusion counts ``tp, fp, tn, fn`` at ``score >= threshold``."""
    y, score = _as_arrays(y, score)
    pred = score >= threshold
    pos = y == 1
    return {
        "tp": int(np.sum(pred & pos)),
        "fp": int(np.sum(pred & ~pos)),
        "tn": int(np.sum(~pred & ~pos)),
        "fn": int(np.sum(~pred & pos)),
    }


def _ratio(num: np.ndarray | float, den: np.ndarray | float) -> np.ndarray:
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _threshold_metrics(tp, fp, tn, fn) -> dict[str, np.ndarray]:
    """Vectorised over any shape of counts (used for the point estimate and every resample)."""
    sens = _ratio(tp, tp + fn)
    spec = _ratio(tn, tn + fp)
    prec = _ratio(tp, tp + fp)
    acc = _ratio(tp + tn, tp + fp + tn + fn)
    f1 = _ratio(2 * np.asarray(tp), 2 * np.asarray(tp) + fp + fn)
    return {"accuracy": acc, "sensitivity": sens, "specificity": spec, "precision": prec, "f1": f1}


def point_metrics(y, score, threshold: float = 0.5) -> tuple[dict[str, float], list[str]]:
    """The six headline metrics at ``threshold`` plus notes explaining any NaN."""
    y, score = _as_arrays(y, score)
    c = confusion(y, score, threshold)
    values = {k: float(v) for k, v in _threshold_metrics(c["tp"], c["fp"], c["tn"], c["fn"]).items()}
    values["auc"] = roc_auc(y, score)
    notes: list[str] = []
    n_pos, n_neg = c["tp"] + c["fn"], c["tn"] + c["fp"]
    if y.size == 0:
        notes.append("no cases: every metric is undefined")
    elif n_pos == 0:
        notes.append("no RA cases: sensitivity, F1 and AUC are undefined")
    elif n_neg == 0:
        notes.append("no normal cases: specificity and AUC are undefined")
    if y.size and c["tp"] + c["fp"] == 0:
        notes.append("no case was called RA at this threshold: precision is undefined")
    return values, notes


@dataclass
class MetricCI:
    """A point estimate with a percentile bootstrap interval (NaN where undefined)."""

    value: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float | None]:
        return {k: (None if math.isnan(v) else v) for k, v in
                (("value", self.value), ("low", self.low), ("high", self.high))}

    def format(self, digits: int = 2) -> str:
        return format_ci(self.value, self.low, self.high, digits)


@dataclass
class BinaryReport:
    """Everything a results table needs for one data set."""

    n: int
    n_positive: int
    n_negative: int
    threshold: float
    metrics: dict[str, MetricCI]
    confusion: dict[str, int]
    bootstrap: int
    seed: int | None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "n": self.n, "n_positive": self.n_positive, "n_negative": self.n_negative,
            "threshold": self.threshold, "confusion": self.confusion,
            "metrics": {k: m.to_dict() for k, m in self.metrics.items()},
            "ci": f"95% percentile bootstrap, {self.bootstrap} resamples stratified by label"
                  + (f", seed {self.seed}" if self.seed is not None else ""),
            "notes": self.notes,
        }


def bootstrap_metrics(y, score, threshold: float = 0.5, n_boot: int = 2000,
                      seed: int | None = 0, level: float = 0.95) -> BinaryReport:
    """Point metrics with percentile bootstrap intervals.

    Resampling is stratified by label (positives and negatives resampled separately, as pROC
    does) so every resample keeps the data set's n+ / n- and the AUC stays defined.
    """
    y, score = _as_arrays(y, score)
    values, notes = point_metrics(y, score, threshold)
    c = confusion(y, score, threshold)
    pos_s, neg_s = score[y == 1], score[y == 0]
    lows = {k: float("nan") for k in METRIC_NAMES}
    highs = dict(lows)
    if n_boot > 0 and y.size > 0:
        rng = np.random.default_rng(seed)
        bp = pos_s[rng.integers(0, pos_s.size, (n_boot, pos_s.size))] if pos_s.size else np.zeros((n_boot, 0))
        bn = neg_s[rng.integers(0, neg_s.size, (n_boot, neg_s.size))] if neg_s.size else np.zeros((n_boot, 0))
        tp = (bp >= threshold).sum(1)
        fp = (bn >= threshold).sum(1)
        boot = _threshold_metrics(tp, fp, bn.shape[1] - fp, bp.shape[1] - tp)
        if pos_s.size and neg_s.size:
            ranks = _rank_average(np.concatenate([bp, bn], axis=1))
            u = ranks[:, : pos_s.size].sum(1) - pos_s.size * (pos_s.size + 1) / 2.0
            boot["auc"] = u / (pos_s.size * neg_s.size)
        else:
            boot["auc"] = np.full(n_boot, np.nan)
        a = (1.0 - level) / 2.0 * 100.0
        for k, arr in boot.items():
            arr = arr[np.isfinite(arr)]
            if arr.size and math.isfinite(values[k]):
                lows[k], highs[k] = (float(v) for v in np.percentile(arr, [a, 100.0 - a]))
    flat = [k for k in METRIC_NAMES if math.isfinite(lows[k]) and lows[k] == highs[k]]
    if flat:  # e.g. 8/8 correct: every resample is perfect too, which is not certainty
        notes.append(f"zero-width interval for {', '.join(flat)}: the percentile bootstrap cannot show "
                     "the uncertainty of a perfect (or zero) score; more cases are needed")
    if 0 < y.size < 30:
        notes.append(f"only {y.size} cases: intervals are wide and the bootstrap is rough")
    return BinaryReport(
        n=int(y.size), n_positive=int(pos_s.size), n_negative=int(neg_s.size),
        threshold=float(threshold),
        metrics={k: MetricCI(values[k], lows[k], highs[k]) for k in METRIC_NAMES},
        confusion=c, bootstrap=int(n_boot), seed=seed, notes=notes,
    )


def format_ci(value: float, low: float, high: float, digits: int = 2) -> str:
    """``"0.87 (0.82–0.91)"``; ``"n/a"`` for an undefined value, no interval if it is missing."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if low is None or high is None or not (math.isfinite(low) and math.isfinite(high)):
        return f"{value:.{digits}f}"
    return f"{value:.{digits}f} ({low:.{digits}f}\u2013{high:.{digits}f})"


def roc_curve(y, score) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(fpr, tpr, thresholds)`` with the ``>=`` rule, starting at (0, 0) with threshold +inf."""
    y, score = _as_arrays(y, score)
    order = np.argsort(-score, kind="mergesort")
    s, t = score[order], y[order]
    # One point per distinct score: take the last index of each run of equal scores.
    last = np.r_[np.nonzero(np.diff(s))[0], s.size - 1] if s.size else np.array([], dtype=int)
    tps = np.cumsum(t)[last]
    fps = (last + 1) - tps
    n_pos, n_neg = int(t.sum()), int(t.size - t.sum())
    tpr = np.r_[0.0, tps / n_pos] if n_pos else np.r_[0.0, np.full(last.size, np.nan)]
    fpr = np.r_[0.0, fps / n_neg] if n_neg else np.r_[0.0, np.full(last.size, np.nan)]
    return fpr, tpr, np.r_[np.inf, s[last]]


def youden_threshold(y, score) -> tuple[float, float]:
    """Threshold maximising Youden's J = sensitivity + specificity - 1, and that J.

    Returns ``(0.5, nan)`` when J is undefined (one class). Among equal J the higher threshold wins
    (fewer false positives). The threshold is a score value, used with the ``>=`` rule.
    """
    fpr, tpr, thr = roc_curve(y, score)
    if thr.size < 2 or not (np.isfinite(fpr).all() and np.isfinite(tpr).all()):
        return 0.5, float("nan")
    j = (tpr - fpr)[1:]
    best = int(np.argmax(j))  # argmax takes the first = highest threshold on ties
    return float(thr[1:][best]), float(j[best])


def calibration(y, score, n_bins: int = 10) -> dict[str, list | float]:
    """Reliability table on equal-width bins of P(RA), the Brier score and the expected
    calibration error (ECE, bin-size weighted |observed - predicted|)."""
    y, score = _as_arrays(y, score)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    idx = np.clip(np.digitize(score, edges[1:-1], right=False), 0, n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    sum_p = np.bincount(idx, weights=score, minlength=n_bins)
    sum_y = np.bincount(idx, weights=y.astype(float), minlength=n_bins)
    mean_p = _ratio(sum_p, counts)
    frac = _ratio(sum_y, counts)
    ok = counts > 0
    ece = float(np.sum(counts[ok] * np.abs(frac[ok] - mean_p[ok])) / y.size) if y.size else float("nan")
    brier = float(np.mean((score - y) ** 2)) if y.size else float("nan")
    nan_to_none = lambda a: [None if not math.isfinite(v) else float(v) for v in a]  # noqa: E731
    return {"bin_edges": edges.tolist(), "count": counts.tolist(), "mean_predicted": nan_to_none(mean_p),
            "fraction_positive": nan_to_none(frac), "ece": ece, "brier": brier}


def wilson_interval(successes: int, n: int, level: float = 0.95) -> tuple[float, float, float]:
    """Proportion with a Wilson score interval (good for small n, e.g. per-severity sensitivity)."""
    if n <= 0:
        return float("nan"), float("nan"), float("nan")
    from scipy.stats import norm

    z = float(norm.ppf(1 - (1 - level) / 2))
    p = successes / n
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return p, max(0.0, centre - half), min(1.0, centre + half)
