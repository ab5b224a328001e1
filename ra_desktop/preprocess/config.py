"""The preprocessing recipe, stored in every model manifest so training and serving agree."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import Any

from ra_desktop.errors import DataError

MODES = ("resize_crop", "letterbox")
WAVELET_THRESHOLDS = ("soft", "hard", "none")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
# A manifest comes with a model folder someone chose: bound what it can make us allocate.
MAX_RESIZE = 4096
MAX_WAVELET_LEVELS = 12


@dataclass(frozen=True)
class PreprocessConfig:
    """How a radiograph becomes a normalised 3×crop×crop model input.

    Attributes
    ----------
    mode : {"resize_crop", "letterbox"}
        ``"resize_crop"`` (published): squash to ``resize``×``resize``, then centre crop
        ``crop``×``crop``; the borders are never seen. ``"letterbox"``: keep the aspect ratio, fit
        the whole image into ``crop``×``crop`` and pad with 0 (black), centred.
    resize, crop : int
        Resize side and crop side in pixels (published: 256 and 224).
    low_pct, high_pct : float
        Percentile window of the modality pixels for the intensity step (0.5 and 99.5).
    wavelet : str
        pywavelets wavelet name for the denoising step (published: ``"sym8"``).
    wavelet_levels : int
        Decomposition levels of the 2-D DWT.
    wavelet_mode : str
        pywavelets signal-extension mode (``"symmetric"``, ``"periodization"``, ...).
    wavelet_threshold : {"soft", "hard", "none"}
        Thresholding of the detail coefficients at the universal threshold; ``"none"`` skips the
        wavelet step entirely.
    mean, std : tuple of 3 floats
        Per-channel normalisation (ImageNet statistics) applied after scaling to [0, 1].
    """

    mode: str = "resize_crop"
    resize: int = 256
    crop: int = 224
    low_pct: float = 0.5
    high_pct: float = 99.5
    wavelet: str = "sym8"
    wavelet_levels: int = 2
    wavelet_mode: str = "symmetric"
    wavelet_threshold: str = "soft"
    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        # Lists arrive from JSON; keep the dataclass hashable and comparable.
        object.__setattr__(self, "mean", tuple(float(v) for v in self.mean))
        object.__setattr__(self, "std", tuple(float(v) for v in self.std))
        problems = []
        if self.mode not in MODES:
            problems.append(f"mode {self.mode!r} is not one of {MODES}")
        if not 8 <= int(self.crop) <= int(self.resize) <= MAX_RESIZE:
            problems.append(f"need 8 <= crop <= resize <= {MAX_RESIZE}, got crop={self.crop}, "
                            f"resize={self.resize}")
        if not 0.0 <= self.low_pct < self.high_pct <= 100.0:
            problems.append(f"need 0 <= low_pct < high_pct <= 100, got {self.low_pct}, {self.high_pct}")
        if self.wavelet_threshold not in WAVELET_THRESHOLDS:
            problems.append(
                f"wavelet_threshold {self.wavelet_threshold!r} is not one of {WAVELET_THRESHOLDS}"
            )
        if self.wavelet_threshold != "none":
            import pywt  # light import; only to validate the names early

            if self.wavelet not in pywt.wavelist(kind="discrete"):
                problems.append(f"unknown discrete wavelet {self.wavelet!r}")
            if self.wavelet_mode not in pywt.Modes.modes:
                problems.append(f"unknown wavelet_mode {self.wavelet_mode!r}")
            if not 1 <= int(self.wavelet_levels) <= MAX_WAVELET_LEVELS:
                problems.append(f"wavelet_levels must be 1 to {MAX_WAVELET_LEVELS}, got {self.wavelet_levels}")
        if (len(self.mean) != 3 or len(self.std) != 3 or not all(map(math.isfinite, self.mean + self.std))
                or min(self.std) <= 0):
            problems.append("mean and std need 3 values each, std > 0")
        if problems:
            raise DataError("invalid preprocessing config: " + "; ".join(problems))

    @property
    def input_shape(self) -> tuple[int, int, int]:
        """Model input shape (channels, height, width)."""
        return (3, int(self.crop), int(self.crop))

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        out = asdict(self)
        out["mean"] = list(self.mean)
        out["std"] = list(self.std)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PreprocessConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise :class:`DataError` (no silent drift)."""
        if not isinstance(data, dict):
            raise DataError(f"preprocessing config must be a JSON object, got {type(data).__name__}")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise DataError(
                f"unknown preprocessing keys {unknown}; known keys are {sorted(known)}"
            )
        return cls(**data)
