"""Turn a manifest's ``validation_metrics`` (any reasonable shape) into table rows.

Accepted shapes, all seen in practice: ``{"auc": 0.81}``; ``{"auc": {"value": .81, "low": .72,
"high": .89}}`` (``ra_desktop.evaluate`` ``BinaryReport.to_dict()`` puts these under
``"metrics"`` next to ``"n"``); ``{"auc": {"value": .81, "ci95": [.72, .89]}}``; and data sets
nesting any of these (``{"test": {...}, "val": {...}}``).
"""
from __future__ import annotations

import math
from typing import Any

_NAMES = {"auc": "AUC", "roc_auc": "AUC", "accuracy": "Accuracy", "sensitivity": "Sensitivity",
          "specificity": "Specificity", "precision": "Precision", "recall": "Recall",
          "f1": "F1", "ppv": "PPV", "npv": "NPV", "balanced_accuracy": "Balanced accuracy"}
_SKIP = {"confusion", "notes", "threshold", "ci", "bootstrap", "seed", "n_positive", "n_negative"}


def _num(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def format_value(v: Any) -> str | None:
    """``0.81 (95% CI 0.72–0.89)`` from a number or a value/interval dict; ``None`` if not a metric."""
    if isinstance(v, bool):
        return None
    if _num(v) is not None:
        return f"{_num(v):.2f}"
    if not isinstance(v, dict) or "value" not in v:
        return None
    value = _num(v.get("value"))
    if value is None:
        return "n/a"
    ci = v.get("ci95") or v.get("ci")
    low, high = (ci if isinstance(ci, (list, tuple)) and len(ci) == 2 else (v.get("low"), v.get("high")))
    low, high = _num(low), _num(high)
    if low is None or high is None:
        return f"{value:.2f} (no interval given)"
    return f"{value:.2f} (95% CI {low:.2f}\u2013{high:.2f})"


def metric_rows(metrics: dict[str, Any] | None, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten ``validation_metrics`` into ``(label, text)`` rows; unknown keys are skipped.

    Parameters
    ----------
    metrics : dict or None
        The manifest's ``validation_metrics``.
    prefix : str
        Data set name for nested dictionaries.

    Returns
    -------
    list of tuple
        Rows such as ``("test AUC", "0.81 (95% CI 0.72–0.89)")`` and ``("test n", "100 (40 RA / 60 normal)")``.
    """
    if not isinstance(metrics, dict):
        return []
    rows: list[tuple[str, str]] = []
    lead = f"{prefix} " if prefix else ""
    if "n" in metrics and _num(metrics["n"]) is not None:
        n = int(metrics["n"])
        pos, neg = metrics.get("n_positive"), metrics.get("n_negative")
        split = f" ({int(pos)} RA / {int(neg)} normal)" if _num(pos) is not None and _num(neg) is not None else ""
        rows.append((f"{lead}n", f"{n}{split}"))
    inner = metrics.get("metrics")
    if isinstance(inner, dict):
        rows += [r for r in metric_rows(inner, prefix) if not r[0].endswith(" n") and r[0] != "n"]
    for key, v in metrics.items():
        if key in _SKIP or key in ("n", "metrics"):
            continue
        text = format_value(v)
        if text is not None:
            rows.append((f"{lead}{_NAMES.get(key.lower(), key)}", text))
        elif isinstance(v, dict):
            rows += metric_rows(v, f"{lead}{key}".strip())
    return rows
