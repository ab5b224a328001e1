"""Where each model-input pixel came from in the original image, so maps land on the right bone.

Coordinate convention (used everywhere in RA Desktop): a point is ``(x, y)`` = (column, row) in
pixel units, and **pixel centres sit at integer coordinates** — pixel ``[r, c]`` covers
``[c - 0.5, c + 0.5) × [r - 0.5, r + 0.5)``. The mapping is per-axis affine::

    image_x = scale_x * model_x + offset_x
    image_y = scale_y * model_y + offset_y

which is exactly the sampling grid PIL's ``resize`` uses (centre of output pixel ``i`` reads input
coordinate ``(i + 0.5) * in/out - 0.5``), followed by a crop or a pad.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from ra_desktop.errors import DataError


@dataclass(frozen=True)
class Geometry:
    """Per-axis affine map between the model input grid and the original image grid.

    Attributes
    ----------
    image_shape : (H, W)
        Original image shape.
    model_shape : (h, w)
        Model input shape (224, 224).
    scale_x, scale_y : float
        Image pixels per model pixel along each axis.
    offset_x, offset_y : float
        Image coordinate of model pixel centre (0, 0).
    """

    image_shape: tuple[int, int]
    model_shape: tuple[int, int]
    scale_x: float
    scale_y: float
    offset_x: float
    offset_y: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "image_shape", tuple(int(v) for v in self.image_shape))
        object.__setattr__(self, "model_shape", tuple(int(v) for v in self.model_shape))
        if self.scale_x <= 0 or self.scale_y <= 0:
            raise DataError(f"geometry scales must be positive, got {self.scale_x}, {self.scale_y}")

    # -- point mapping -------------------------------------------------------------------------
    def model_to_image(self, xy: Any) -> np.ndarray:
        """Map model-grid points ``(..., 2)`` as ``(x, y)`` to image coordinates (float64)."""
        p = np.asarray(xy, dtype=np.float64)
        return np.stack(
            [p[..., 0] * self.scale_x + self.offset_x, p[..., 1] * self.scale_y + self.offset_y],
            axis=-1,
        )

    def image_to_model(self, xy: Any) -> np.ndarray:
        """Map image points ``(..., 2)`` as ``(x, y)`` to model-grid coordinates (float64)."""
        p = np.asarray(xy, dtype=np.float64)
        return np.stack(
            [(p[..., 0] - self.offset_x) / self.scale_x, (p[..., 1] - self.offset_y) / self.scale_y],
            axis=-1,
        )

    # -- maps ----------------------------------------------------------------------------------
    def _axis(self, n_image: int, n_model: int, scale: float, offset: float):
        """For each image pixel centre on one axis: model coordinate, bilinear taps, seen flag."""
        u = (np.arange(n_image, dtype=np.float64) - offset) / scale
        # Seen = the pixel centre falls inside the model frame [-0.5, n - 0.5).
        seen = (u >= -0.5) & (u < n_model - 0.5)
        # Inside the half-pixel rim, bilinear clamps to the edge value (as PIL does).
        uc = np.clip(u, 0.0, n_model - 1.0)
        i0 = np.floor(uc).astype(np.intp)
        i1 = np.minimum(i0 + 1, n_model - 1)
        w = (uc - i0).astype(np.float32)
        return i0, i1, w, seen

    def map_to_image(self, model_map: np.ndarray) -> np.ndarray:
        """Resample a model-space map (h×w) onto the image grid (H×W), float32.

        Exact separable bilinear interpolation at the mapped pixel centres; pixels the model never
        saw (the borders cut off by the centre crop) are NaN.
        """
        m = np.asarray(model_map, dtype=np.float32)
        if m.shape != self.model_shape:
            raise DataError(f"model map has shape {m.shape}, expected {self.model_shape}")
        H, W = self.image_shape
        h, w = self.model_shape
        x0, x1, wx, seen_x = self._axis(W, w, self.scale_x, self.offset_x)
        y0, y1, wy, seen_y = self._axis(H, h, self.scale_y, self.offset_y)
        rows = m[:, x0] * (1.0 - wx) + m[:, x1] * wx  # (h, W)
        # In place: the same arithmetic as rows[y0]*(1-wy) + rows[y1]*wy with two full-size
        # buffers instead of five (the map is 5 MP for a 2k x 2.5k radiograph).
        out = rows[y0]
        out *= (1.0 - wy)[:, None]
        tmp = rows[y1]
        tmp *= wy[:, None]
        out += tmp
        out = out.astype(np.float32, copy=False)
        out[~seen_y, :] = np.nan
        out[:, ~seen_x] = np.nan
        return out

    def seen_mask(self) -> np.ndarray:
        """Boolean H×W mask of the image pixels that fall inside the model input."""
        H, W = self.image_shape
        h, w = self.model_shape
        seen_x = self._axis(W, w, self.scale_x, self.offset_x)[3]
        seen_y = self._axis(H, h, self.scale_y, self.offset_y)[3]
        return seen_y[:, None] & seen_x[None, :]

    def seen_box(self) -> tuple[int, int, int, int] | None:
        """The seen pixels as a box ``(x0, y0, x1, y1)``, ends exclusive (``seen_mask`` is exactly
        this box: each axis's seen pixels are one run); None when the model saw none of them."""
        H, W = self.image_shape
        h, w = self.model_shape
        xs = np.flatnonzero(self._axis(W, w, self.scale_x, self.offset_x)[3])
        ys = np.flatnonzero(self._axis(H, h, self.scale_y, self.offset_y)[3])
        if xs.size == 0 or ys.size == 0:
            return None
        return int(xs[0]), int(ys[0]), int(xs[-1]) + 1, int(ys[-1]) + 1

    # -- serialisation -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        out = asdict(self)
        out["image_shape"] = list(self.image_shape)
        out["model_shape"] = list(self.model_shape)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Geometry:
        """Inverse of :meth:`to_dict`; unknown or missing keys raise :class:`DataError`."""
        known = {f.name for f in fields(cls)}
        if set(data) != known:
            raise DataError(
                f"geometry keys {sorted(data)} do not match the expected {sorted(known)}"
            )
        return cls(**data)
