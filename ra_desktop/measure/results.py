"""Results of radiogrammetry: plain, frozen, JSON-ready; a rejected result carries no number.

Coordinates are (x, y) in the image's pixels (x right, y down, pixel centres at integers).
Lengths are in ``unit``: "mm" when the image has a pixel spacing, else "px".
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

NOTICE = ("Measurements, not a diagnosis. No reference ranges are bundled: values need the "
          "reader's own reference population.")

Point = tuple[float, float]


@dataclass(frozen=True)
class Check:
    """One automatic validation: what was checked, the measured value, the accepted range."""

    name: str
    value: float | None
    accepted: str
    passed: bool

    def __post_init__(self):  # plain Python numbers: results go to JSON as they are
        object.__setattr__(self, "passed", bool(self.passed))
        if self.value is not None:
            object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True)
class ProfileEdges:
    """The four edges found on one profile across a shaft: periosteal and endosteal pairs."""

    centre: Point
    outer: tuple[Point, Point]
    inner: tuple[Point, Point]


@dataclass(frozen=True)
class BoneResult:
    """Cortical measurements of one metacarpal at the middle of its shaft.

    W outer (periosteal) width, M medullary (endosteal) width, T = (W - M) / 2 cortical
    thickness, MCI = (W - M) / W: means over the profiles, ``spread`` their standard deviations.
    All None when ``valid`` is False; ``reason`` then says why and the reader can place the
    bone's ends (:func:`ra_desktop.measure.measure_bone`).
    """

    bone: str
    valid: bool
    reason: str | None
    source: str  # "automatic" or "manual"
    unit: str
    ends: tuple[Point, Point] | None = None  # as found or clicked
    region: tuple[Point, Point] | None = None  # the measurement region's ends on the axis
    W: float | None = None
    M: float | None = None
    T: float | None = None
    MCI: float | None = None
    spread: dict[str, float] | None = None
    n_profiles: int = 0
    edges: tuple[ProfileEdges, ...] = ()
    checks: tuple[Check, ...] = ()
    blur_px: float | None = None  # the image's blur found by the fit (Gaussian sigma)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class JointResult:
    """Joint space width of one joint along the finger's axis over the joint's central part.

    ``minimum`` and ``mean`` over the measuring lines; each line runs from the proximal bone's
    cortical edge (``lines[k][0]``) to the distal bone's (``lines[k][1]``). None when not valid.
    """

    joint: str
    valid: bool
    reason: str | None
    source: str  # "automatic", "marker" (a position from the caller) or "manual"
    unit: str
    centre: Point | None = None
    axis: Point | None = None  # unit vector towards the fingertip
    minimum: float | None = None
    mean: float | None = None
    lines: tuple[tuple[Point, Point], ...] = ()
    checks: tuple[Check, ...] = ()
    toward: Point | None = None  # the point on the finger beyond the joint, when one was given (a reader's)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class HandResult:
    """Everything measured on one hand radiograph.

    ``mean_MCI`` is the mean over MC2-4 and only given when all three are valid. ``measurable``
    False: nothing could be measured (``reason`` says why, e.g. no hand found). ``needs_manual``
    lists the bones whose ends the reader should place (two clicks each).
    """

    measurable: bool
    reason: str | None
    unit: str
    spacing_mm: float | None
    bones: dict[str, BoneResult] = field(default_factory=dict)
    joints: dict[str, JointResult] = field(default_factory=dict)
    mean_MCI: float | None = None
    thumb_side: str | None = None  # "left" or "right" of the image with the fingers up
    needs_manual: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0
    notice: str = NOTICE

    def to_dict(self) -> dict:
        return asdict(self)
