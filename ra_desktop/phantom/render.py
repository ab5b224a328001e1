"""Rasterise a :class:`~ra_desktop.phantom.anatomy.HandModel` into a 12-bit radiograph.

Physics-flavoured but cheap: each bone contributes the projected path length through a tube
(cortical shell + medulla with trabecular texture), which naturally makes the cortex appear as
a bright rim ("tram lines"); soft tissue contributes the projected thickness of rounded shapes.
Log signal = mu_soft*T + mu_bone*B, then blur, quantum-like noise (grows with attenuation),
a monotone tone curve to 12 bits. Bone is bright (MONOCHROME2). Everything works on local
bounding boxes so a 2000-px image renders in well under a second.
"""
from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw
from scipy import ndimage

from ra_desktop.phantom.anatomy import Blob, HandModel, SoftShape, Tapered
from ra_desktop.phantom.carpus import Outline, polygon_sdf, trabecular_texture

MAX_VALUE = 4095  # 12-bit


def _box(xmin, ymin, xmax, ymax, sp, shape):
    """Pixel slices and pixel-centre coordinates (mm) of an mm bounding box, or None if empty."""
    h, w = shape
    c0, c1 = max(int(np.floor(xmin / sp)), 0), min(int(np.ceil(xmax / sp)) + 1, w)
    r0, r1 = max(int(np.floor(ymin / sp)), 0), min(int(np.ceil(ymax / sp)) + 1, h)
    if c1 <= c0 or r1 <= r0:
        return None
    xs = ((np.arange(c0, c1, dtype=np.float32) + 0.5) * sp)[None, :]
    ys = ((np.arange(r0, r1, dtype=np.float32) + 0.5) * sp)[:, None]
    return (slice(r0, r1), slice(c0, c1)), xs, ys


def _tube(depth, R, cortex, trab, tex):
    """Projected bone through a tube of half-width R at ``depth`` inside its edge."""
    depth = np.minimum(depth, R)
    outer = 2.0 * np.sqrt(np.maximum(depth * (2.0 * R - depth), 0.0))
    ri = np.maximum(R - cortex, 0.05)
    di = np.clip(depth - cortex, 0.0, None)
    di = np.minimum(di, ri)
    inner = 2.0 * np.sqrt(np.maximum(di * (2.0 * ri - di), 0.0))
    return (outer - inner) + inner * trab * tex


def tapered_sdf(b: Tapered, xs, ys):
    """Signed distance-like field of a long bone at points (xs, ys) in mm (negative inside).

    Returns ``(sdf, r, sc, L, eb, eh)``: the field, the half-width at each point's axial
    position, that position clipped to the shaft, the shaft length and the base/head flare
    weights. The phantom's ground truth measures the same field (radiogrammetry truth).
    """
    d01 = b.p1 - b.p0
    L = float(np.hypot(*d01))
    u = d01 / L
    dx, dy = xs - b.p0[0], ys - b.p0[1]
    s = dx * u[0] + dy * u[1]
    d = np.abs(dx * -u[1] + dy * u[0])
    fb, fh = max(0.13 * L, 1.2 * b.r_base), max(0.13 * L, 1.2 * b.r_head)
    sc = np.clip(s, 0.0, L)
    eb, eh = np.exp(-((sc / fb) ** 2)), np.exp(-(((L - sc) / fh) ** 2))
    r = b.r_shaft + (b.r_base - b.r_shaft) * eb + (b.r_head - b.r_shaft) * eh
    r_head = b.r_head
    if b.tuft:
        tuft = b.tuft * np.exp(-(((L - sc) / (0.12 * L)) ** 2))
        r = r + tuft
        r_head = b.r_head + b.tuft
    sdf = d - r
    # Elliptical end caps: flat-ish bases, rounded heads.
    cb, ch = b.cap_base * b.r_base, b.cap_head * r_head
    base_sdf = (np.sqrt((s / cb) ** 2 + (d / b.r_base) ** 2) - 1.0) * min(cb, b.r_base)
    if b.socket:  # a concave base (joint-space phantoms): a sphere of radius socket, pole at p0
        rim = b.socket - np.sqrt(np.maximum(b.socket ** 2 - d * d, 0.0))
        base_sdf = np.maximum(sdf, -rim - s)
    head_sdf = (np.sqrt(((s - L) / ch) ** 2 + (d / r_head) ** 2) - 1.0) * min(ch, r_head)
    sdf = np.where(s < 0, base_sdf, np.where(s > L, head_sdf, sdf))
    if b.clip is not None:
        q, n = b.clip
        sdf = np.maximum(sdf, (xs - q[0]) * n[0] + (ys - q[1]) * n[1])
    if b.outline is not None:  # anatomy 2: cut to the polygon, only inside its box (speed)
        pts, (x0, y0, x1, y1) = b.outline
        cols = np.nonzero((xs[0] >= x0) & (xs[0] <= x1))[0]
        rows = np.nonzero((ys[:, 0] >= y0) & (ys[:, 0] <= y1))[0]
        if cols.size and rows.size:
            sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
            sdf = np.broadcast_to(sdf, np.broadcast_shapes(xs.shape, ys.shape)).copy()
            sdf[sl] = np.maximum(sdf[sl], polygon_sdf(pts, xs[:, sl[1]], ys[sl[0]]))
    return sdf, r, sc, L, eb, eh


def tapered_cortex(b: Tapered, t):
    """Cortical thickness (mm) at relative shaft position ``t`` (0 = p0, 1 = p1)."""
    return b.cortex_end + (b.cortex_mid - b.cortex_end) * np.exp(-(((t - 0.5) / 0.22) ** 2))


def _render_tapered(b: Tapered, B, tex, sp):
    pad = max(b.r_base, b.r_head + b.tuft, b.r_shaft) + 1.0
    xmin, xmax = min(b.p0[0], b.p1[0]) - pad, max(b.p0[0], b.p1[0]) + pad
    ymin, ymax = min(b.p0[1], b.p1[1]) - pad, max(b.p0[1], b.p1[1]) + pad
    box = _box(xmin, ymin, xmax, ymax, sp, B.shape)
    if box is None:
        return
    sl, xs, ys = box
    sdf, r, sc, L, eb, eh = tapered_sdf(b, xs, ys)
    depth = -sdf
    inside = depth > 0
    if not inside.any():
        return
    cortex = tapered_cortex(b, sc / L)
    trab = b.trab_mid + (b.trab_end - b.trab_mid) * np.clip(eb + eh, 0.0, 1.0)
    val = _tube(np.where(inside, depth, 0.0), r, cortex, trab, tex[sl])
    B[sl] += b.density * val


def _render_blob(b: Blob, B, tex, sp):
    pad = max(b.a, b.b) + 1.0
    box = _box(b.centre[0] - pad, b.centre[1] - pad, b.centre[0] + pad, b.centre[1] + pad, sp,
               B.shape)
    if box is None:
        return
    sl, xs, ys = box
    dx, dy = xs - b.centre[0], ys - b.centre[1]
    xa = np.abs(dx * b.u[0] + dy * b.u[1]) / b.a
    xb = np.abs(dx * -b.u[1] + dy * b.u[0]) / b.b
    e = (xa ** b.power + xb ** b.power) ** (1.0 / b.power)
    R = min(b.a, b.b)
    depth = (1.0 - e) * R
    val = _tube(np.maximum(depth, 0.0), R, b.cortex, b.trab, tex[sl])
    B[sl] += b.density * val


def _render_outline(b: Outline, B, tex, sp):
    x0, y0 = b.pts.min(axis=0) - 1.0
    x1, y1 = b.pts.max(axis=0) + 1.0
    box = _box(x0, y0, x1, y1, sp, B.shape)
    if box is None:
        return
    sl, xs, ys = box
    depth = np.maximum(-polygon_sdf(b.pts, xs, ys), 0.0)
    R = max(float(depth.max()), sp)  # a tube as thick as the bone is wide at its widest
    B[sl] += b.density * _tube(depth, R, b.cortex, b.trab, tex[sl])


def _soft_thickness(shapes: list[SoftShape], shape, sp):
    """Projected soft-tissue thickness (mm), union of rounded shapes (max)."""
    T = np.zeros(shape, np.float32)
    for sh in shapes:
        if sh.kind == "polygon":
            img = Image.new("L", (shape[1], shape[0]), 0)
            ImageDraw.Draw(img).polygon([(float(p[0] / sp), float(p[1] / sp)) for p in sh.pts], fill=1)
            inside = np.asarray(img, bool)
            depth = ndimage.distance_transform_edt(inside).astype(np.float32) * sp
            R = sh.r0
            depth = np.minimum(depth, R)
            np.maximum(T, 2.0 * np.sqrt(depth * (2 * R - depth)), out=T)
            continue
        if sh.kind == "capsule":
            p0, p1 = sh.pts
            pad = max(sh.r0, sh.r1) + sp
            box = _box(min(p0[0], p1[0]) - pad, min(p0[1], p1[1]) - pad, max(p0[0], p1[0]) + pad,
                       max(p0[1], p1[1]) + pad, sp, shape)
            if box is None:
                continue
            sl, xs, ys = box
            d01 = p1 - p0
            L2 = float(d01 @ d01)
            t = np.clip(((xs - p0[0]) * d01[0] + (ys - p0[1]) * d01[1]) / L2, 0.0, 1.0)
            dist = np.hypot(xs - p0[0] - t * d01[0], ys - p0[1] - t * d01[1])
            R = sh.r0 + (sh.r1 - sh.r0) * t
        else:  # ellipse: r0 along u, r1 across
            c = sh.pts[0]
            pad = max(sh.r0, sh.r1) + sp
            box = _box(c[0] - pad, c[1] - pad, c[0] + pad, c[1] + pad, sp, shape)
            if box is None:
                continue
            sl, xs, ys = box
            dx, dy = xs - c[0], ys - c[1]
            xa = (dx * sh.u[0] + dy * sh.u[1]) / sh.r0
            xb = (dx * -sh.u[1] + dy * sh.u[0]) / sh.r1
            R = sh.r1
            dist = np.sqrt(xa * xa + xb * xb) * R
        depth = np.clip(R - dist, 0.0, None)
        depth = np.minimum(depth, R)
        thick = np.minimum(2.0 * np.sqrt(depth * (2 * R - depth)), sh.tmax)
        np.maximum(T[sl], thick, out=T[sl])
    return T


def _local_factor(F, sites, sp, fn):
    """Multiply ``F`` by ``1 - strength * fn(r / radius)`` around each site."""
    for st in sites:
        pad = st.radius * 3.0
        box = _box(st.centre[0] - pad, st.centre[1] - pad, st.centre[0] + pad, st.centre[1] + pad,
                   sp, F.shape)
        if box is None:
            continue
        sl, xs, ys = box
        rr = np.hypot(xs - st.centre[0], ys - st.centre[1]) / st.radius
        F[sl] *= 1.0 - st.strength * fn(rr)


def _letter(draw: ImageDraw.ImageDraw, ch: str, x: float, y: float, h: float, lw: int):
    """Draw a block capital L or R (lead marker) with its top-left at (x, y)."""
    w = 0.62 * h
    draw.line([(x, y), (x, y + h)], fill=1, width=lw)
    if ch == "L":
        draw.line([(x, y + h - lw / 2), (x + w, y + h - lw / 2)], fill=1, width=lw)
    else:
        draw.line([(x, y + lw / 2), (x + w * 0.55, y + lw / 2)], fill=1, width=lw)
        draw.line([(x, y + h * 0.5), (x + w * 0.55, y + h * 0.5)], fill=1, width=lw)
        draw.arc([x + w * 0.1, y + lw / 2, x + w, y + h * 0.5], -90, 90, fill=1, width=lw)
        draw.line([(x + w * 0.4, y + h * 0.5), (x + w, y + h)], fill=1, width=lw)


def render(model: HandModel, shape: tuple[int, int], sp: float, rng: np.random.Generator,
           side: str, noise_rng: np.random.Generator | None = None,
           anatomy: int = 1) -> tuple[np.ndarray, dict]:
    """Render the model to a uint16 image with 12-bit values.

    Parameters
    ----------
    model : HandModel
        Geometry in image millimetres.
    shape : (int, int)
        Output (rows, columns).
    sp : float
        Pixel spacing (mm).
    rng : numpy.random.Generator
        Source of texture, noise and acquisition variation.
    side : {"L", "R"}
        Letter of the lead marker.
    noise_rng : numpy.random.Generator, optional
        Source of the texture and noise alone (a repositioning series: the acquisition from
        ``rng`` stays, the noise changes). None: ``rng``, as always before.
    anatomy : {1, 2}
        2: oriented, networked trabeculae (:func:`carpus.trabecular_texture`) instead of the
        isotropic speckle of 1 (the default, every phantom made before).

    Returns
    -------
    image : numpy.ndarray (uint16)
    acq : dict
        Acquisition parameters actually used (for the ground truth).
    """
    h, w = shape
    # Trabecular texture: fine + coarse filtered noise, mean 1.
    nrng = rng if noise_rng is None else noise_rng
    if anatomy == 2:
        tex, tex_iso = trabecular_texture(nrng, shape, sp)
    else:
        n = nrng.standard_normal(shape, dtype=np.float32)
        fine = ndimage.gaussian_filter(n, 0.16 / sp)
        fine /= fine.std() + 1e-6
        coarse = ndimage.gaussian_filter(n[::4, ::4], 0.35 / sp / 4 * 1.5)
        coarse /= coarse.std() + 1e-6
        coarse = np.asarray(Image.fromarray(coarse).resize((w, h), Image.BILINEAR))
        tex = tex_iso = np.clip(1.0 + 0.35 * fine + 0.25 * coarse, 0.2, None)

    B = np.zeros(shape, np.float32)
    for b in model.bones:
        if isinstance(b, Tapered):
            _render_tapered(b, B, tex, sp)
        else:
            (_render_outline if isinstance(b, Outline) else _render_blob)(b, B, tex_iso, sp)
    # Periarticular osteopenia (gaussian, broad) and erosions (sharp-edged bites).
    _local_factor(B, model.osteopenia, sp, lambda r: np.exp(-0.5 * r * r))
    _local_factor(B, model.erosions, sp, lambda r: np.clip(1.2 * (1.0 - r ** 4), 0.0, 1.0))

    f = 4  # soft tissue is smooth: render at 1/4 resolution and interpolate
    T_small = _soft_thickness(model.soft, (-(-h // f), -(-w // f)), sp * f)
    T_small = ndimage.gaussian_filter(T_small, 0.6 / (sp * f))
    T = np.asarray(Image.fromarray(T_small).resize((w, h), Image.BILINEAR))

    acq = {
        "mu_soft": float(rng.uniform(0.028, 0.036)),
        "mu_bone": float(rng.uniform(0.26, 0.34)),
        "blur_px": float(rng.uniform(0.5, 1.2)),
        "noise": float(rng.uniform(0.008, 0.02)),
        "tone_m": float(rng.uniform(1.5, 2.0)),
        "gamma": float(rng.uniform(0.85, 1.1)),
        "background": float(rng.uniform(0.03, 0.09)),
        "heel": float(rng.uniform(-0.08, 0.08)),
    }
    mu = acq["mu_soft"] * T + acq["mu_bone"] * B
    mu += acq["heel"] * (np.linspace(-0.5, 0.5, h, dtype=np.float32)[:, None])

    # Lead marker letter in a free corner (where no tissue lies).
    mh = 9.0 / sp
    lw = max(int(1.4 / sp), 2)
    corners = [(0.06, 0.04), (0.94, 0.04), (0.06, 0.7), (0.94, 0.7)]
    marker = None
    for k in rng.permutation(len(corners)):
        cx, cy = corners[k]
        x0 = int(cx * w - (0 if cx < 0.5 else mh * 0.8))
        y0 = int(cy * h)
        region = T[y0:y0 + int(mh) + 1, x0:x0 + int(mh)]
        if region.size and region.max() < 1.0:
            marker = (x0, y0)
            break
    if marker is not None:
        img = Image.new("L", (w, h), 0)
        _letter(ImageDraw.Draw(img), side, marker[0], marker[1], mh, lw)
        mu += 3.0 * np.asarray(img, np.float32)
    acq["marker_xy"] = list(marker) if marker else None

    # Collimation: shutter edges in the margins, never across the hand except the forearm.
    xmin, ymin, xmax, ymax = (v / sp for v in model.extent)
    coll = [0, 0, 0, 0]  # left, top, right, bottom (px)
    if rng.random() < 0.7:
        room = [xmin - 0.02 * w, ymin - 0.01 * h, w - xmax - 0.02 * w, 0.05 * h]
        coll = [int(rng.uniform(0, min(max(r, 0.0), 0.07 * w))) for r in room]
    shutter = "unexposed" if rng.random() < 0.5 else "electronic"
    border = np.zeros(shape, bool)
    border[:, : coll[0]] = True
    border[: coll[1], :] = True
    border[:, w - coll[2]:] = True
    border[h - coll[3]:, :] = True
    if shutter == "unexposed":
        mu[border] = 3.2 + rng.uniform(0, 0.6)

    mu = ndimage.gaussian_filter(mu, acq["blur_px"])
    # Quantum noise: relative noise grows where fewer photons arrive (high attenuation).
    noise = nrng.standard_normal(shape, dtype=np.float32)
    noise = ndimage.gaussian_filter(noise, 0.6) * 1.8  # detector MTF correlates it slightly
    mu += acq["noise"] * np.exp(0.5 * np.clip(mu, 0, 4)) * noise
    v = 1.0 - np.exp(-np.clip(mu, 0, None) / acq["tone_m"])
    v = acq["background"] + (1.0 - acq["background"]) * v ** acq["gamma"]
    out = np.clip(v * 0.97 * MAX_VALUE, 0, MAX_VALUE)
    if shutter == "electronic":
        out[border] = 20.0
    acq["collimation_px"] = coll
    acq["shutter"] = shutter
    return (out + 0.5).astype(np.uint16), acq
