"""The projected tube: a long bone's profile across its shaft, and fitting it to sampled profiles.

A shaft is modelled as DXR does: a cylinder of outer radius R with a medullary cavity of radius
ri, offset sideways by e (cortices of unequal thickness). Along the beam the path through bone
at lateral position x is ``2 sqrt(R^2 - x^2) - (1 - rho) 2 sqrt(ri^2 - (x - e)^2)`` (rho = the
medulla's density relative to cortex). The detector blurs it (Gaussian, sigma) and the image's
grey scale is an unknown monotone function of it, taken locally as a quadratic (plus a linear
soft-tissue slope). Edges come from fitting the whole profile, not from gradient peaks: a
blurred projected edge peaks inside the bone by a share of sigma, which would bias W and M.

Every length here is in the profile's sample units (pixels). Profiles are fitted in batches
(one Levenberg-Marquardt per profile, evaluated together), the linear grey-scale terms solved
exactly at each step (variable projection).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

_FINE = 0.25  # fine-grid step (px): the chord is averaged over these bins, then blurred
NAMES = ("x0", "R", "ri", "e", "rho", "sigma")
_STEP = np.array([0.01, 0.01, 0.01, 0.01, 1e-3, 2e-3])  # finite-difference steps


def _chord_integral(z: np.ndarray, radius: np.ndarray) -> np.ndarray:
    """Antiderivative of ``2 sqrt(radius^2 - z^2)`` (zero outside), so bin means are exact."""
    u = np.clip(z, -radius, radius)
    return u * np.sqrt(np.maximum(radius * radius - u * u, 0.0)) + radius * radius * np.arcsin(u / radius)


def chord_profiles(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Blurred path length through cortex, divided by 2R: shape (len(p), len(x)).

    ``x`` sorted sample positions (px); ``p`` rows of (x0, R, ri, e, rho, sigma).
    """
    p = np.atleast_2d(p)
    sig = float(np.clip(np.max(p[:, 5]), 0.05, 20.0))
    pad = 4.0 * sig + _FINE
    edges = np.arange(x[0] - pad, x[-1] + pad + _FINE, _FINE)
    x0, R, ri, e, rho = (p[:, k:k + 1] for k in range(5))
    ri = np.maximum(ri, 1e-3)
    outer = np.diff(_chord_integral(edges[None, :] - x0, R), axis=1)
    inner = np.diff(_chord_integral(edges[None, :] - x0 - e, ri), axis=1)
    v = (outer - (1.0 - rho) * inner) / (_FINE * 2.0 * R)
    sigmas = p[:, 5] / _FINE
    if np.ptp(sigmas) < 1e-9:
        v = ndimage.gaussian_filter1d(v, max(sigmas[0], 1e-3), axis=1, mode="nearest", truncate=4.0)
    else:
        v = np.stack([ndimage.gaussian_filter1d(row, max(s, 1e-3), mode="nearest") for row, s in zip(v, sigmas)])
    centres = edges[:-1] + _FINE / 2
    i = (x - centres[0]) / _FINE
    k = np.clip(np.floor(i).astype(int), 0, len(centres) - 2)
    t = i - k
    return v[:, k] * (1 - t) + v[:, k + 1] * t


def _design(x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """(n, m, 4): constant, linear soft-tissue slope, path length and its square."""
    xc = np.broadcast_to((x - x.mean()) / (np.ptp(x) + 1e-9), g.shape)
    return np.stack([np.ones_like(g), xc, g, g * g], axis=2)


def _project(A: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares grey-scale coefficients per profile and the residuals."""
    AtA = np.einsum("nmi,nmj->nij", A, A) + 1e-9 * np.eye(A.shape[2])
    coef = np.linalg.solve(AtA, np.einsum("nmi,nm->ni", A, y)[..., None])[..., 0]
    return coef, np.einsum("nmi,ni->nm", A, coef) - y


@dataclass(frozen=True)
class TubeFit:
    """A fitted profile: centre x0, outer radius R, medullary radius ri, its offset e (px),
    medulla density rho, blur sigma (px), the fit's relative residual (RMS / contrast), the
    contrast (fitted grey range) and whether the grey scale rises with bone everywhere."""

    x0: float
    R: float
    ri: float
    e: float
    rho: float
    sigma: float
    residual: float
    contrast: float
    rising: bool

    @property
    def outer_edges(self) -> tuple[float, float]:
        return self.x0 - self.R, self.x0 + self.R

    @property
    def inner_edges(self) -> tuple[float, float]:
        return self.x0 + self.e - self.ri, self.x0 + self.e + self.ri


def levenberg_marquardt(residuals, P: np.ndarray, free: list[int], lb: np.ndarray, ub: np.ndarray,
                        steps: np.ndarray, iterations: int = 40) -> np.ndarray:
    """Batched Levenberg-Marquardt: one independent problem per row of ``P``.

    ``residuals(P) -> (n, m)``; only the columns in ``free`` move, within [lb, ub]; forward
    differences of size ``steps`` give the Jacobians.
    """
    P = P.copy()
    n = P.shape[0]
    r = residuals(P)
    cost = np.sum(r * r, axis=1)
    lam = np.full(n, 1e-2)
    k = len(free)
    for _ in range(iterations):
        J = np.empty((n, r.shape[1], k))
        for c, j in enumerate(free):
            Ph = P.copy()
            Ph[:, j] += steps[j]
            J[:, :, c] = (residuals(Ph) - r) / steps[j]
        JtJ = np.einsum("nmi,nmj->nij", J, J)
        Jtr = np.einsum("nmi,nm->ni", J, r)
        diag = np.einsum("nii->ni", JtJ)
        damped = JtJ + lam[:, None, None] * (np.eye(k)[None] * (diag[:, :, None] + 1e-9))
        try:
            delta = -np.linalg.solve(damped, Jtr[..., None])[..., 0]
        except np.linalg.LinAlgError:
            break
        Pn = P.copy()
        Pn[:, free] = np.clip(P[:, free] + delta, lb[free], ub[free])
        rn = residuals(Pn)
        cn = np.sum(rn * rn, axis=1)
        better = cn < cost
        P[better], r[better] = Pn[better], rn[better]
        gain = np.where(better, (cost - cn) / np.maximum(cost, 1e-30), 0.0)
        cost = np.where(better, cn, cost)
        lam = np.where(better, lam / 3.0, lam * 4.0)
        if np.all((gain < 1e-7) | (lam > 1e6)):
            break
    return P


def normalise_rows(Y: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows scaled to unit range (NaN-free), their scales, and which rows were finite."""
    Y = np.atleast_2d(np.asarray(Y, float))
    good = np.all(np.isfinite(Y), axis=1)
    Y = np.where(np.isfinite(Y), Y, 0.0)
    scale = np.maximum(np.ptp(Y, axis=1, keepdims=True), 1e-12)
    return (Y - Y.mean(axis=1, keepdims=True)) / scale, scale[:, 0], good


def fit_tubes(x: np.ndarray, Y: np.ndarray, start: np.ndarray, free: tuple[str, ...] = NAMES,
              iterations: int = 40) -> list[TubeFit | None]:
    """Fit the tube model to each row of ``Y`` (profiles sampled at ``x``, bone bright).

    ``start``: (6,) or (n, 6) start values in :data:`NAMES` order; parameters not in ``free``
    stay at their start value. A row that fails (NaN samples, no tube) gives None.
    """
    Yn, scale, good = normalise_rows(Y)
    n = Yn.shape[0]
    P = np.array(np.broadcast_to(np.asarray(start, float), (n, 6)))
    span = float(np.ptp(x))
    lb = np.array([x[0], 1.0, 0.3, -span / 4, 0.0, 0.15])
    ub = np.array([x[-1], span / 2, span / 2, span / 4, 0.95, 8.0])
    P = np.clip(P, lb, ub)

    def residuals(Pm):
        return _project(_design(x, chord_profiles(x, Pm)), Yn)[1]

    P = levenberg_marquardt(residuals, P, [NAMES.index(k) for k in free], lb, ub, _STEP, iterations)
    g = chord_profiles(x, P)
    coef, res = _project(_design(x, g), Yn)
    out: list[TubeFit | None] = []
    for i in range(n):
        fitted = res[i] + Yn[i]
        contrast = float(np.ptp(fitted))
        slope = coef[i, 2] + 2 * coef[i, 3] * g[i]
        x0, R, ri, e, rho, sigma = (float(v) for v in P[i])
        if not good[i] or contrast <= 1e-9 or ri >= R:
            out.append(None)
            continue
        out.append(TubeFit(x0=x0, R=R, ri=ri, e=e, rho=rho, sigma=sigma,
                           residual=float(np.sqrt(np.mean(res[i] ** 2))) / contrast,
                           contrast=contrast * float(scale[i]),
                           rising=bool(np.all(slope[g[i] > 0.02] > 0))))
    return out
