"""Model: architectures (exact parameter count, shapes, no in-place ReLU), folders, verified loading."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from torch import nn

from ra_desktop.errors import ModelUnavailable, RADesktopError
from ra_desktop.model import (
    ARCHITECTURES,
    SYNTHETIC_NOTICE,
    Manifest,
    UnknownArchitecture,
    build_model,
    load_manifest,
    load_model,
    pick_device,
    save_model_folder,
    write_manifest,
)
from ra_desktop.preprocess import PreprocessConfig
from tests.tiny_model import TINY_MODEL_NAME, make_tiny_model_folder


def _conv(cin, cout, k=3):
    return cin * cout * k * k + cout


def _fc(cin, cout):
    return cin * cout + cout


def test_vgg8_exact_parameter_count():
    widths = [64, 128, 256, 256, 512, 512, 512, 512]
    chans = [3, *widths]
    convs = sum(_conv(a, b) for a, b in zip(chans[:-1], chans[1:]))
    fcs = _fc(512 * 7 * 7, 512) + _fc(512, 512) + _fc(512, 2)
    model = build_model("vgg8")
    assert sum(p.numel() for p in model.parameters()) == convs + fcs == 22_329_730
    assert sum(isinstance(m, nn.Conv2d) for m in model.modules()) == 8
    assert sum(isinstance(m, nn.MaxPool2d) for m in model.modules()) == 5
    assert [m.out_features for m in model.modules() if isinstance(m, nn.Linear)] == [512, 512, 2]
    assert all(m.p == 0.5 for m in model.modules() if isinstance(m, nn.Dropout))


def test_vgg8_forward_224_and_named_layers():
    torch.manual_seed(0)
    model = build_model("vgg8").eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        assert model(x).shape == (2, 2)
        assert model.embed(x).shape == (2, 512)
    info = ARCHITECTURES["vgg8"]
    seen = {}

    def hook(module, inputs, output):
        seen["cam"] = output.shape  # returns None: output unchanged

    handle = model.get_submodule(info.gradcam_target_layer).register_forward_hook(hook)
    with torch.no_grad():
        model(x)
    handle.remove()
    assert seen["cam"] == (2, 512, 14, 14)
    assert isinstance(model.get_submodule(info.feature_layer), nn.ReLU)


def mutating_ops(model: nn.Module, x: torch.Tensor) -> list[str]:
    """Every ATen operator of one forward pass that writes into one of its inputs (relu_, add_...).

    Catches functional in-place calls too (torchvision's DenseNet forward uses
    F.relu(inplace=True)), which a look at the nn.ReLU modules cannot see.
    """
    from torch.utils._python_dispatch import TorchDispatchMode

    seen: list[str] = []

    class Record(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            if func._schema.is_mutable:
                seen.append(str(func))
            return func(*args, **(kwargs or {}))

    with torch.no_grad(), Record():
        model(x)
    return seen


@pytest.mark.parametrize("arch", ["densenet121", "densenet169", "densenet121-no-attention",
                                  "densenet169-no-attention"])
def test_densenet_forward_small_input_and_no_inplace_relu(arch):
    torch.manual_seed(0)
    model = build_model(arch).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        assert model(x).shape == (1, 2)
        assert model.embed(x).shape == (1, ARCHITECTURES[arch].feature_dim)
    model.get_submodule(ARCHITECTURES[arch].gradcam_target_layer)
    model.get_submodule(ARCHITECTURES[arch].feature_layer)
    assert not any(m.inplace for m in model.modules() if isinstance(m, nn.ReLU))
    assert mutating_ops(model, torch.randn(1, 3, 32, 32)) == []  # no in-place operator anywhere


@pytest.mark.parametrize("arch", ["vgg8", "densenet121"])
def test_every_relu_is_distinct_and_not_inplace(arch):
    model = build_model(arch)
    relus = [m for m in model.modules() if isinstance(m, nn.ReLU)]
    assert relus and not any(m.inplace for m in relus)
    # Each ReLU module runs at most once per forward (DeepLift needs this).
    calls: dict[int, int] = {}

    def count(module, inputs, output):
        calls[id(module)] = calls.get(id(module), 0) + 1

    hooks = [m.register_forward_hook(count) for m in relus]
    with torch.no_grad():
        model.eval()(torch.randn(1, 3, 64, 64))
    for h in hooks:
        h.remove()
    assert max(calls.values()) == 1
    assert mutating_ops(model.eval(), torch.randn(1, 3, 32, 32)) == []


def test_empty_vgg8_has_no_storage_and_no_random_init(monkeypatch):
    called = []
    monkeypatch.setattr(torch.nn.init, "normal_", lambda *a, **k: called.append(1))
    module = build_model("vgg8", empty=True)
    assert all(p.is_meta for p in module.parameters()) and not called


def test_unknown_architecture():
    with pytest.raises(UnknownArchitecture, match="resnet50.*vgg8"):
        build_model("resnet50")


def test_pick_device():
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(RADesktopError, match="CUDA"):
            pick_device("cuda")
    with pytest.raises(RADesktopError, match="unknown device"):
        pick_device("tpu")


def _save(module, out, **kw):
    args = dict(
        name="m", version="1.2.3", arch="vgg8", preprocessing=PreprocessConfig(), threshold=0.4,
        training_data="phantoms", synthetic_training_data=True, intended_use="tests",
        training={"seed": 1}, validation_metrics={"auc": 0.5},
    )
    args.update(kw)
    return save_model_folder(module, out, **args)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
def test_save_load_round_trip(tmp_path, dtype):
    torch.manual_seed(0)
    module = build_model("vgg8").eval()
    manifest = _save(module, tmp_path / "m", weights_dtype=dtype)
    files = sorted(p.name for p in (tmp_path / "m").iterdir())
    assert files == ["manifest.json", "weights.safetensors"]  # no temp files left behind
    data = json.loads((tmp_path / "m" / "manifest.json").read_text())
    for key in ("schema_version", "name", "version", "architecture", "weights_file", "weights_sha256",
                "weights_dtype", "preprocessing", "class_names", "positive_index", "threshold",
                "gradcam_target_layer", "feature_layer", "training_data", "synthetic_training_data",
                "intended_use", "training", "validation_metrics", "ood", "notice"):
        assert key in data, key
    assert data["class_names"] == ["normal", "RA"] and data["positive_index"] == 1
    assert data["notice"] == SYNTHETIC_NOTICE and data["weights_dtype"] == dtype
    assert load_manifest(tmp_path / "m") == manifest

    loaded = load_model(tmp_path / "m", "cpu")
    assert loaded.display_name == "m 1.2.3" and loaded.threshold == 0.4
    assert not loaded.module.training and loaded.device.type == "cpu"
    # built empty (meta) for the load: every tensor must now be the file's, trainable as before
    tensors = list(loaded.module.parameters()) + list(loaded.module.buffers())
    assert not any(t.is_meta for t in tensors) and all(p.requires_grad for p in loaded.module.parameters())
    for (k, a), b in zip(module.state_dict().items(), loaded.module.state_dict().values()):
        assert b.dtype == a.dtype, k
        tol = 0 if dtype == "float32" else 1e-3 * (a.abs().max().item() + 1e-6)
        assert torch.allclose(a, b, atol=tol), k
    x = np.random.default_rng(0).normal(size=(3, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        ref = torch.softmax(module(torch.from_numpy(x)).double(), 1)[:, 1].numpy()
    p = loaded.predict_proba(x)
    assert p.shape == (3,)
    np.testing.assert_allclose(p, ref, atol=1e-6 if dtype == "float32" else 1e-3)
    assert loaded.predict_proba(x[0]).shape == (1,)
    assert loaded.features(x).shape == (3, 512)


def test_float16_halves_the_file(tmp_path):
    module = build_model("vgg8")
    _save(module, tmp_path / "a", weights_dtype="float32")
    _save(module, tmp_path / "b", weights_dtype="float16")
    a = (tmp_path / "a" / "weights.safetensors").stat().st_size
    b = (tmp_path / "b" / "weights.safetensors").stat().st_size
    assert 0.49 < b / a < 0.51


def test_hash_mismatch_is_refused(tmp_path):
    folder = make_tiny_model_folder(tmp_path)
    weights = folder / "weights.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF  # flip one bit of one weight
    weights.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="sha256") as info:
        load_model(folder, "cpu")
    assert info.value.path == folder


def test_missing_folder_files_and_bad_json(tmp_path):
    with pytest.raises(ModelUnavailable, match="does not exist"):
        load_model(tmp_path / "nope", "cpu")
    folder = make_tiny_model_folder(tmp_path)
    (folder / "weights.safetensors").unlink()
    with pytest.raises(ModelUnavailable, match="weights file .* missing"):
        load_model(folder, "cpu")
    (folder / "manifest.json").write_text("{not json")
    with pytest.raises(ModelUnavailable, match="not valid JSON"):
        load_model(folder, "cpu")
    (folder / "manifest.json").unlink()
    with pytest.raises(ModelUnavailable, match="manifest.json is missing"):
        load_model(folder, "cpu")


def test_manifest_validation(tmp_path):
    folder = make_tiny_model_folder(tmp_path)
    good = json.loads((folder / "manifest.json").read_text())
    for change, pattern in [
        ({"architecture": "resnet50"}, "unknown architecture"),
        ({"threshold": 1.5}, "threshold"),
        ({"surprise": 1}, "unknown fields"),
        ({"preprocessing": {**good["preprocessing"], "mode": "squash"}}, "preprocessing"),
        ({"weights_file": "../elsewhere.safetensors"}, "plain file name"),
    ]:
        (folder / "manifest.json").write_text(json.dumps({**good, **change}))
        with pytest.raises(ModelUnavailable, match=pattern):
            load_model(folder, "cpu")
    bad = dict(good)
    del bad["threshold"]
    (folder / "manifest.json").write_text(json.dumps(bad))
    with pytest.raises(ModelUnavailable, match="missing fields.*threshold"):
        load_model(folder, "cpu")


def test_strict_key_and_shape_mismatch(tmp_path):
    from safetensors.torch import load_file, save_file

    folder = make_tiny_model_folder(tmp_path)
    manifest = load_manifest(folder)
    weights = folder / "weights.safetensors"
    state = load_file(str(weights))

    def rewrite(new_state):
        save_file(new_state, str(weights))
        from ra_desktop.model import sha256_file

        write_manifest(folder, manifest.replace(weights_sha256=sha256_file(weights)))

    renamed = {k.replace("classifier.fc3", "classifier.head"): v for k, v in state.items()}
    rewrite(renamed)
    with pytest.raises(ModelUnavailable, match="missing keys.*fc3.*unexpected keys.*head"):
        load_model(folder, "cpu")
    reshaped = dict(state)
    reshaped["classifier.fc3.weight"] = torch.zeros(3, 512, dtype=state["classifier.fc3.weight"].dtype)
    rewrite(reshaped)
    with pytest.raises(ModelUnavailable, match="shape mismatch.*fc3.weight"):
        load_model(folder, "cpu")


def test_tiny_model_folder(tmp_path):
    a = make_tiny_model_folder(tmp_path, name="a")
    b = make_tiny_model_folder(tmp_path, name="b")
    ma = load_model(a, "cpu")
    assert ma.manifest.name == TINY_MODEL_NAME and ma.manifest.synthetic_training_data
    assert ma.manifest.notice == SYNTHETIC_NOTICE
    x = np.zeros((3, 224, 224), np.float32)
    assert ma.predict_proba(x)[0] == pytest.approx(load_model(b, "cpu").predict_proba(x)[0])
    assert 0.0 < ma.predict_proba(x)[0] < 1.0
    assert ma.label_for(0.7) == "RA" and ma.label_for(0.2) == "normal"


def test_manifest_dict_round_trip(tmp_path):
    m = load_manifest(make_tiny_model_folder(tmp_path))
    assert Manifest.from_dict(json.loads(json.dumps(m.to_dict()))) == m
    assert m.preprocess_config == PreprocessConfig()


def test_save_rejects_bad_fields_before_writing(tmp_path):
    from ra_desktop.errors import DataError

    with pytest.raises(DataError, match="threshold"):
        _save(build_model("vgg8"), tmp_path / "bad", threshold=1.5)
    assert not (tmp_path / "bad").exists()
    with pytest.raises(UnknownArchitecture):
        _save(build_model("vgg8"), tmp_path / "bad", arch="vgg9")


def test_model_folder_files_are_readable_by_everyone(tmp_path):
    # An installed model is read by users other than the one who wrote it.
    from tests.tiny_model import make_tiny_model_folder

    folder = make_tiny_model_folder(tmp_path)
    for name in ("manifest.json", "weights.safetensors"):
        assert (folder / name).stat().st_mode & 0o444 == 0o444, name


def test_densenet_without_torchvision_says_it_needs_the_full_build(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_torchvision(name, *args, **kwargs):
        if name == "torchvision" or name.startswith("torchvision."):
            raise ImportError("No module named 'torchvision'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_torchvision)
    with pytest.raises(UnknownArchitecture, match="DenseNet models need the full build"):
        build_model("densenet121-no-attention")
