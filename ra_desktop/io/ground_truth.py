"""Phantom ground truth beside an image file: the one way the runtime reads it.

The phantom generator (:mod:`ra_desktop.phantom.writer`) writes ``<stem>.json`` (and
``<stem>_mask.png``) into ``ground_truth/``; this module finds them again for an image path. It is
plain ``json`` and ``pathlib`` (not the phantom package, whose generator takes a second or more to
import), so the window can show a phantom's joints without loading the generator.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

log = logging.getLogger(__name__)

# The bundled phantoms' ground truth is about 5 KB: a file far larger is not one of ours.
MAX_GROUND_TRUTH_BYTES = 4_000_000


def load_ground_truth(image_path) -> dict | None:
    """Ground truth of a phantom image, or None for anything else.

    Looks for ``<stem>.json`` in ``../ground_truth/`` (the data-set layout), then in
    ``./ground_truth/`` and beside the image. The mask, when found, is added as
    ``gt["mask_path"]`` (absolute path string); pixels are not loaded here. A JSON larger than
    :data:`MAX_GROUND_TRUTH_BYTES`, nested too deeply or unreadable is logged and gives None.

    Parameters
    ----------
    image_path : path-like

    Returns
    -------
    dict or None
    """
    p = Path(image_path)
    stem = p.stem
    for folder in (p.parent.parent / "ground_truth", p.parent / "ground_truth", p.parent):
        js = folder / f"{stem}.json"
        if js.is_file():
            try:
                size = js.stat().st_size
                if size > MAX_GROUND_TRUTH_BYTES:
                    log.warning("phantom ground truth %s not read: %.1f MB, more than the %.0f MB a "
                                "ground truth may have", js, size / 1e6, MAX_GROUND_TRUTH_BYTES / 1e6)
                    return None
                gt = json.loads(js.read_text())
            except RecursionError:
                log.warning("phantom ground truth %s not read: nested too deeply", js)
                return None
            except (OSError, ValueError):
                log.warning("phantom ground truth unreadable", exc_info=True)
                return None
            mask = folder / f"{stem}_mask.png"
            if mask.is_file():
                gt["mask_path"] = str(mask)
            return gt
    return None


def ground_truth_for(path: str | Path | None) -> dict | None:
    """Phantom ground truth for an image (educator mode, joint-named regions), or None.

    Never raises: a real radiograph has none, and unreadable ground truth is a teaching aid lost,
    never a reason to fail a case; it is logged.
    """
    if path is None:
        return None
    try:
        return load_ground_truth(Path(path))
    except Exception:  # noqa: BLE001 - ground truth is a teaching aid, never a reason to fail
        log.warning("phantom ground truth unreadable", exc_info=True)
        return None
