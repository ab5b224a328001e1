"""Adding files off the GUI thread: walk folders, read each file's header, report in chunks.

Reading metadata needs ``load_radiograph``, which decodes pixels, so a folder of large DICOM
files would freeze the window if done on the GUI thread. Rows reach the GUI in chunks (about
every 100 ms) so the table grows smoothly without a signal per file.
"""
from __future__ import annotations

import logging
import time

import numpy as np
from PySide6.QtCore import QThread, Signal

from ra_desktop.cancel import CancelToken
from ra_desktop.worklist import NewCase
# describe() lives below the Qt layer (the DICOM receiver uses it too); imported here for callers.
from ra_desktop.io import iter_image_files, load_radiograph
from ra_desktop.render import apply_window, auto_window, to_uint8
from ra_desktop.worklist.describe import describe  # noqa: F401
from ra_desktop.worklist.describe import path_key as _path_key  # noqa: F401

log = logging.getLogger(__name__)


class ScanThread(QThread):
    found = Signal(object)  # list[NewCase], one chunk
    progress = Signal(int, str)  # files looked at so far, current file name
    done = Signal(int, bool)  # files looked at, cancelled

    def __init__(self, paths: list[str], known_paths: set[str], parent=None, chunk_s: float = 0.1):
        super().__init__(parent)
        self._paths = [str(p) for p in paths]
        self._known = set(known_paths)
        self._chunk_s = chunk_s
        self.token = CancelToken()

    def run(self) -> None:
        seen = 0
        chunk: list[NewCase] = []
        last = time.monotonic()
        try:
            for path in iter_image_files(self._paths, recursive=True):
                if self.token.cancelled:
                    break
                seen += 1
                if str(path) in self._known:  # opening the same folder again adds only what is new
                    continue
                chunk.append(describe(path))
                if time.monotonic() - last >= self._chunk_s:
                    self.found.emit(chunk)
                    self.progress.emit(seen, path.name)
                    chunk, last = [], time.monotonic()
        except Exception:  # noqa: BLE001 - e.g. a folder that vanished mid-scan
            log.exception("scan failed")
        if chunk:
            self.found.emit(chunk)
        self.done.emit(seen, self.token.cancelled)


class ThumbnailThread(QThread):
    """Small greyscale previews (uint8 arrays) for the sample gallery."""

    thumbnail = Signal(str, object)  # path, uint8 H×W array or None when unreadable

    def __init__(self, paths: list[str], size: int = 160, parent=None):
        super().__init__(parent)
        self._paths, self._size = list(paths), size
        self.token = CancelToken()

    def run(self) -> None:
        for p in self._paths:
            if self.token.cancelled:
                return
            try:
                r = load_radiograph(p)
                step = max(1, int(np.ceil(max(r.pixels.shape) / self._size)))
                small = np.asarray(r.pixels[::step, ::step], dtype=np.float32)
                c, w = auto_window(small)
                self.thumbnail.emit(p, to_uint8(apply_window(small, c, w, r.inverted)))
            except Exception:  # noqa: BLE001 - a missing demo file shows as an empty tile
                log.warning("thumbnail for a sample failed", exc_info=True)
                self.thumbnail.emit(p, None)
