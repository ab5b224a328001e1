"""GUI fixtures: small generated radiographs, the tiny model, and a main-window factory."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ra_desktop.settings import Settings

_MODEL_CACHE: dict[str, Path] = {}


def write_images(folder: Path, n: int = 4, broken: bool = True, seed: int = 0) -> list[Path]:
    """``n`` small 16-bit PNG 'radiographs' (a bright blob on noise) plus one broken file."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        h, w = 180 + 10 * i, 150
        yy, xx = np.mgrid[0:h, 0:w]
        img = 8000 + 30000 * np.exp(-((yy - h / 2) ** 2 + (xx - w / 2) ** 2) / (2 * (30 + 5 * i) ** 2))
        img = (img + rng.normal(0, 800, img.shape)).clip(0, 65535).astype(np.uint16)
        path = folder / f"case_{i:02d}.png"
        Image.fromarray(img).save(path)
        out.append(path)
    if broken:
        bad = folder / "broken.png"
        bad.write_bytes(b"\x89PNG\r\n\x1a\n" + b"this is not really a png" * 4)
        out.append(bad)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory) -> Path:
    from tests.tiny_model import make_tiny_model_folder

    if "dir" not in _MODEL_CACHE:
        _MODEL_CACHE["dir"] = make_tiny_model_folder(tmp_path_factory.mktemp("model"))
    return _MODEL_CACHE["dir"]


@pytest.fixture
def image_folder(tmp_path) -> Path:
    folder = tmp_path / "images"
    write_images(folder)
    return folder


@pytest.fixture
def make_window(qtbot, monkeypatch):
    """Factory: a shown MainWindow whose model has loaded (or failed to). Closed at teardown."""
    from PySide6.QtWidgets import QMessageBox

    from ra_desktop.app import create_window
    from ra_desktop.ui import plain

    # Modal boxes would block an offscreen test forever: record them instead.
    shown: list[str] = []
    for name in ("information", "warning", "critical"):
        monkeypatch.setattr(QMessageBox, name, staticmethod(lambda *a, _n=name, **k: shown.append(f"{_n}: {a[2]}")))
    kinds = {QMessageBox.Icon.Information: "information", QMessageBox.Icon.Warning: "warning",
             QMessageBox.Icon.Critical: "critical"}
    monkeypatch.setattr(plain, "message", lambda parent, icon, title, text: shown.append(f"{kinds[icon]}: {text}"))
    windows = []

    def factory(model_dir: Path | None, settings: Settings | None = None, wait_model: bool = True):
        s = settings or Settings(explanations=("gradcam",), reader_name="Dr Test")
        s = s.replace(model_dir=str(model_dir) if model_dir else "/nonexistent/model")
        w = create_window(s)
        w.message_boxes = shown
        qtbot.addWidget(w)
        windows.append(w)
        w.show()
        if wait_model:
            with qtbot.waitSignals([w.jobs.model_ready if model_dir else w.jobs.model_failed], timeout=30000):
                w.start_services()
        return w

    yield factory
    for w in windows:
        w.close()


def wait_rows(qtbot, window, n: int, timeout: int = 20000) -> None:
    qtbot.waitUntil(lambda: window.worklist.model.rowCount() >= n and not window._scans, timeout=timeout)
