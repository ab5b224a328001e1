"""Write MODEL_CARD.md for a model folder from its manifest and the measured evaluation files.

    python scripts/model_card.py MODEL_DIR --evaluation EVAL_DIR/evaluation.json [--explain TABLE.txt]

TABLE.txt is what ``ra-desktop explain-eval`` printed.

Every number in the card comes from those files; nothing is typed in by hand.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

METRICS = ("accuracy", "sensitivity", "specificity", "precision", "f1", "auc")


def _ci(m: dict) -> str:
    return f"{m['value']:.3f} ({m['low']:.3f}–{m['high']:.3f})"


def _evaluation_section(ev: dict) -> list[str]:
    lines = ["## Held-out evaluation", "",
             f"{ev['datasets'][0]['ci']}; threshold from the manifest.", "",
             "| data set | n | " + " | ".join(m.capitalize() if m != "auc" else "AUC" for m in METRICS) + " |",
             "|---|---|" + "---|" * len(METRICS)]
    for ds in ev["datasets"]:
        n = f"{ds['n']} ({ds['n_positive']} RA / {ds['n_negative']} normal)"
        lines.append(f"| {ds['name']} | {n} | " + " | ".join(_ci(ds["metrics"][m]) for m in METRICS) + " |")
    for ds in ev["datasets"]:
        c = ds["confusion"]
        lines += ["", f"Confusion matrix ({ds['name']}): TP {c['tp']}, FP {c['fp']}, TN {c['tn']}, FN {c['fn']}."]
        if ds.get("sensitivity_by_severity"):
            lines += ["", "| severity | n | detected | sensitivity (Wilson 95% CI) |", "|---|---|---|---|"]
            lines += [f"| {s['severity']} | {s['n']} | {s['detected']} | {s['text']} |"
                      for s in ds["sensitivity_by_severity"]]
        for note in ds.get("notes", []):
            lines.append(f"\n_Note: {note}_")
    return lines


def _explain_section(table: str) -> list[str]:
    return ["## Explanations, measured (`ra-desktop explain-eval`)", "",
            "Held-out set (seed 500000): curves on 40 RA phantoms of severity >= 2, the pointing game alone "
            "on every eligible one. SHAP's players are the cells of the Grad-CAM layer (14×14 for VGG8).", "",
            "```", table.strip(), "```"]


def _training_section(training: dict) -> list[str]:
    lines = ["## How it was made", ""]
    for key in ("data_commands", "run", "command", "script", "seeds", "epochs_run", "best_epoch", "loss",
                "initial_weights", "optimizer", "learning_rate", "batch_size", "augmentation", "early_stopping",
                "dropout_warmup_epochs", "threshold_method", "mixed_precision", "device", "torch"):
        if key in training:
            value = training[key]
            if isinstance(value, dict):
                value = "; ".join(f"{k}: `{v}`" for k, v in value.items())
            lines.append(f"- **{key}**: {value}")
    return lines + [""]


def _ood_text(ood: dict | None) -> str:
    if not ood:
        return "none"
    layers = ", ".join(f"`{n}` (threshold {t:.2f})" for n, t in zip(ood.get("layers", []), ood.get("layer_thresholds", [])))
    return (f"class-conditional Mahalanobis distance with a shared Ledoit–Wolf covariance on {layers}; "
            f"thresholds at the {ood.get('percentile')}th percentile of validation distances; flagged when "
            "any layer exceeds its threshold (reported as the largest distance / threshold)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--evaluation", type=Path, required=True)
    ap.add_argument("--explain", type=Path)
    ap.add_argument("--append", type=Path, help="Markdown with further measured findings")
    args = ap.parse_args()
    man = json.loads((args.model_dir / "manifest.json").read_text())
    ev = json.loads(args.evaluation.read_text())
    out = [f"# Model card: {man['name']} {man['version']}", "",
           f"**{man.get('notice') or 'Trained on synthetic phantoms — not for clinical use.'}** "
           "This model has never seen a real radiograph. It is bundled so that the application works "
           "offline the moment it is installed, for demonstration and teaching; it is not a medical device.", "",
           "## What it is", "",
           f"- Architecture: `{man['architecture']}` (published VGG8: 8 conv layers, 25,088→512→512→2 classifier)",
           f"- Weights: `{man['weights_file']}` ({man.get('weights_dtype', 'float32')}), "
           f"sha256 `{man['weights_sha256']}`",
           f"- Classes: {man['class_names']}, decision threshold {man['threshold']:.4f}",
           f"- Preprocessing: `{json.dumps(man['preprocessing'])}`",
           f"- Grad-CAM target layer: `{man['gradcam_target_layer']}`",
           f"- Out-of-distribution check: {_ood_text(man.get('ood'))}",
           "", "## Intended use", "", man["intended_use"], "",
           "## Training data", "", man["training_data"], "",
           ]
    out += _training_section(man.get("training", {}))
    val = man.get("validation_metrics") or {}
    if "metrics" in val:
        out += ["## Validation split (used for early stopping and the threshold, so optimistic)", "",
                f"n = {val.get('n')}: " + ", ".join(f"{m} {_ci(val['metrics'][m])}" for m in METRICS
                                                    if m in val["metrics"]), ""]
    out += _evaluation_section(ev) + [""]
    if args.explain:
        out += _explain_section(args.explain.read_text()) + [""]
    if args.append:
        out += [args.append.read_text(encoding="utf-8").strip(), ""]
    out += ["## Limitations", "",
            "- Synthetic phantoms only: performance on real radiographs is unknown and expected to be poor; "
            "the out-of-distribution check flags real radiographs for this reason.",
            "- Binary RA vs normal; no Sharp/van der Heijde scoring. Heat maps show where the model looked, "
            "not where the disease is. Where a model was trained with map guidance (its loss names it), its "
            "maps were trained toward the phantoms' lesion masks: they find phantom lesions by construction, "
            "and nothing shows that they would find disease on a real radiograph.",
            "- Severity-1 (early) disease is the hardest class, as in published work on real images."]
    (args.model_dir / "MODEL_CARD.md").write_text("\n".join(out) + "\n", encoding="utf-8")
    print(f"wrote {args.model_dir / 'MODEL_CARD.md'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
