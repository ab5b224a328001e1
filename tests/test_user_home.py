"""Tests never read or write the real user's folders (tests/conftest.py gives the session its own
home, and each test its own RA_DESKTOP_HOME); the last test of a run checks the real home."""
from __future__ import annotations

import os
from pathlib import Path



def test_the_session_has_its_own_home(session_home, real_home, _isolated_user_dirs):
    assert Path.home() == session_home != real_home["path"]
    assert real_home["path"] != Path(os.environ["HOME"])  # a worker's real home is not the session's
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "MPLCONFIGDIR"):
        assert session_home in Path(os.environ[var]).parents, var
    assert Path(os.environ["RA_DESKTOP_HOME"]) == _isolated_user_dirs
    assert session_home not in _isolated_user_dirs.parents  # each test's home is its own


def test_real_home_untouched_by_the_run(real_home):
    """Run last (conftest moves it there): nothing appeared or changed in the real ~/.config,
    ~/.local or ~/.cache while the tests ran (a process running beside the tests could also trip this)."""
    changes = real_home["changes"](real_home["before"], real_home["listing"]())
    assert not changes, f"the test run wrote to the real home {real_home['path']}:\n" + "\n".join(changes[:50])
