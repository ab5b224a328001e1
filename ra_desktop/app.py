"""Composition root: logging, error hooks, QApplication, theme, worklist, main window."""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
import time
from pathlib import Path

from ra_desktop import APP_NAME, __version__, paths
from ra_desktop.logsafe import QUOTING_LIBRARIES, RedactPaths, WithholdLibraryText
from ra_desktop.settings import Settings, load_settings
from ra_desktop.ui.theme import load_stylesheet  # noqa: F401 - scripts import it from here too
from ra_desktop.worklist import WorklistStore

log = logging.getLogger("ra_desktop")


class _PrivateRotatingFileHandler(logging.handlers.RotatingFileHandler):
    """The log names cases and studies: each file it opens (rotation included) is owner-only."""

    def _open(self):
        if os.path.exists(self.baseFilename):
            paths.private_file(Path(self.baseFilename))  # a 0644 log from an older version
        return open(self.baseFilename, self.mode, encoding=self.encoding, errors=self.errors,
                    opener=paths.private_opener)


def setup_logging() -> Path:
    """Rotating log file in the user log folder (best effort: never stops the app)."""
    log_file = paths.user_log_dir() / "ra-desktop.log"
    root = logging.getLogger()
    if not any(getattr(h, "_ra_desktop", False) for h in root.handlers):
        try:
            handler = _PrivateRotatingFileHandler(log_file, maxBytes=2_000_000, backupCount=3,
                                                  encoding="utf-8")
        except OSError:
            handler = logging.StreamHandler()
        handler._ra_desktop = True  # type: ignore[attr-defined]
        # paths often carry patient names: the log names cases by case id, paths become hashes
        handler.addFilter(WithholdLibraryText())
        handler.addFilter(RedactPaths())
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(threadName)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        # pydicom warns about each odd header value, fontTools logs every glyph of a report:
        # noise, and their text is withheld by the filter anyway
        for name in QUOTING_LIBRARIES:
            logging.getLogger(name).setLevel(logging.ERROR)
    return log_file


def install_error_hooks(log_file: Path) -> None:
    """Unexpected exceptions are logged and shown once; Qt's own messages go to logging."""
    from PySide6.QtCore import QtMsgType, QTimer, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication, QMessageBox

    shown = {"done": False}

    def show_once(text: str) -> None:
        if shown["done"] or QApplication.instance() is None:
            return
        shown["done"] = True
        # Qt, like the PySide6 imports above: this module imports Qt only once a window starts.
        from ra_desktop.ui.plain import message  # the error text may quote a file's header

        message(None, QMessageBox.Icon.Critical, f"{APP_NAME}: unexpected error",
                f"{text}\n\nThe details are in the log file:\n{log_file}\n\n"
                "The app keeps running; further errors are only logged.")

    def excepthook(exc_type, exc, tb) -> None:
        # exc_info, not formatted text: the log filter hashes the paths the exception carries
        log.critical("unhandled exception", exc_info=(exc_type, exc, tb))
        # Qt slots that raise end up here; defer the dialog so it never opens inside a paint event
        QTimer.singleShot(0, lambda: show_once(f"{exc_type.__name__}: {exc}"))

    def thread_hook(args) -> None:
        log.critical("unhandled exception in thread %s", args.thread.name if args.thread else "?",
                     exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}

    def qt_handler(mode, context, message) -> None:
        logging.getLogger("qt").log(levels.get(mode, logging.WARNING), "%s", message)

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    qInstallMessageHandler(qt_handler)


def create_window(settings: Settings | None = None, store=None, jobs=None):
    """Build the main window (used by ``main`` and by tests/screenshots)."""
    from ra_desktop.ui.main_window import MainWindow  # lazy: Qt (and the viewer's pydicom, scipy)

    settings = settings or load_settings()
    store = store or WorklistStore()
    recovered = store.recover_interrupted()
    window = MainWindow(store, settings, jobs)
    if recovered:
        window._status(f"{recovered} case(s) were interrupted when the app last closed; "
                       "they are queued again: Analyse all resumes them", 15000)
    return window


STARTUP_PROBE = "RA_DESKTOP_STARTUP_PROBE"


def _startup_probe(app, window) -> None:
    """For ``bench/bench_startup.py``: print wall-clock times of the first paint and of the model
    being ready, then quit. Says whether torch was already imported at first paint (it must not be)."""
    from PySide6.QtCore import QEvent, QObject

    class Probe(QObject):
        painted = False

        def eventFilter(self, obj, event):  # noqa: N802
            if not self.painted and event.type() == QEvent.Type.Paint:
                self.painted = True
                print(f"ra-startup painted {time.time():.6f} torch={'torch' in sys.modules}", flush=True)
            return False

    probe = Probe(window)
    window.installEventFilter(probe)
    print(f"ra-startup show torch={'torch' in sys.modules}", flush=True)

    def ready(*_args) -> None:
        rss = -1.0
        try:  # peak RSS of this process image (ru_maxrss would carry a parent's peak over exec)
            with open("/proc/self/status") as fh:
                rss = next(int(x.split()[1]) / 1024 for x in fh if x.startswith("VmHWM:"))
        except (OSError, StopIteration):
            pass
        print(f"ra-startup model {time.time():.6f} maxrss_mb={rss:.0f}", flush=True)
        app.quit()

    window.jobs.model_ready.connect(ready)
    window.jobs.model_failed.connect(ready)


def keep_qt_settings_in_user_folder() -> None:
    """Qt's own settings (the file dialogs' history, ``QtProject.conf``) go to the user config
    folder, not ``~/.config``. Before the QApplication exists; the window layout has its own file."""
    from PySide6.QtCore import QSettings

    folder = str(paths.qt_settings_dir())
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, folder)


def main(open_paths: list[str] | None = None, model_dir: str | None = None, device: str | None = None) -> int:
    paths.redirect_library_caches()  # before Qt loads fonts (fontconfig's cache)
    log_file = setup_logging()
    log.info("%s %s starting", APP_NAME, __version__)
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    keep_qt_settings_in_user_folder()
    app = QApplication.instance() or QApplication(sys.argv[:1])
    app.setApplicationName(APP_NAME)
    app.setOrganizationName("RA Desktop")
    install_error_hooks(log_file)
    settings = load_settings()
    if model_dir:
        settings = settings.replace(model_dir=str(Path(model_dir).resolve()))
    if device:
        settings = settings.replace(device=device)
    app.setStyleSheet(load_stylesheet(settings.theme))
    window = create_window(settings)
    if os.environ.get(STARTUP_PROBE):
        _startup_probe(app, window)
    window.show()
    # Start the model (torch) and the folder scan only once the window is on screen (P14).
    QTimer.singleShot(0, window.start_services)
    if open_paths:
        QTimer.singleShot(0, lambda: window.add_paths(open_paths))
    return int(app.exec())
