"""Anatomy 2 (opt-in): carpal bones with their own outlines and a shaped distal radius.

Anatomy 1 (the default, every phantom made before) draws the carpus as super-ellipse pebbles and
cuts the radius with a straight plane. Here each carpal bone is a smooth closed outline traced
from a PA radiograph's proportions (waisted scaphoid, lunate with a distal concavity for the
capitate head, wedge-shaped hamate, pisiform over the triquetrum), and the radius is cut by the
outline of its articular surface (scaphoid and lunate fossae, radial styloid, ulnar notch).

Outlines are in the hand frame of :mod:`~ra_desktop.phantom.anatomy` (mm, x ulnar, y proximal),
placed around the same centres as anatomy 1, so carpal joint centres and lesion sites do not
move; the forearm sits :data:`FOREARM_SHIFT` further back to leave a radiocarpal joint space.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Control polygons (hand frame, mm), smoothed by corner cutting. Centres are anatomy 1's.
CARPAL_OUTLINES = {
    "scaphoid": [(-11.0, 13.5), (-13.9, 14.6), (-16.9, 13.2), (-18.1, 10.0), (-18.4, 5.7),
                 (-19.8, 2.0), (-21.6, -1.6), (-21.4, -5.0), (-18.7, -6.6), (-14.7, -5.9),
                 (-10.0, -4.8), (-7.9, -4.1), (-6.5, -2.2), (-7.3, -0.1), (-9.2, 1.5),
                 (-10.7, 3.6), (-10.0, 6.5), (-10.1, 10.2)],
    "lunate": [(-8.2, 1.2), (-4.6, 3.4), (-1.4, 3.9), (1.8, 3.0), (5.0, 0.4), (6.6, 4.2),
               (6.3, 10.2), (3.8, 14.4), (-1.4, 16.3), (-6.0, 15.2), (-8.8, 11.2), (-9.2, 5.6)],
    "triquetrum": [(8.4, 2.6), (11.6, -0.4), (15.4, -3.6), (18.6, -2.4), (19.4, 1.6), (17.0, 6.6),
                   (12.4, 9.6), (8.8, 9.8), (7.8, 6.2)],
    "trapezium": [(-18.0, -7.8), (-17.4, -12.6), (-19.6, -16.8), (-23.0, -16.6), (-27.0, -13.6),
                  (-30.4, -10.0), (-30.6, -6.8), (-27.6, -5.0), (-24.6, -6.6), (-21.0, -7.0)],
    "trapezoid": [(-16.9, -13.4), (-14.5, -15.6), (-9.6, -15.5), (-7.9, -13.0), (-8.1, -9.0),
                  (-9.6, -6.6), (-13.4, -6.3), (-16.7, -8.0)],
    "capitate": [(-1.0, 2.4), (2.6, 1.2), (4.2, -2.0), (3.9, -5.5), (5.2, -9.5), (6.2, -14.5),
                 (5.5, -18.8), (2.0, -20.3), (-2.5, -20.0), (-6.4, -19.2), (-7.0, -14.5),
                 (-6.4, -9.0), (-5.6, -5.0), (-5.4, -1.5), (-4.0, 1.3)],
    "hamate": [(7.0, 0.4), (11.0, -1.6), (15.0, -5.6), (18.2, -10.0), (18.0, -13.6), (14.0, -16.4),
               (8.6, -17.4), (6.3, -15.4), (6.2, -9.5), (5.8, -3.0)],
}
# Distal radius cut, relative to the forearm origin ``fore``: the styloid tip, the scaphoid and
# lunate fossae, the ulnar corner and notch; the proximal part lies outside the shaft.
RADIUS_OUTLINE = [(-26.4, 9.6), (-25.4, 7.6), (-24.0, 7.4), (-22.6, 9.4), (-20.4, 12.6),
                  (-18.2, 15.0), (-14.6, 16.0), (-11.8, 15.6), (-10.6, 16.0), (-8.0, 17.6),
                  (-3.6, 18.6), (0.6, 18.6), (3.6, 18.8), (5.0, 19.6), (5.2, 21.8), (4.0, 24.6),
                  (3.0, 27.6), (2.6, 31.0), (6.0, 42.0), (6.0, 80.0), (-40.0, 80.0), (-40.0, 30.0),
                  (-27.6, 19.0), (-27.0, 13.0)]


@dataclass
class Outline:
    """A carpal bone drawn from its outline ``pts`` (image mm, closed). ``a``/``b``: half its
    length and width (image mm), what the SvdH truth sizes a bite against; ``centre`` is where
    anatomy 1 centres the same bone."""

    name: str
    centre: np.ndarray
    pts: np.ndarray
    a: float
    b: float
    cortex: float = 0.6
    trab: float = 0.42
    density: float = 1.0


def smooth_closed(pts, iterations: int = 2) -> np.ndarray:
    """Chaikin corner cutting of a closed polygon (each pass doubles the vertices)."""
    p = np.asarray(pts, float)
    for _ in range(iterations):
        q = np.roll(p, -1, axis=0)
        p = np.stack([0.75 * p + 0.25 * q, 0.25 * p + 0.75 * q], axis=1).reshape(-1, 2)
    return p


def polygon_sdf(pts: np.ndarray, xs, ys) -> np.ndarray:
    """Signed distance (mm, negative inside) from points (xs row, ys column) to a closed polygon."""
    d2 = None
    inside = np.zeros(np.broadcast_shapes(xs.shape, ys.shape), bool)
    a = pts.astype(np.float32)
    b = np.roll(a, -1, axis=0)
    for (ax, ay), (bx, by) in zip(a, b):
        ex, ey = bx - ax, by - ay
        wx, wy = xs - ax, ys - ay
        t = np.clip((wx * ex + wy * ey) * (1.0 / max(ex * ex + ey * ey, 1e-12)), 0.0, 1.0)
        dx, dy = wx - ex * t, wy - ey * t
        dd = dx * dx + dy * dy
        d2 = dd if d2 is None else np.minimum(d2, dd)
        if ay != by:  # crossing number: does a ray towards +x cross this edge?
            cross = ((ay > ys) != (by > ys)) & (xs < ax + (ys - ay) * (ex / ey))
            inside ^= cross
    return np.where(inside, -1.0, 1.0).astype(np.float32) * np.sqrt(d2)


CARPUS_CENTROID = np.array([-3.0, -2.0])
CARPUS_SCALE = 1.12  # the outlines' carpus, enlarged to fill anatomy 1's (a larger adult hand)
FOREARM_SHIFT = np.array([0.0, 2.2])  # radius and ulna moved proximally (mm): a ~2 mm joint space
BONE_SCALE = 1.06  # each bone inflated about its centre: they touch and overlap as on a PA view
_OWN_SCALE = {"trapezium": 1.12, "trapezoid": 1.1}  # these two overlap each other and the MC bases


def outline_bone(name, c0, centre_hand, ang_jitter_deg, F, dens) -> Outline:
    """Place one carpal outline drawn around ``c0``: it moves (jitter, carpal collapse) and turns
    (angular jitter) as anatomy 1's bone does around its centre, now ``centre_hand``."""
    pts = CARPUS_CENTROID + (smooth_closed(CARPAL_OUTLINES[name]) - CARPUS_CENTROID) * CARPUS_SCALE
    c0 = np.asarray(c0, float)
    c0s = CARPUS_CENTROID + (c0 - CARPUS_CENTROID) * CARPUS_SCALE
    pts = pts - c0s
    k = BONE_SCALE * _OWN_SCALE.get(name, 1.0)
    pts = pts - pts.mean(axis=0) * (1 - 1 / k)  # inflate about its own centroid
    pts = pts * k
    th = np.deg2rad(ang_jitter_deg)
    rot = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    pts = pts @ rot.T + c0s + (np.asarray(centre_hand) - c0)
    img = np.array([F.p(q) for q in pts])
    # Half extents along / across the principal axis (what a super-ellipse's a, b would be).
    d = pts - pts.mean(axis=0)
    _, v = np.linalg.eigh(d.T @ d)  # ascending: column 1 is the long axis
    proj = d @ v
    half = (proj.max(axis=0) - proj.min(axis=0)) / 2 * F.s
    return Outline(name, F.p(centre_hand), img, float(half[1]), float(half[0]), cortex=0.6 * F.s,
                   trab=0.42, density=dens)


def trabecular_texture(rng: np.random.Generator, shape, sp: float):
    """(long-bone, carpal) trabecular textures, mean ~1, for anatomy 2.

    Thin bright lines on the zero set of band-pass noise form a connected lattice, as trabeculae
    do, instead of anatomy 1's speckle; stretched along the image's long axis for the long bones
    (their trabeculae follow the shaft: the fingers and forearm lie within ~15 degrees of it),
    isotropic and coarser in the carpus. Drawn on a ~0.2 mm grid whatever the pixel size.
    """
    from PIL import Image
    from scipy import ndimage

    h, w = shape
    f = max(1, int(round(0.2 / sp)))
    spf = sp * f
    n = rng.standard_normal((-(-h // f), -(-w // f)), dtype=np.float32)

    def lattice(sigma, width):
        z = ndimage.gaussian_filter(n, sigma)
        z /= z.std() + 1e-6
        r = np.exp(-z * z / width)
        return r - r.mean()

    slow = ndimage.gaussian_filter(n[::-1, ::-1], 2.5 / spf)  # marrow density, a few mm across
    slow *= 0.12 / (slow.std() + 1e-6)
    long_ = 1.0 + 0.45 * lattice((0.9 / spf, 0.26 / spf), 0.08) + slow
    iso = 1.0 + 0.5 * lattice(0.4 / spf, 0.08) + slow
    out = []
    for t in (long_, iso):
        if f > 1:
            t = np.asarray(Image.fromarray(t.astype(np.float32)).resize((w, h), Image.BILINEAR))
        out.append(np.clip(t[:h, :w], 0.2, None).astype(np.float32))
    return out[0], out[1]


def forearm_bones(add_long, F, fore, sty_tip):
    """Anatomy 2's radius (cut to :data:`RADIUS_OUTLINE`; wider, so the lunate sits on it and the
    ulnar head overlaps its notch as on a PA view), ulna, and a styloid growing out of the head."""
    cut = np.array([F.p(fore + q) for q in smooth_closed(RADIUS_OUTLINE)])
    box = np.array([F.p(fore + q) for q in ((-42, -12), (8, -12), (8, 44), (-42, 44))])
    add_long("radius", fore + (-12.0, 160), fore + (-11.0, 6.0), 10.4, 9.8, 16.2, cap_head=1.0,
             cortex_mid=2.6, cortex_end=0.7, trab_end=0.38,
             outline=(cut, (*box.min(axis=0), *box.max(axis=0))))
    add_long("ulna", fore + (9.5, 160), fore + (9.0, 21.5), 7.0, 6.5, 8.0, cap_head=0.8,
             cortex_mid=2.2, cortex_end=0.6)
    add_long("ulnar_styloid", fore + (14.6, 20.5), sty_tip, 2.6, 2.0, 1.1, cap_base=0.3,
             cap_head=1.0, cortex_mid=0.6, cortex_end=0.4, trab_mid=0.4)
