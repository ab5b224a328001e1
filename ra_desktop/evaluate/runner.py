"""Evaluate a model folder on one or more labelled data sets, exactly as inference sees images.

Every image goes through ``load_radiograph`` and ``prepare`` with the manifest's preprocessing
(the inference path, not the training cache). Unreadable files are skipped and listed.
"""
from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from ra_desktop.errors import RADesktopError
from ra_desktop.evaluate.metrics import (
    METRIC_NAMES,
    bootstrap_metrics,
    calibration,
    format_ci,
    roc_curve,
    wilson_interval,
)
from ra_desktop.evaluate.plots import write_plots
from ra_desktop.io import load_radiograph
from ra_desktop.io.dataset import DataSet, discover
from ra_desktop.jsonsafe import json_safe
from ra_desktop.model import load_model
from ra_desktop.preprocess import prepare

TABLE_COLUMNS = ("Accuracy", "Sensitivity", "Specificity", "Precision", "F1", "AUC")


def predict_dataset(loaded, ds: DataSet, batch: int = 16, progress: bool = False):
    """P(RA) for each readable sample; returns (samples, probabilities, skipped [(path, reason)])."""
    config = loaded.preprocess_config
    kept, probs, skipped, pending = [], [], [], []

    def flush():
        if pending:
            probs.extend(loaded.predict_proba(np.stack([x for _, x in pending])).tolist())
            kept.extend(s for s, _ in pending)
            pending.clear()

    items = ds.samples
    if progress:
        from tqdm import tqdm

        items = tqdm(items, desc=ds.source.name, unit="img", leave=False)
    for s in items:
        try:
            x, _ = prepare(load_radiograph(s.path), config)
        except RADesktopError as exc:
            skipped.append((s.path, str(getattr(exc, "reason", exc))))
            continue
        pending.append((s, x))
        if len(pending) >= batch:
            flush()
    flush()
    return kept, np.asarray(probs, dtype=np.float64), skipped


def per_severity(samples, probs: np.ndarray, threshold: float) -> list[dict[str, Any]]:
    """Sensitivity per severity grade of the RA cases, with Wilson 95% intervals."""
    groups: dict[str, list[float]] = defaultdict(list)
    for s, p in zip(samples, probs):
        if s.label == 1 and s.severity not in (None, ""):
            groups[str(s.severity)].append(p)
    rows = []
    for sev in sorted(groups, key=lambda v: (float(v) if _is_number(v) else float("inf"), v)):
        ps = np.asarray(groups[sev])
        hit = int(np.sum(ps >= threshold))
        value, lo, hi = wilson_interval(hit, ps.size)
        rows.append({"severity": sev, "n": int(ps.size), "detected": hit, "sensitivity": value,
                     "low": lo, "high": hi, "text": format_ci(value, lo, hi)})
    return rows


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _unique_name(given: Path, used: set[str]) -> str:
    # Named after what the user typed (a folder read through its labels.csv keeps the folder name).
    given = Path(given).resolve()
    base = given.stem if given.is_file() else given.name
    name, k = base or "data", 2
    while name in used:
        name, k = f"{base}-{k}", k + 1
    used.add(name)
    return name


def evaluate(model_dir: Path, data: list[Path], out: Path, device: str = "auto", n_boot: int = 2000,
             seed: int = 0, progress: bool = False, plots: bool = True) -> dict[str, Any]:
    """Metrics, plots, predictions and ``evaluation.json`` for each data set; returns the JSON."""
    loaded = load_model(model_dir, device)
    m = loaded.manifest
    threshold = float(m.threshold)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results, used = [], set()
    for path in data:
        ds = discover(path)
        name = _unique_name(path, used)
        samples, probs, skipped = predict_dataset(loaded, ds, progress=progress)
        y = np.array([s.label for s in samples], dtype=int)
        rep = bootstrap_metrics(y, probs, threshold, n_boot=n_boot, seed=seed)
        fpr, tpr, thr = roc_curve(y, probs)
        entry: dict[str, Any] = {
            "name": name, "source": str(ds.source), "kind": ds.kind, "synthetic": ds.synthetic,
            "synthetic_reason": ds.synthetic_reason, **rep.to_dict(),
            "calibration": calibration(y, probs),
            "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thr.tolist()},
            "skipped_files": [{"path": str(p), "reason": r} for p, r in skipped],
            "missing_files": [str(p) for p in ds.missing],
        }
        if ds.has_severity:
            entry["sensitivity_by_severity"] = per_severity(samples, probs, threshold)
        ds_dir = out / name
        ds_dir.mkdir(parents=True, exist_ok=True)
        if plots:
            auc = rep.metrics["auc"]
            entry["plots"] = _write_plots(y, probs, threshold, ds_dir, name, (auc.value, auc.low, auc.high))
        _write_predictions(ds_dir / "predictions.csv", samples, probs, threshold)
        entry["predictions"] = str(ds_dir / "predictions.csv")
        entry["_report"] = rep
        results.append(entry)
    doc = {
        "model": {"name": m.name, "version": m.version, "architecture": m.architecture,
                  "weights_sha256": m.weights_sha256, "threshold": threshold,
                  "synthetic_training_data": m.synthetic_training_data, "notice": m.notice,
                  "directory": str(Path(model_dir).resolve())},
        "bootstrap": n_boot, "seed": seed,
        "datasets": [{k: v for k, v in r.items() if k != "_report"} for r in results],
    }
    (out / "evaluation.json").write_text(json.dumps(json_safe(doc), indent=2, ensure_ascii=False) + "\n",
                                         encoding="utf-8")
    doc["_reports"] = [(r["name"], r["_report"]) for r in results]
    return doc


def _write_plots(y, probs, threshold, ds_dir, name, auc_ci) -> dict[str, str]:
    return write_plots(y, probs, threshold, ds_dir, name, auc_ci)


def _write_predictions(path: Path, samples, probs, threshold: float) -> None:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "probability_ra", "predicted", "patient_id", "severity"])
        for s, p in zip(samples, probs):
            w.writerow([s.path, "RA" if s.label else "Normal", f"{p:.6f}", "RA" if p >= threshold else "Normal",
                        s.patient_id or "", s.severity or ""])


def format_table(rows: list[tuple[str, Any]]) -> str:
    """Table 2 layout: Dataset | n | Accuracy | ... | AUC, each "0.87 (0.82–0.91)"."""
    header = ["Dataset", "n", *TABLE_COLUMNS]
    body = []
    for name, rep in rows:
        n = f"{rep.n} ({rep.n_positive} RA / {rep.n_negative} normal)"
        body.append([name, n, *(rep.metrics[k].format() for k in METRIC_NAMES)])
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    line = lambda r: " | ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    sep = "-+-".join("-" * w for w in widths)
    return "\n".join([line(header), sep, *(line(r) for r in body)])
