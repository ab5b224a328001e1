"""User settings: typed, versioned, robust to old or hand-edited files."""
from __future__ import annotations

import json

import pytest

from ra_desktop import paths
from ra_desktop.settings import SCHEMA_VERSION, Settings, load_settings, save_settings, settings_path


def test_defaults_when_missing():
    s = load_settings()
    assert s == Settings() and s.theme == "dark" and s.model_path() == paths.default_model_dir()


def test_round_trip():
    s = Settings(device="cpu", reader_name="Dr A", institution="Clinic", overlay_opacity=0.3,
                 explanations=("gradcam",))
    path = save_settings(s)
    assert path == settings_path() and path.parent == paths.user_config_dir()
    assert load_settings() == s
    assert json.loads(path.read_text())["schema_version"] == SCHEMA_VERSION


def test_bad_values_fall_back_one_field_at_a_time():
    settings_path().write_text(json.dumps({
        "device": "tpu", "reader_name": "Dr B", "overlay_opacity": "high", "unknown": 1,
    }))
    s = load_settings()
    assert s.device == "auto" and s.reader_name == "Dr B" and s.overlay_opacity == Settings().overlay_opacity


def test_old_file_is_migrated():
    settings_path().write_text(json.dumps({"opacity": 0.7}))
    assert load_settings().overlay_opacity == 0.7


def test_corrupt_file_gives_defaults():
    settings_path().write_text("{not json")
    assert load_settings() == Settings()


def test_constructor_validates():
    with pytest.raises(ValueError):
        Settings(overlay_opacity=2.0)
    with pytest.raises(ValueError):
        Settings(explanations=("lime",))


def test_save_is_atomic_old_file_survives_a_failed_write(monkeypatch):
    import os

    save_settings(Settings(reader_name="Dr Old"))
    synced = []

    def failing_fsync(fd):
        synced.append(fd)
        raise OSError("disk full")

    with monkeypatch.context() as m, pytest.raises(OSError):
        m.setattr(os, "fsync", failing_fsync)
        save_settings(Settings(reader_name="Dr New"))
    assert synced  # the data is flushed to disk before it replaces the old file
    assert load_settings().reader_name == "Dr Old"
    assert [p.name for p in settings_path().parent.iterdir()] == ["settings.json"]  # no temp left
