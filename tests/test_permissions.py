"""Patient data on disk is the owner's alone: folders 0700, worklist and log 0600, old ones fixed."""
from __future__ import annotations

import logging
import os
import stat
import sys

import pytest

from ra_desktop import paths
from ra_desktop.worklist import NewCase, WorklistStore

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX modes")


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def _log_to_file():
    from ra_desktop.app import setup_logging

    log_file = setup_logging()
    logging.getLogger("ra_desktop.test").warning("case 1.2.3 opened")
    return log_file


def _close_log():
    root = logging.getLogger()
    for h in [h for h in root.handlers if getattr(h, "_ra_desktop", False)]:
        root.removeHandler(h)
        h.close()


def test_new_user_data_is_owner_only():
    store = WorklistStore()
    store.add_cases([NewCase("1.2.3", "/scans/Doe_Jane/hand.dcm", patient_id="MRN77")])
    try:
        log_file = _log_to_file()
    finally:
        _close_log()
    for folder in (paths.user_data_dir(), paths.user_log_dir(), paths.user_config_dir(), paths.user_cache_dir()):
        assert _mode(folder) == 0o700, folder
    for f in (store.path, log_file, *store.path.parent.glob("worklist.sqlite-*")):
        assert _mode(f) == 0o600, f


def test_files_and_folders_of_an_older_version_are_tightened_on_start(monkeypatch, tmp_path):
    home = tmp_path / "old-home"
    for kind in ("data", "log"):
        (home / kind).mkdir(parents=True, mode=0o755)
        os.chmod(home / kind, 0o755)  # the umask may have masked the mode above
    db, log = home / "data" / "worklist.sqlite", home / "log" / "ra-desktop.log"
    WorklistStore(db).close()
    log.write_text("old line\n")
    for f in (db, log):
        os.chmod(f, 0o644)
    monkeypatch.setenv("RA_DESKTOP_HOME", str(home))
    store = WorklistStore()
    try:
        _log_to_file()
    finally:
        _close_log()
    assert store.path == db
    assert _mode(home / "data") == 0o700 and _mode(home / "log") == 0o700
    assert _mode(db) == 0o600 and _mode(log) == 0o600
    assert "old line" in log.read_text()  # tightened, not replaced
