"""PNG figures for an evaluation: confusion matrix, ROC curve, reliability diagram.

matplotlib is imported inside each function with the Agg backend, so importing this module is
cheap and never needs a display.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ra_desktop.evaluate.metrics import calibration, confusion, format_ci, roc_curve


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path: Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return path


def plot_confusion(y, score, threshold: float, path: Path, title: str = "") -> Path:
    """2×2 counts (rows: truth, columns: prediction) at ``score >= threshold``."""
    plt = _pyplot()
    c = confusion(y, score, threshold)
    m = np.array([[c["tn"], c["fp"]], [c["fn"], c["tp"]]])
    fig, ax = plt.subplots(figsize=(4, 3.6))
    ax.imshow(m, cmap="Blues", vmin=0, vmax=max(int(m.max()), 1))
    for (i, j), v in np.ndenumerate(m):
        ax.text(j, i, str(v), ha="center", va="center", fontsize=14,
                color="white" if v > m.max() / 2 else "black")
    ax.set_xticks([0, 1], ["normal", "RA"])
    ax.set_yticks([0, 1], ["normal", "RA"])
    ax.set_xlabel(f"predicted (threshold {threshold:.3f})")
    ax.set_ylabel("truth")
    ax.set_title(title or "Confusion matrix")
    return _save(fig, path)


def plot_roc(y, score, path: Path, title: str = "", auc_text: str | None = None,
             operating_point: tuple[float, float] | None = None) -> Path:
    """ROC curve with the chance diagonal; ``operating_point`` = (1 - specificity, sensitivity)."""
    plt = _pyplot()
    fpr, tpr, _ = roc_curve(y, score)
    fig, ax = plt.subplots(figsize=(4.2, 4))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="chance")
    if np.isfinite(fpr).all() and np.isfinite(tpr).all():
        ax.step(fpr, tpr, where="post", lw=2, label=f"AUC {auc_text}" if auc_text else "ROC")
    else:
        ax.text(0.5, 0.5, "ROC undefined: one class only", ha="center")
    if operating_point is not None and all(np.isfinite(operating_point)):
        ax.plot(*operating_point, "o", color="crimson", label="model threshold")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("sensitivity")
    ax.set_title(title or "ROC curve")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_calibration(y, score, path: Path, title: str = "", n_bins: int = 10) -> Path:
    """Reliability diagram (observed RA fraction per predicted-probability bin) with counts."""
    plt = _pyplot()
    cal = calibration(y, score, n_bins)
    centres = (np.array(cal["bin_edges"][:-1]) + np.array(cal["bin_edges"][1:])) / 2
    mp = np.array([np.nan if v is None else v for v in cal["mean_predicted"]], dtype=float)
    fp = np.array([np.nan if v is None else v for v in cal["fraction_positive"]], dtype=float)
    fig, (ax, axh) = plt.subplots(2, 1, figsize=(4.2, 5), sharex=True, height_ratios=[3, 1])
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1, label="perfect calibration")
    ok = np.isfinite(mp)
    ax.plot(mp[ok], fp[ok], "o-", label=f"model (ECE {cal['ece']:.3f}, Brier {cal['brier']:.3f})")
    ax.set_ylim(0, 1)
    ax.set_ylabel("observed fraction RA")
    ax.set_title(title or "Calibration")
    ax.legend(loc="upper left", fontsize=8)
    axh.bar(centres, cal["count"], width=1.0 / n_bins, edgecolor="black", color="lightgrey")
    axh.set_xlim(0, 1)
    axh.set_xlabel("predicted P(RA)")
    axh.set_ylabel("images")
    return _save(fig, path)


def write_plots(y, score, threshold: float, out_dir: Path, name: str, auc_ci: tuple | None = None) -> dict[str, str]:
    """All three figures for one data set; returns {kind: file path}."""
    out_dir = Path(out_dir)
    c = confusion(y, score, threshold)
    pos, neg = c["tp"] + c["fn"], c["tn"] + c["fp"]
    op = (c["fp"] / neg if neg else np.nan, c["tp"] / pos if pos else np.nan)
    auc_text = format_ci(*auc_ci) if auc_ci else None
    return {
        "confusion": str(plot_confusion(y, score, threshold, out_dir / "confusion_matrix.png", f"{name}: confusion")),
        "roc": str(plot_roc(y, score, out_dir / "roc.png", f"{name}: ROC", auc_text, op)),
        "calibration": str(plot_calibration(y, score, out_dir / "calibration.png", f"{name}: calibration")),
    }
