"""The model folders Settings offers: found by their manifests, without torch, unusable ones said why."""
from __future__ import annotations

import json
import subprocess
import sys

from ra_desktop import catalogue, paths


def _folder(root, name, arch="vgg8", **extra):
    folder = root / name
    folder.mkdir(parents=True)
    manifest = {"name": name, "version": "1.0.0", "architecture": arch, "synthetic_training_data": True, **extra}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def test_bundled_then_user_models_and_a_densenet_without_torchvision(tmp_path, monkeypatch):
    monkeypatch.setattr(paths, "models_dir", lambda: tmp_path / "bundled")
    monkeypatch.setattr(catalogue, "user_models_dir", lambda: tmp_path / "user")
    _folder(tmp_path / "bundled", "ra-vgg8-phantom")
    _folder(tmp_path / "bundled", "ra-densenet121-phantom", arch="densenet121")
    (tmp_path / "bundled" / "not-a-model").mkdir()
    _folder(tmp_path / "user", "clinic-model")
    broken = tmp_path / "user" / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")

    entries = catalogue.find_models(tmp_path / "bundled" / "ra-vgg8-phantom", torchvision=False)
    assert [e.path.name for e in entries] == ["ra-densenet121-phantom", "ra-vgg8-phantom", "broken", "clinic-model"]
    by_name = {e.path.name: e for e in entries}
    assert "needs the full build" in by_name["ra-densenet121-phantom"].problem
    assert by_name["ra-vgg8-phantom"].problem == "" and "synthetic" in by_name["ra-vgg8-phantom"].label
    assert "unreadable manifest" in by_name["broken"].problem
    assert catalogue.find_models(torchvision=True)[0].problem == ""  # the full build offers it


def test_the_repository_lists_its_bundled_model():
    names = [e.name for e in catalogue.find_models()]
    assert "ra-vgg8-phantom" in names


def test_listing_models_does_not_import_torch():
    code = "import sys; from ra_desktop import catalogue; catalogue.find_models(); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
