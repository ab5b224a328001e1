"""Model files: only safetensors (and torch.load(weights_only=True) for training checkpoints).

A weights file whose sha256 differs from its manifest, a manifest for another architecture and a
pickle that tries to run code are all refused with a message naming the folder, file and reason;
the pickle's payload (creating a marker file) never runs.
"""
from __future__ import annotations

import hashlib
import io
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pytest
import torch

from ra_desktop.errors import DataError, ModelUnavailable
from ra_desktop.model import load_manifest, load_model, sha256_file, write_manifest
from tests.tiny_model import make_tiny_model_folder

ROOT = Path(__file__).resolve().parent.parent


class _Payload:
    """Unpickling this creates ``marker``: stands in for any code a hostile pickle would run."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def _evil_pickle(marker: Path) -> bytes:
    return pickle.dumps({"classifier.fc3.weight": _Payload(marker)})


def _evil_torch_file(marker: Path) -> bytes:
    buf = io.BytesIO()
    torch.save({"classifier.fc3.weight": _Payload(marker)}, buf)
    return buf.getvalue()


def test_the_payload_is_live(tmp_path):
    # Proof the refusals below matter: read unsafely, the payload runs.
    marker = tmp_path / "ran"
    pickle.loads(_evil_pickle(marker))
    assert marker.exists()


@pytest.fixture
def folder(tmp_path):
    return make_tiny_model_folder(tmp_path)


def _point_manifest_at(folder: Path, name: str) -> None:
    manifest = load_manifest(folder)
    data = manifest.to_dict()
    data.update(weights_file=name, weights_sha256=sha256_file(folder / name))
    (folder / "manifest.json").write_text(json.dumps(data))


def _refused(folder: Path, *words: str) -> ModelUnavailable:
    with pytest.raises(ModelUnavailable) as info:
        load_model(folder, "cpu")
    err = info.value
    assert err.path == folder and str(folder) in str(err)
    for word in words:
        assert word in err.reason, err.reason
    return err


def test_sha256_mismatch_names_file_and_both_hashes(folder):
    weights = folder / "weights.safetensors"
    expected = load_manifest(folder).weights_sha256
    data = bytearray(weights.read_bytes())
    data[-2] ^= 0x01
    weights.write_bytes(bytes(data))
    _refused(folder, "sha256", "weights.safetensors", expected[:12],
             hashlib.sha256(bytes(data)).hexdigest()[:12], "corrupt or replaced")


def test_manifest_for_another_architecture(folder):
    manifest = load_manifest(folder)
    write_manifest(folder, manifest.replace(architecture="densenet121",
                                            gradcam_target_layer="features.denseblock4",
                                            feature_layer="pool"))
    _refused(folder, "holds vgg8 weights", "manifest is for densenet121")


def test_manifest_for_another_architecture_without_header_metadata(folder):
    # Weights from elsewhere carry no architecture in their header: strict loading still refuses.
    from safetensors.torch import load_file, save_file

    weights = folder / "weights.safetensors"
    save_file(load_file(str(weights)), str(weights))  # no metadata
    manifest = load_manifest(folder)
    write_manifest(folder, manifest.replace(architecture="densenet121",
                                            weights_sha256=sha256_file(weights)))
    _refused(folder, "do not match architecture densenet121", "missing keys", "unexpected keys")


@pytest.mark.parametrize("name", ["weights.pt", "weights.pth", "model.bin", "weights.pkl"])
def test_pickle_weights_named_in_the_manifest_are_refused_unread(folder, tmp_path, name):
    marker = tmp_path / "ran"
    (folder / name).write_bytes(_evil_torch_file(marker))
    _point_manifest_at(folder, name)  # even with a matching sha256
    _refused(folder, name, "not a .safetensors file", "can run code")
    assert not marker.exists()


@pytest.mark.parametrize("make", [_evil_pickle, _evil_torch_file], ids=["pickle", "torch.save"])
def test_pickle_disguised_as_safetensors_is_refused_unread(folder, tmp_path, make):
    marker = tmp_path / "ran"
    (folder / "weights.safetensors").write_bytes(make(marker))
    _point_manifest_at(folder, "weights.safetensors")
    _refused(folder, "cannot read weights.safetensors as safetensors")
    assert not marker.exists()


def test_ood_statistics_holding_a_pickle_are_refused_unread(folder, tmp_path):
    from ra_desktop.explain.ood import load_stats

    marker = tmp_path / "ran"
    buf = io.BytesIO()
    np.savez(buf, mean_0=np.array([_Payload(marker)], dtype=object), precision_0=np.eye(2))
    (folder / "ood.npz").write_bytes(buf.getvalue())
    section = {"file": "ood.npz", "sha256": sha256_file(folder / "ood.npz"),
               "layers": ["penultimate"], "layer_thresholds": [1.0], "threshold": 1.0}
    with pytest.raises(ModelUnavailable, match="ood.npz") as info:
        load_stats(folder, section)
    assert info.value.path == folder
    assert not marker.exists()


def _with_ood(folder: Path, **changes) -> None:
    """Give the tiny model a valid OOD section (file present, hash right), then change fields."""
    from ra_desktop.explain.ood import OOD_FILE

    buf = io.BytesIO()
    np.savez(buf, mean_0=np.zeros((2, 4)), precision_0=np.eye(4))
    (folder / OOD_FILE).write_bytes(buf.getvalue())
    section = {"file": OOD_FILE, "sha256": sha256_file(folder / OOD_FILE), "threshold": 1.0,
               "layers": ["penultimate"], "layer_thresholds": [1.0]}
    data = json.loads((folder / "manifest.json").read_text())
    data["ood"] = {**section, **changes}
    for key, value in list(data["ood"].items()):
        if value is None:
            del data["ood"][key]
    (folder / "manifest.json").write_text(json.dumps(data))


@pytest.mark.parametrize("file_name", ["/dev/zero", "../elsewhere/ood_stats.npz", "ood_stats.pt", ""])
def test_ood_file_must_be_a_plain_npz_name_in_the_folder(folder, file_name):
    # Pointed at /dev/zero, predict once died of a MemoryError reading it whole.
    _with_ood(folder, file=file_name)
    with pytest.raises(ModelUnavailable, match="ood.file") as info:
        load_manifest(folder)
    assert info.value.path == folder


@pytest.mark.parametrize("changes, words", [
    ({"threshold": float("nan")}, "ood.threshold"),
    ({"threshold": -1.0}, "ood.threshold"),
    ({"threshold": None}, "ood.threshold"),
    ({"layer_thresholds": [1e300]}, "ood.layer_thresholds"),
    ({"layers": ["x"] * 10_000, "layer_thresholds": [1.0] * 10_000}, "ood.layers"),
    ({"n_train": 10**12}, "ood.n_train"),
])
def test_ood_numbers_are_bounded(folder, changes, words):
    _with_ood(folder, **changes)
    with pytest.raises(ModelUnavailable, match=re.escape(words)):
        load_manifest(folder)


def test_ood_file_linked_out_of_the_folder_is_refused_unread(folder, tmp_path):
    from ra_desktop.explain.ood import OOD_FILE, load_stats

    _with_ood(folder)
    outside = tmp_path / "outside.npz"
    outside.write_bytes((folder / OOD_FILE).read_bytes())
    (folder / OOD_FILE).unlink()
    (folder / OOD_FILE).symlink_to(outside)
    with pytest.raises(ModelUnavailable, match="not a file in the model folder"):
        load_stats(folder, load_manifest(folder).ood)


@pytest.mark.parametrize("changes", [{"resize": 10**9, "crop": 10**9}, {"crop": 10**6, "resize": 10**6},
                                     {"wavelet_levels": 10**6}, {"std": [float("nan")] * 3}])
def test_preprocessing_numbers_are_bounded(folder, changes):
    data = json.loads((folder / "manifest.json").read_text())
    data["preprocessing"].update(changes)
    (folder / "manifest.json").write_text(json.dumps(data))
    with pytest.raises(ModelUnavailable, match="preprocessing"):
        load_manifest(folder)


def test_valid_ood_section_still_loads(folder):
    from ra_desktop.explain.ood import load_stats

    _with_ood(folder)
    assert len(load_stats(folder, load_manifest(folder).ood)) == 1


def _checkpoint_state() -> dict:
    from ra_desktop.train import checkpoint as ckpt

    model = torch.nn.Linear(3, 2)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(1, 3)).sum().backward()
    opt.step()
    return {"arch": "vgg8", "split": {"train": ["a"], "val": ["b"]}, "model": ckpt.cpu_state_dict(model),
            "optimizer": opt.state_dict(), "scaler": {"scale": 1.0},
            "rng": ckpt.rng_state(),
            "loop": {"epoch": 1, "history": [{"val_auc": np.float64(0.5)}],
                     "best": {"score": [-np.inf, -1.0], "epoch": 1, "val_probs": np.array([0.25])}}}


def test_checkpoint_round_trips_through_weights_only_loading(tmp_path):
    from ra_desktop.train import checkpoint as ckpt

    np.random.seed(5)
    state = _checkpoint_state()
    expected_draw = np.random.random(3)  # what the RNG gives after the state was taken
    ckpt.save(tmp_path, state, {"w": torch.ones(2)})
    np.random.seed(99)
    loaded, best = ckpt.load(tmp_path)
    ckpt.set_rng_state(loaded["rng"])
    np.testing.assert_array_equal(np.random.random(3), expected_draw)
    assert torch.equal(loaded["model"]["weight"], state["model"]["weight"])
    assert loaded["loop"]["history"][0]["val_auc"] == 0.5 and loaded["loop"]["best"]["val_probs"] == [0.25]
    assert torch.equal(best["w"], torch.ones(2))


@pytest.mark.parametrize("which", ["last.pt", "best.pt"])
def test_hostile_checkpoint_is_refused_unread(tmp_path, which):
    from ra_desktop.train import checkpoint as ckpt

    ckpt.save(tmp_path, _checkpoint_state(), {"w": torch.ones(2)})
    marker = tmp_path / "ran"
    (tmp_path / "checkpoint" / which).write_bytes(_evil_torch_file(marker))
    with pytest.raises(DataError, match=f"{which}.*cannot be read safely.*without --resume"):
        ckpt.load(tmp_path)
    assert not marker.exists()


def test_checkpoint_that_is_not_ours_is_refused(tmp_path):
    from ra_desktop.train import checkpoint as ckpt

    (tmp_path / "checkpoint").mkdir()
    torch.save({"weight": torch.ones(1)}, tmp_path / "checkpoint" / "last.pt")
    with pytest.raises(DataError, match="not a checkpoint written by ra-desktop train"):
        ckpt.load(tmp_path)


def test_no_unsafe_deserialisation_anywhere_in_the_code():
    # Static audit: every torch.load is weights_only=True; no pickle, no allow_pickle=True.
    problems = []
    for path in sorted((ROOT / "ra_desktop").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(ROOT)
        for call in re.findall(r"torch\.load\([^)]*\)", text):
            if "weights_only=True" not in call:
                problems.append(f"{rel}: {call}")
        for pattern in (r"^\s*(import|from)\s+(c?pickle|dill|joblib)\b", r"allow_pickle\s*=\s*True",
                        r"weights_only\s*=\s*False", r"\bpickle\.loads?\("):
            if re.search(pattern, text, re.M):
                problems.append(f"{rel}: {pattern}")
    assert not problems, problems
