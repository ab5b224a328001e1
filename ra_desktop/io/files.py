"""Find image files in files and folders, deterministically."""
from __future__ import annotations

import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(
    {".dcm", ".dicom", ".dic", ".png", ".jpg", ".jpeg", ".jpe", ".bmp", ".dib", ".tif", ".tiff"}
)

# Obvious non-images that sit beside radiographs (labels, reports, exports): never sniffed.
_NON_IMAGE_SUFFIXES = frozenset(
    {".json", ".csv", ".tsv", ".txt", ".md", ".xml", ".html", ".htm", ".pdf", ".yaml", ".yml",
     ".ini", ".log", ".zip", ".gz", ".py", ".db", ".sqlite", ".xlsx", ".xls", ".doc", ".docx",
     ".safetensors", ".pt", ".pth", ".npy", ".npz"}
)
# Folder-level DICOM index files: DICM preamble but no image.
_NON_IMAGE_NAMES = frozenset({"dicomdir", "thumbs.db", "desktop.ini"})
# Sub-folders met while walking that hold no cases: a phantom set's lesion masks and ground truth
# (ra-desktop phantom). Named explicitly, such a folder is still read.
_SKIP_SUBFOLDERS = frozenset({"ground_truth"})


def iter_image_files(
    paths: str | os.PathLike | Iterable[str | os.PathLike], recursive: bool = True
) -> Iterator[Path]:
    """Yield the image files named by ``paths``, expanding folders.

    A file named explicitly is always yielded (even if it is missing or not an image, so the
    caller reports why it cannot be loaded). In a folder, a file is yielded when its suffix
    is in :data:`SUPPORTED_SUFFIXES`, or when it has another (or no) suffix that is not an
    obvious non-image and its content starts like DICOM (DICOM files often have no suffix or
    a UID-like name). Hidden files and folders, and ``ground_truth`` sub-folders (phantom masks),
    are skipped. Each folder's files come sorted; arguments are followed in the order given and
    duplicates are dropped.

    Parameters
    ----------
    paths : path or iterable of paths
        Files and folders.
    recursive : bool, optional
        Descend into sub-folders (default True).

    Yields
    ------
    Path
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    seen: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        found = _walk(path, recursive) if path.is_dir() else [path]
        for item in found:
            key = item.resolve() if item.exists() else item.absolute()
            if key not in seen:
                seen.add(key)
                yield item


def _walk(folder: Path, recursive: bool) -> list[Path]:
    found: list[Path] = []
    for root, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_SUBFOLDERS] if recursive else []
        for name in files:
            if not name.startswith(".") and _is_candidate(Path(root) / name):
                found.append(Path(root) / name)
    # Sort on path components so "a/b" < "a b" ordering does not depend on the separator.
    return sorted(found, key=lambda p: p.relative_to(folder).parts)


def _is_candidate(path: Path) -> bool:
    suffix = path.suffix.lower()
    if path.name.lower() in _NON_IMAGE_NAMES or suffix in _NON_IMAGE_SUFFIXES:
        return False
    if suffix in SUPPORTED_SUFFIXES:
        return True
    return _starts_like_dicom(path)


def _starts_like_dicom(path: Path) -> bool:
    try:
        # Opening a named pipe blocks until a writer appears: only peek into regular files.
        if not stat.S_ISREG(path.stat().st_mode):
            return False
        with path.open("rb") as fh:
            head = fh.read(132)
    except OSError:
        return False
    return len(head) == 132 and head[128:] == b"DICM"
