"""What a finished training run leaves behind: the model folder (best-AUC weights, manifest),
``training_log.csv/json``, ``validation_metrics.json`` and OOD statistics (if they can be fitted)."""
from __future__ import annotations

import csv
import json
import math
import platform
from pathlib import Path
from typing import Any, Iterator

import numpy as np
import torch

from ra_desktop import INTENDED_USE
from ra_desktop.evaluate.metrics import bootstrap_metrics, calibration, youden_threshold
from ra_desktop.jsonsafe import json_safe
from ra_desktop.model import load_model, save_model_folder
from ra_desktop.train import ood_fit
from ra_desktop.train.cache import UnitCache, model_input
from ra_desktop.train.precision import amp_settings

VAL_BOOTSTRAP = 1000


def write_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(json_safe(data), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def choose_threshold(val_y, val_p) -> tuple[float, str]:
    """Youden's J on the validation set of the best epoch; 0.5 when that is impossible."""
    if val_y is None or len(set(val_y)) < 2:
        return 0.5, "0.5 (no validation set with both classes)"
    t, j = youden_threshold(val_y, val_p)
    if not math.isfinite(j):
        return 0.5, "0.5 (Youden's J undefined)"
    return t, f"Youden's J on the validation split at the best epoch (J = {j:.3f})"


def input_batches(cache: UnitCache, config, batch: int = 16) -> Iterator[np.ndarray]:
    """Unaugmented model inputs (N, 3, crop, crop) float32, in cache order."""
    for i in range(0, len(cache), batch):
        yield np.stack([model_input(u, config) for u in cache.units[i : i + batch]])


def write_model_folder(opts, ds, model: torch.nn.Module, state: dict, train_c: UnitCache,
                       val_c: UnitCache, device: torch.device) -> Path:
    out = Path(opts.out)
    best = state["best"]
    val_y, val_p = best.get("val_labels"), best.get("val_probs")
    threshold, threshold_method = choose_threshold(val_y, val_p)
    if opts.synthetic is None:
        synthetic = ds.synthetic
        if synthetic:
            print(f"synthetic training data detected ({ds.synthetic_reason}): the model is marked "
                  "'trained on synthetic phantoms' (override with --no-synthetic)", flush=True)
    else:
        synthetic = bool(opts.synthetic)

    val_metrics: dict[str, Any] | None = None
    if val_y:
        rep = bootstrap_metrics(val_y, val_p, threshold, n_boot=VAL_BOOTSTRAP, seed=opts.seed)
        val_metrics = rep.to_dict()
        val_metrics["epoch"] = best["epoch"]
        val_metrics["calibration"] = calibration(val_y, val_p)
        val_metrics["notes"].append("the threshold was chosen on this same validation split: these "
                                    "numbers are optimistic; use `ra-desktop evaluate` on held-out data")
        val_metrics = json_safe(val_metrics)

    skipped = [{"path": str(p), "reason": r} for p, r in train_c.skipped + val_c.skipped]
    patients = {s.patient_id for s in train_c.samples + val_c.samples if s.patient_id}
    use_amp, amp_dtype = amp_settings(device, opts.precision)  # the same decision the training loop made
    amp = "none (float32)" if not use_amp else (
        f"{str(amp_dtype).replace('torch.', '')} autocast on {device.type}"
        + (" + GradScaler" if amp_dtype == torch.float16 else ""))
    training = json_safe({
        "command": opts.command,
        "seeds": {"python": opts.seed, "numpy": opts.seed, "torch": opts.seed, "split": opts.seed,
                  "augmentation": f"numpy default_rng([{opts.seed}, epoch, index])"},
        "epochs_requested": opts.epochs, "epochs_run": state["epoch"], "best_epoch": best["epoch"],
        "early_stopping": {"monitor": _monitor(opts), "patience": opts.patience, "stopped": state["stopped"]},
        "batch_size": opts.batch_size, "learning_rate": opts.lr, "optimizer": "Adam",
        "loss": "cross-entropy with inverse-frequency class weights"
                + (f" + {opts.guide_maps:g} × map guidance (for RA phantoms and RA lesion swaps: the share of the "
                   "Grad-CAM map outside the diseased joints' regions, plus the cross-entropy of the head on the "
                   "target layer's lesion cells alone (RA) and on the other cells alone (normal); not published)"
                   if opts.guide_maps else ""),
        "augmentation": f"with probability {opts.augment_p:g} per image one of rotate (±45°) / "
                        "brightness (×0.6–1.4) / both, else the original"
                        + (f"; then with probability {opts.window_jitter_p:g} a random intensity window "
                           "(black point 0–0.12, white point 0.8–1.0, gamma 0.75–1.33; not published)"
                           if opts.window_jitter_p else "")
                        + (f"; twin phantoms replaced with probability {opts.lesion_swap_p:g} by a lesion swap "
                           "(the diseased joints' regions blended between an RA case and its healthy twin, "
                           "labelled by the regions"
                           + ("; the background outside them is the mean of both twins" if opts.swap_outside == "mean"
                              else "")
                           + (f"; with probability {opts.swap_subset_p:g} an RA swap pastes a random non-empty "
                              "subset of the diseased regions (each finger joint, the wrist as one)"
                              if opts.swap_subset_p else "")
                           + "; not published)" if opts.lesion_swap_p else ""),
        "initial_weights": _describe_init(opts.init),
        "dropout_warmup_epochs": opts.dropout_warmup,
        "val_fraction": opts.val_fraction,
        "split": {"by": "patient" if ds.has_patient_ids else "file", "train_images": len(train_c),
                  "val_images": len(val_c), "patients": len(patients),
                  "train_counts": np.bincount(train_c.labels, minlength=2)[::-1].tolist(),
                  "val_counts": np.bincount(val_c.labels, minlength=2)[::-1].tolist() if len(val_c) else [0, 0]},
        "max_per_class": opts.max_per_class,
        "threshold": threshold, "threshold_method": threshold_method,
        "skipped_files": len(skipped), "missing_files": len(ds.missing),
        "device": str(device), "world_size": int(torch.distributed.get_world_size())
        if torch.distributed.is_initialized() else 1, "mixed_precision": amp,
        "torch": torch.__version__, "python": platform.python_version(),
        "history": state["history"],
    })
    name = opts.name or f"ra-{opts.arch}" + ("-phantom" if synthetic else "")
    counts = np.bincount(train_c.labels, minlength=2)
    vcounts = np.bincount(val_c.labels, minlength=2) if len(val_c) else np.zeros(2, int)
    training_data = (f"{ds.describe()}. Trained on {len(train_c)} images ({counts[1]} RA, {counts[0]} normal), "
                     f"validated on {len(val_c)} ({vcounts[1]} RA, {vcounts[0]} normal), split by "
                     f"{'patient' if ds.has_patient_ids else 'file'} with seed {opts.seed}.")
    save_model_folder(
        model, out, name=name, version=opts.version, arch=opts.arch, preprocessing=opts.preprocess,
        threshold=threshold, training_data=training_data, synthetic_training_data=synthetic,
        intended_use=INTENDED_USE, training=training, validation_metrics=val_metrics,
        weights_dtype=opts.weights_dtype,
    )
    _write_logs(out, state["history"], skipped, [str(p) for p in ds.missing])
    write_json(out / "validation_metrics.json", val_metrics or {"note": "no validation split (--val-fraction 0)"})
    _fit_ood(out, opts, train_c, val_c, device)
    print(f"model folder written: {out} (best epoch {best['epoch']}, threshold {threshold:.3f}; "
          f"{threshold_method})", flush=True)
    return out


def _write_logs(out: Path, history: list[dict], skipped: list[dict], missing: list[str]) -> None:
    keys: list[str] = []
    for row in history:
        keys += [k for k in row if k not in keys]
    with open(out / "training_log.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.DictWriter(fh, fieldnames=keys)
        w.writeheader()
        for row in history:
            w.writerow({k: ("" if v is None or (isinstance(v, float) and not math.isfinite(v)) else v)
                        for k, v in row.items()})
    write_json(out / "training_log.json", {"epochs": history, "skipped_files": skipped, "missing_files": missing})


def _monitor(opts) -> str:
    if opts.select_by == "pointing":
        where = "" if opts.select_data is None else f" of the development set {opts.select_data}"
        return (f"validation pointing game (mean of Grad-CAM and SHAP hit rates on up to {opts.select_cases} "
                f"RA phantoms of severity >= 2{where}; not published), then validation AUC, then validation loss")
    return "validation AUC"


def _describe_init(init: Path | None) -> str:
    """Where the starting weights came from: enough to find them again (name, version, sha256)."""
    if init is None:
        return "random (seeded)"
    man = json.loads((Path(init) / "manifest.json").read_text(encoding="utf-8"))
    return f"fine-tuned from {man.get('name')} {man.get('version')} (weights sha256 {man.get('weights_sha256')})"


def _fit_ood(out: Path, opts, train_c: UnitCache, val_c: UnitCache, device) -> None:
    """OOD statistics for the new model folder (:func:`ra_desktop.train.ood_fit.fit_ood`)."""
    loaded = load_model(out, "cuda" if device.type == "cuda" else "cpu")
    try:
        ood_fit.fit_ood(loaded, input_batches(train_c, opts.preprocess), input_batches(val_c, opts.preprocess), out)
        print("out-of-distribution statistics fitted", flush=True)
    except Exception as exc:  # noqa: BLE001 - the model folder is valid without OOD statistics
        print(f"warning: OOD statistics not fitted: {exc}", flush=True)
