"""Shared fixtures: tests never read or write the real user's folders, and never touch the network.

For the whole session ``HOME`` and the XDG folders point into a temporary folder (set before any
test module is imported, so that nothing collection imports writes to the real ``~``), and so do
matplotlib's folder (``MPLCONFIGDIR``) and torch's compiler cache. Each test gets its own
``RA_DESKTOP_HOME`` on top. The real ``~/.config``, ``~/.local`` and ``~/.cache`` are listed at
the start; ``tests/test_user_home.py`` checks at the end of the run that nothing appeared or
changed there.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

# The real home, as found before the session home replaces it (see test_user_home.py). pytest-xdist's
# workers start with the controller's environment, whose HOME is already the session home: the
# controller passes the real one on.
REAL_HOME = Path(os.environ.get("RA_TEST_REAL_HOME") or os.path.expanduser("~"))
WATCHED = (".config", ".local", ".cache")  # what the real-home check lists, to this depth
WATCH_DEPTH = 4
_SESSION_ENV = ("HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME", "MPLCONFIGDIR",
                "TORCHINDUCTOR_CACHE_DIR")
_state: dict = {}


def listing(root: Path, depth: int = WATCH_DEPTH) -> dict[str, tuple[int, int]]:
    """``{relative path: (mtime_ns, size)}`` of everything under ``root`` down to ``depth`` levels
    (a folder's mtime changes when something is made inside it, so deeper changes show too)."""
    out: dict[str, tuple[int, int]] = {}
    root_depth = len(root.parts)
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        if len(here.parts) - root_depth >= depth:
            dirs[:] = []
        for name in (*dirs, *files):
            path = here / name
            try:
                st = path.lstat()
            except OSError:
                continue
            out[str(path.relative_to(root))] = (st.st_mtime_ns, st.st_size)
    return out


def real_home_listing() -> dict[str, dict[str, tuple[int, int]]]:
    return {name: listing(REAL_HOME / name) for name in WATCHED}


def _changes(before: dict, now: dict) -> list[str]:
    out = []
    for name in WATCHED:
        b, a = before[name], now[name]
        out += [f"new      ~/{name}/{p}" for p in sorted(set(a) - set(b))]
        out += [f"changed  ~/{name}/{p}" for p in sorted(set(a) & set(b)) if a[p] != b[p]]
    return out


def _is_xdist_controller(config) -> bool:
    return not hasattr(config, "workerinput") and bool(getattr(config.option, "numprocesses", None))


def pytest_configure(config):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ["RA_TEST_REAL_HOME"] = str(REAL_HOME)
    _state["before"] = real_home_listing()
    home = Path(tempfile.mkdtemp(prefix="ra-test-home-"))
    _state["home"] = home
    _state["saved_env"] = {k: os.environ.get(k) for k in _SESSION_ENV}
    os.environ.update({
        "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config"), "XDG_DATA_HOME": str(home / ".local" / "share"),
        "XDG_STATE_HOME": str(home / ".local" / "state"), "XDG_CACHE_HOME": str(home / ".cache"),
        "MPLCONFIGDIR": str(home / ".cache" / "matplotlib"),
        "TORCHINDUCTOR_CACHE_DIR": str(home / ".cache" / "torchinductor"),
    })


def pytest_sessionfinish(session, exitstatus):
    # With workers, test_real_home_untouched_by_the_run sees only its own worker's tests: the
    # controller, which outlives them all, checks the whole run.
    if _is_xdist_controller(session.config):
        changes = _changes(_state["before"], real_home_listing())
        if changes:
            print(f"\nthe test run wrote to the real home {REAL_HOME}:\n" + "\n".join(changes[:50]))
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config):
    for key, value in _state.get("saved_env", {}).items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value
    if "home" in _state:
        shutil.rmtree(_state["home"], ignore_errors=True)


def pytest_collection_modifyitems(config, items):
    # The real-home check looks back over the whole run: it goes last.
    last = [i for i in items if i.name == "test_real_home_untouched_by_the_run"]
    items[:] = [i for i in items if i not in last] + last


@pytest.fixture(scope="session", autouse=True)
def session_home() -> Path:
    """The session's stand-in for ``~`` (HOME and the XDG folders point into it)."""
    return _state["home"]


@pytest.fixture(scope="session")
def real_home() -> dict:
    """The real home (``path``), the folders watched in it, their listing when the session started
    (``before``) and a function that lists them now (``listing``)."""
    return {"path": REAL_HOME, "watched": WATCHED, "before": _state["before"], "listing": real_home_listing,
            "changes": _changes}


@pytest.fixture(autouse=True)
def _isolated_user_dirs(tmp_path, monkeypatch):
    home = tmp_path / "ra-home"
    home.mkdir()
    monkeypatch.setenv("RA_DESKTOP_HOME", str(home))
    yield home


# --- the bundled model and fresh phantoms, shared by the tests of the README's claims ---------
# (tests/test_bundled_model.py, tests/test_train.py, tests/test_self_test.py, tests/gui/...)
FRESH_SEED = 505000  # held-out seeds are 500000+; this one is used by no training or model card run


@pytest.fixture(scope="session")
def bundled_model_dir() -> Path:
    """The model folder the app ships. Missing is a failure, never a skip: the app needs it."""
    from ra_desktop.paths import default_model_dir

    folder = default_model_dir()
    for name in ("manifest.json", "weights.safetensors"):
        assert (folder / name).is_file(), f"the bundled model is incomplete: {folder / name} is missing"
    return folder


@pytest.fixture(scope="session")
def bundled_model(bundled_model_dir):
    """The bundled model, loaded once on the CPU (sha256 verified by load_model)."""
    from ra_desktop.model import load_model

    return load_model(bundled_model_dir, "cpu")


@pytest.fixture(scope="session")
def fresh_phantoms(tmp_path_factory) -> Path:
    """16 new phantoms, 8 RA (severity 1-3) and 8 normal, from held-out seed 505000 at the model
    card's test size (1800 px): never used to train, select or describe any shipped model."""
    from ra_desktop.phantom import generate_dataset

    out = tmp_path_factory.mktemp("fresh-phantoms")
    generate_dataset(out, 16, FRESH_SEED, size=1800, workers=2, progress=False)
    return out
