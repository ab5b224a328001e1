"""The seeds' comparison as one table, from `scripts/train_comparison.sh evaluate` outputs.

    python scripts/comparison_table.py WORK_DIR [--bench bench/results/bench.json] [--out FILE.md]

Per network: n, accuracy, sensitivity, specificity, precision, F1, AUC with their 95% CIs
(`ra-desktop evaluate`), sensitivity by severity, calibration (Brier score, expected calibration
error over ten bins), the explanation measures (`explain-eval`: pointing game on the held-out and
wrist-spared sets against the image-blind point, deletion with the healthy twin as removed
state, ratio to a random order), the OOD check on held-out phantoms and real images
(scripts/model_checks.py), the epoch kept; then paired bootstrap differences of
AUC (attention against none, each against VGG8) on the same 400 cases.
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ra_desktop.evaluate.metrics import roc_auc  # noqa: E402

ARCHS = ("vgg8-bundled", "vgg8", "densenet121", "densenet169", "densenet121-no-attention",
         "densenet169-no-attention")
NAMES = {"vgg8-bundled": "VGG8 1.3.0 (bundled; reference)", "vgg8": "VGG8", "densenet121": "DenseNet121-attn",
         "densenet169": "DenseNet169-attn", "densenet121-no-attention": "DenseNet121 (no attn)",
         "densenet169-no-attention": "DenseNet169 (no attn)"}


def _ci(m: dict) -> str:
    return f"{m['value']:.3f} ({m['low']:.3f}–{m['high']:.3f})"


def _predictions(folder: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    found = [p for p in (folder / "test" / "predictions.csv", folder / "predictions.csv") if p.is_file()]
    if not found:
        raise FileNotFoundError(f"no predictions.csv in {folder} or {folder / 'test'}")
    with open(found[0], newline="") as fh:
        rows = list(csv.DictReader(fh))
    paths = [Path(r["path"]).name for r in rows]
    y = np.array([r["label"] == "RA" for r in rows], float)
    p = np.array([float(r["probability_ra"]) for r in rows])
    return paths, y, p


def calibration(y: np.ndarray, p: np.ndarray, bins: int = 10) -> tuple[float, float]:
    """Brier score and expected calibration error (ten equal-width bins of P(RA))."""
    brier = float(np.mean((p - y) ** 2))
    idx = np.minimum((p * bins).astype(int), bins - 1)
    ece = sum(abs(p[idx == b].mean() - y[idx == b].mean()) * (idx == b).mean() for b in range(bins) if (idx == b).any())
    return brier, float(ece)


def paired_auc_difference(y, p_a, p_b, n_boot: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """AUC(a) - AUC(b) on the same cases, 95% percentile bootstrap stratified by label."""
    rng = np.random.default_rng(seed)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    diffs = []
    for _ in range(n_boot):
        i = np.concatenate([rng.choice(pos, pos.size), rng.choice(neg, neg.size)])
        diffs.append(roc_auc(y[i], p_a[i]) - roc_auc(y[i], p_b[i]))
    lo, hi = np.percentile(diffs, [2.5, 97.5])
    return roc_auc(y, p_a) - roc_auc(y, p_b), float(lo), float(hi)


def _pointing(summary: dict, method: str) -> str:
    p = summary.get("pointing_all", {}).get(method)
    return f"{p['hits']}/{p['n']}" if p else "–"


def _twin_ratio(text: str, column: int) -> str:
    """Deletion map / random ratio (Grad-CAM: 0, SHAP: 1) from explain-eval's table with --removal twin."""
    found = re.findall(r"ratio map / random\s+([\d.]+)\s+([\d.]+)", text)
    return found[0][column] if found else "–"


def _training(model: Path) -> str:
    training = json.loads((model / "manifest.json").read_text()).get("training", {})
    return f"{training.get('best_epoch')} of {training.get('epochs_run')}"


def table(work: Path, bench: dict | None) -> str:
    out, preds = [], {}
    head = ("| network | n | Accuracy | Sensitivity | Specificity | Precision | F1 | AUC | detected at severity 1, 2, 3 "
            "| Brier / ECE |")
    out += [head, "|---" * (head.count("|") - 1) + "|"]
    explain = ["| network | pointing held-out Grad-CAM / SHAP (image-blind point) | pointing wrist-spared "
               "Grad-CAM / SHAP (image-blind point) | twin deletion map/random Grad-CAM / SHAP | OOD held-out flagged | "
               "OOD real images flagged | best epoch of those run |",
               "|---|---|---|---|---|---|---|"]
    for arch in ARCHS:
        ev = work / "eval" / arch
        if not (ev / "evaluation.json").is_file():
            continue
        d = json.loads((ev / "evaluation.json").read_text())["datasets"][0]
        m = d["metrics"]
        sev = ", ".join(f"{s['detected']}/{s['n']}" for s in d["sensitivity_by_severity"])
        paths, y, p = _predictions(ev)
        preds[arch] = (paths, y, p)
        brier, ece = calibration(y, p)
        out.append(f"| {NAMES[arch]} | {d['n']} | " + " | ".join(_ci(m[k]) for k in
                   ("accuracy", "sensitivity", "specificity", "precision", "f1", "auc")) +
                   f" | {sev} | {brier:.3f} / {ece:.3f} |")
        held = json.loads((ev / "explain_test.json").read_text()) if (ev / "explain_test.json").is_file() else {}
        held_blind = held.get("pointing_all", {}).get("fixed_point")
        spared = json.loads((ev / "explain_spared.json").read_text()) if (ev / "explain_spared.json").is_file() else {}
        fixed = spared.get("pointing_all", {}).get("fixed_point")
        twins = (ev / "explain_table_twins.txt").read_text() if (ev / "explain_table_twins.txt").is_file() else ""
        checks = json.loads((ev / "checks.json").read_text()) if (ev / "checks.json").is_file() else {}
        ood_h = checks.get("ood_heldout", {})
        real = checks.get("ood_real", [])
        flagged_real = sum(1 for r in real if r.get("flagged"))
        best = _training(work / "models" / arch)
        blind = f" ({fixed['hits']}/{fixed['n']})" if fixed else ""
        held_ref = f" ({held_blind['hits']}/{held_blind['n']})" if held_blind else ""
        explain.append(f"| {NAMES[arch]} | {_pointing(held, 'gradcam')} / {_pointing(held, 'shap')}{held_ref} | "
                       f"{_pointing(spared, 'gradcam')} / {_pointing(spared, 'shap')}{blind} | ")
        explain[-1] += (f"{_twin_ratio(twins, 0)} / {_twin_ratio(twins, 1)} | "
                        f"{ood_h.get('flagged', '–')}/{ood_h.get('n', '–')} | {flagged_real}/{len(real)} | "
                        f"{best} |")
    lines = out + [""] + explain + ["", "Paired differences of AUC on the same cases (95% bootstrap CI, 2000 "
                                        "resamples stratified by label):", ""]
    pairs = [("densenet121", "densenet121-no-attention"), ("densenet169", "densenet169-no-attention"),
             ("densenet121", "vgg8"), ("densenet169", "vgg8")]
    for a, b in pairs:
        if a in preds and b in preds:
            if preds[a][0] != preds[b][0]:
                raise ValueError(f"{a} and {b} were not evaluated on the same cases in the same order")
            diff, lo, hi = paired_auc_difference(preds[a][1], preds[a][2], preds[b][2])
            lines.append(f"- AUC {NAMES[a]} − {NAMES[b]}: {diff:+.4f} ({lo:+.4f} to {hi:+.4f})")
    if bench:
        lines += ["", "Cost per study (`make bench`, module `models`; random weights, 224 × 224, this machine):", "",
                  "| network | forward (ms) | × VGG8 | Grad-CAM (ms) | × VGG8 | peak memory (MB) | training "
                  "(images/s) | × VGG8 | note |", "|---|---|---|---|---|---|---|---|---|"]
        rows = {r["name"]: r for b in bench["benchmarks"] if b["module"] == "bench_models" for r in b["rows"]}
        for arch in ARCHS:
            f, c, mem = rows.get(f"{arch}_forward_b1"), rows.get(f"{arch}_gradcam"), rows.get(f"{arch}_peak_memory")
            t = rows.get(f"{arch}_train_images_per_s")
            if f and f.get("value") is not None and c and mem and t:
                lines.append(f"| {NAMES[arch]} | {f['value']:.0f} | {f['ratio'] or 1:.2f} | {c['value']:.0f} | "
                             f"{c['ratio'] or 1:.2f} | {mem['value']:.0f} | {t['value']:.1f} | {t['ratio'] or 1:.2f} | "
                             f"{f['note'].split(';')[0]} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("work", type=Path)
    ap.add_argument("--bench", type=Path)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    bench = json.loads(args.bench.read_text()) if args.bench and args.bench.is_file() else None
    text = table(args.work, bench)
    if args.out:
        args.out.write_text(text)
    print(text, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
