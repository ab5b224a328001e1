"""Shared fixtures: every test gets its own user folders and never touches the network."""
from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    home = tmp_path / "ra-home"
    home.mkdir()
    monkeypatch.setenv("RA_DESKTOP_HOME", str(home))
    yield home


def pytest_configure(config):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
