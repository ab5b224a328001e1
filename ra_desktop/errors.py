"""The project's exception types. Every user-facing failure is one of these."""
from __future__ import annotations

from pathlib import Path


class RADesktopError(Exception):
    """Base class: a failure the user can act on, with a message that says what and why."""


class ImageLoadError(RADesktopError):
    """A file could not be read as a radiograph. The message names the file and the reason."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class ModelUnavailable(RADesktopError):
    """A model folder is missing, incomplete, corrupt or does not match its manifest."""

    def __init__(self, path: str | Path, reason: str):
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"model {self.path}: {reason}")


class DataError(RADesktopError):
    """A training or evaluation data set cannot be used as given (says what to fix)."""


class Cancelled(RADesktopError):
    """A job was cancelled cooperatively between steps. Not an error to show the user."""
