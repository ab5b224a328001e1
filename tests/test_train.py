"""End-to-end training on tiny generated images: model folder, evaluation, resume, bad input, DDP."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ra_desktop.cli import main

# Small inputs keep a CPU epoch to seconds; the preprocessing is recorded in the manifest.
FAST = ["--resize", "72", "--crop", "64", "--batch-size", "8", "--quiet", "--device", "cpu"]


def make_images(root: Path, per_class: int = 8, size: int = 256, patients: bool = False,
                id_prefix: str = "P-") -> Path:
    """Bright blobs = "RA", plain noise = "Normal" (256×256 8-bit PNGs)."""
    rng = np.random.default_rng(0)
    yy, xx = np.ogrid[:size, :size]
    rows = ["path,label,patient_id,severity"]
    for cls in ("RA", "Normal"):
        (root / cls).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            img = rng.normal(80, 20, (size, size))
            if cls == "RA":
                for _ in range(3):
                    cy, cx = rng.integers(size // 5, 4 * size // 5, 2)
                    img += 150 * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * 12.0**2))
            Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(root / cls / f"{cls}_{i}.png")
            rows.append(f"{cls}/{cls}_{i}.png,{cls},{id_prefix}{cls}-{i // 2},{1 + i % 3 if cls == 'RA' else 0}")
    if patients:
        (root / "labels.csv").write_text("\n".join(rows) + "\n")
    return root


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """One 2-epoch run shared by the tests below (training is the slow part)."""
    root = tmp_path_factory.mktemp("train")
    data = make_images(root / "data", patients=True)
    (data / "RA" / "corrupt.png").write_bytes(b"not really a png")
    with open(data / "labels.csv", "a") as fh:
        fh.write("RA/corrupt.png,RA,P-RA-9,1\n")
    out = root / "model"
    rc = main(["train", str(data), "--arch", "vgg8", "--out", str(out), "--epochs", "2", "--seed", "3",
               "--weights-dtype", "float16", *FAST])
    assert rc == 0
    return data, out


def test_model_folder_is_complete_and_loads(trained):
    from ra_desktop.model import load_model

    data, out = trained
    for name in ("manifest.json", "weights.safetensors", "training_log.csv", "training_log.json",
                 "validation_metrics.json", "checkpoint/last.pt", "checkpoint/best.pt"):
        assert (out / name).is_file(), name
    m = json.loads((out / "manifest.json").read_text())
    assert m["architecture"] == "vgg8" and m["weights_dtype"] == "float16"
    assert m["preprocessing"]["crop"] == 64
    assert m["synthetic_training_data"] is False  # P- ids, no ground_truth/: not phantom data
    assert "--seed 3" in m["training"]["command"] and m["training"]["seeds"]["torch"] == 3
    assert m["training"]["split"]["by"] == "patient"
    assert 0.0 <= m["threshold"] <= 1.0 and "Youden" in m["training"]["threshold_method"]
    assert m["validation_metrics"]["n"] >= 2
    log = json.loads((out / "training_log.json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2]
    assert [Path(s["path"]).name for s in log["skipped_files"]] == ["corrupt.png"]
    assert (out / "training_log.csv").read_text().splitlines()[0].startswith("epoch,train_loss")
    loaded = load_model(out, "cpu")
    p = loaded.predict_proba(np.zeros((2, 3, 64, 64), np.float32))
    assert p.shape == (2,) and np.all((p >= 0) & (p <= 1))


def test_evaluate_writes_metrics_plots_and_table(trained, tmp_path, capsys):
    data, model = trained
    out = tmp_path / "eval"
    assert main(["evaluate", str(model), str(data), str(data / "labels.csv"), "--out", str(out),
                 "--bootstrap", "200", "--quiet", "--device", "cpu"]) == 0
    text = capsys.readouterr().out
    assert text.count("Dataset ") == 1 and "| Sensitivity" in text and "AUC" in text and "corrupt.png" in text
    doc = json.loads((out / "evaluation.json").read_text())
    assert [d["name"] for d in doc["datasets"]] == ["data", "labels"]  # unique names per data set
    d = doc["datasets"][0]
    assert d["n"] == 16 and d["n_positive"] == 8 and d["n_negative"] == 8
    for key, m in d["metrics"].items():
        assert m["value"] is None or 0.0 <= m["low"] <= m["value"] <= m["high"] <= 1.0, key
    assert sum(d["confusion"].values()) == 16
    assert [r["severity"] for r in d["sensitivity_by_severity"]] == ["1", "2", "3"]
    assert len(d["skipped_files"]) == 1
    for png in ("roc.png", "confusion_matrix.png", "calibration.png"):
        assert (out / "data" / png).stat().st_size > 1000
    assert len((out / "data" / "predictions.csv").read_text().splitlines()) == 17


def test_resume_reproduces_the_uninterrupted_run(trained, tmp_path):
    from safetensors.numpy import load_file

    data, reference = trained
    out = tmp_path / "model"
    common = [str(data), "--arch", "vgg8", "--out", str(out), "--seed", "3", "--weights-dtype", "float16", *FAST]
    assert main(["train", *common, "--epochs", "1"]) == 0
    assert main(["train", *common, "--epochs", "2"]) == 2  # refuses to overwrite without --resume
    assert main(["train", *common, "--epochs", "2", "--resume"]) == 0
    log = json.loads((out / "training_log.json").read_text())
    assert [e["epoch"] for e in log["epochs"]] == [1, 2]
    a, b = load_file(str(out / "weights.safetensors")), load_file(str(reference / "weights.safetensors"))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.mark.parametrize("layout, message", [
    ("no_normal_folder", "missing subfolder(s) Normal/"),
    ("empty_normal", "no Normal images"),
    ("all_unreadable_normal", "readable training images"),
])
def test_bad_data_fails_before_training(tmp_path, capsys, layout, message):
    data = make_images(tmp_path / "data", per_class=2, size=32)
    if layout == "no_normal_folder":
        (data / "Normal").rename(data / "Healthy")
    elif layout == "empty_normal":
        for p in (data / "Normal").iterdir():
            p.unlink()
    else:
        for p in (data / "Normal").iterdir():
            p.write_bytes(b"garbage")
    assert main(["train", str(data), "--out", str(tmp_path / "m"), *FAST]) == 2
    err = capsys.readouterr().err
    assert message in err
    assert not (tmp_path / "m").exists()  # nothing trained, nothing written


@pytest.mark.slow
def test_ddp_two_cpu_processes_with_gloo(tmp_path):
    from ra_desktop.model import load_model

    data = make_images(tmp_path / "data", per_class=6, patients=True, id_prefix="PHANTOM-")
    out = tmp_path / "model"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           "-m", "ra_desktop", "train", str(data), "--out", str(out), "--epochs", "1", *FAST]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "DDP 2 processes (gloo)" in proc.stdout
    assert proc.stdout.count("model folder written") == 1  # only rank 0 writes
    m = json.loads((out / "manifest.json").read_text())
    assert m["training"]["world_size"] == 2
    assert m["training"]["command"].startswith("torchrun")
    assert m["synthetic_training_data"] is True and "synthetic" in m["notice"]  # PHANTOM- ids detected
    assert "synthetic training data detected" in proc.stdout
    loaded = load_model(out, "cpu")
    assert loaded.predict_proba(np.zeros((3, 64, 64), np.float32)).shape == (1,)


def test_ood_hook_is_called_when_provided(trained, monkeypatch, tmp_path):
    import types

    from ra_desktop.io.dataset import discover
    from ra_desktop.preprocess import PreprocessConfig
    from ra_desktop.train import ood_fit
    from ra_desktop.train.cache import build_cache
    from ra_desktop.train.outputs import _fit_ood

    data, model = trained
    calls = []

    def fit_ood(loaded, train_iter, val_iter, out_dir):
        calls.append((loaded.manifest.architecture, [b.shape for b in train_iter], [b.shape for b in val_iter], out_dir))

    monkeypatch.setattr(ood_fit, "fit_ood", fit_ood)
    config = PreprocessConfig(resize=72, crop=64)
    cache = build_cache(discover(data).samples[:3], config)
    opts = types.SimpleNamespace(preprocess=config)
    import torch

    _fit_ood(model, opts, cache, cache, torch.device("cpu"))
    assert calls == [("vgg8", [(3, 3, 64, 64)], [(3, 3, 64, 64)], model)]


def test_init_fine_tunes_from_a_model_folder_and_records_it(trained, tmp_path):
    import torch

    from ra_desktop.model import load_model

    data, source = trained
    out = tmp_path / "tuned"
    # Zero epochs is refused, so one epoch at a tiny learning rate: weights start at the source's.
    assert main(["train", str(data), "--arch", "vgg8", "--out", str(out), "--epochs", "1", "--seed", "3",
                 "--lr", "1e-12", "--init", str(source), "--window-jitter", "0.5", *FAST]) == 0
    a, b = load_model(source, "cpu").module.state_dict(), load_model(out, "cpu").module.state_dict()
    assert all(torch.allclose(a[k].float(), b[k].float(), atol=1e-3) for k in a)
    training = json.loads((out / "manifest.json").read_text())["training"]
    source_sha = json.loads((source / "manifest.json").read_text())["weights_sha256"]
    assert training["initial_weights"].startswith("fine-tuned from") and source_sha in training["initial_weights"]
    assert "random intensity window" in training["augmentation"]
    # Another architecture's folder is refused before any training.
    assert main(["train", str(data), "--arch", "densenet121", "--out", str(tmp_path / "x"), "--epochs", "1",
                 "--init", str(source), *FAST]) == 2


def test_training_lowers_the_loss_and_writes_the_model_that_learned(fresh_phantoms, tmp_path):
    """``ra-desktop train`` learns: on 8 phantoms (4 RA of severity 2-3, 4 normal) ten full-batch
    steps of the real command take the loss well below chance (ln 2 = 0.693), and the model folder
    it writes classifies those images with a low cross-entropy. A trainer that never updated its
    weights, or wrote the initial ones, stays at 0.693.

    What this does not show: that a few steps from scratch generalise. On held-out phantoms they
    do not (measured: AUC 0.44-0.50 on 8 new phantoms after 10-12 steps on 16), and an untrained
    VGG8's validation AUC on such sets already ranges from 0.4 to 1.0 (it ranks by chance while
    every output is 0.500), so a validation AUC here would prove nothing either way.
    """
    import csv

    from ra_desktop.io import load_radiograph
    from ra_desktop.model import load_model
    from ra_desktop.preprocess import prepare

    with open(fresh_phantoms / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    chosen = ([r for r in rows if r["label"] == "RA" and int(r["severity"]) >= 2][:4]
              + [r for r in rows if r["label"] == "Normal"][:4])
    assert len(chosen) == 8
    data = tmp_path / "train.csv"
    with open(data, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "patient_id", "severity"])
        w.writerows([str(fresh_phantoms / r["path"]), r["label"], r["patient_id"], r["severity"]] for r in chosen)
    out = tmp_path / "model"
    assert main(["train", str(data), "--arch", "vgg8", "--out", str(out), "--epochs", "10", "--batch-size", "8",
                 "--lr", "1e-4", "--val-fraction", "0", "--seed", "0", "--dropout-warmup", "10", "--augment-p", "0",
                 "--precision", "fp32", "--resize", "72", "--crop", "64", "--weights-dtype", "float16",
                 "--quiet", "--device", "cpu"]) == 0
    losses = [e["train_loss"] for e in json.loads((out / "training_log.json").read_text())["epochs"]]
    assert len(losses) == 10 and losses[0] > 0.65, losses  # one full-batch step per epoch
    assert losses[-1] < 0.55 and losses[-1] < min(losses[:5]) - 0.1, losses

    model = load_model(out, "cpu")  # without validation, the last epoch is written
    x = np.stack([prepare(load_radiograph(fresh_phantoms / r["path"]), model.preprocess_config)[0] for r in chosen])
    y = np.array([r["label"] == "RA" for r in chosen])
    p = model.predict_proba(x)
    cross_entropy = float(-np.mean(np.where(y, np.log(p), np.log(1 - p))))
    # Measured: cross-entropy 0.40, 7 of 8 right (one normal hand at P(RA) 0.80).
    assert cross_entropy < 0.55 and ((p >= model.threshold) == y).sum() >= 6, (cross_entropy, p.round(3))
