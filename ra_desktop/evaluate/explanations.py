"""Faithfulness of Grad-CAM and SHAP on phantoms with known lesions (``ra-desktop explain-eval``).

Only RA cases of severity >= 2 are scored: their lesions are the evidence a faithful map points at.
A case's lesion region is the union of the discs (``radius_px``) of its joints with severity >= 1
and of its lesion mask dilated by 1 % of the image size.

The pointing game has a floor: the phantom generator gives every case of severity >= 2 a diseased
wrist, so a constant map that always peaks on the carpus scores close to 0.8 without looking at the
image. :func:`pointing_pass` therefore reports the best such fixed point beside the maps, and a
within-hand ranking of the joints (:func:`ranking_auc`) beside an image-blind ranking.

Deletion and insertion need a "removed" state for a pixel. The default is a blurred copy of the
image, which needs nothing but the image; it is not a healthy joint, though (a blurred joint keeps
the low density of osteopenia and the bulk of a swelling, and loses all cortical detail). On twin
phantoms (``ra-desktop phantom --twins``) the removed state can be the healthy twin instead
(``removal="twin"``): the same hand, acquisition and noise without the lesions, so removing a
pixel restores what that pixel would be without the disease.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ra_desktop.cancel import CancelToken, check
from ra_desktop.explain import faithfulness as F
from ra_desktop.explain.gradcam import grad_cam
from ra_desktop.explain.regions import RA_REGIONS, diseased_regions, lesion_mask, region_means, region_scores
from ra_desktop.explain.shap import shap_map
from ra_desktop.io import load_radiograph
from ra_desktop.io.dataset import discover
from ra_desktop.io.ground_truth import load_ground_truth
from ra_desktop.preprocess import prepare

METHODS = ("gradcam", "shap")
FIXED_POINT_GRID = 14  # candidate points of the constant-map reference: centres of a 14×14 grid


@dataclass(frozen=True)
class Case:
    """One scored image: model input, its geometry, phantom ground truth and lesion mask."""

    name: str
    x: np.ndarray
    geometry: Any
    ground_truth: dict
    mask: np.ndarray | None = None
    healthy: np.ndarray | None = None  # the healthy twin's model input (twin phantoms only)


def load_cases(data: str | Path, n: int, *, min_severity: int = 2, seed: int = 0,
               config: Any = None, twins: bool = False) -> list[Case]:
    """Up to ``n`` RA phantoms of severity >= ``min_severity`` with ground truth from ``data``.

    Cases are drawn in a seeded random order, so ``--n`` smaller than the set is a fair sample.
    ``twins``: only RA phantoms whose healthy twin is in ``data``, loaded as :attr:`Case.healthy`.
    """
    return cases_from_samples(discover(data).samples, n, min_severity=min_severity, seed=seed, config=config,
                              twins=twins)


def cases_from_samples(samples: Sequence[Any], n: int, *, min_severity: int = 2, seed: int = 0,
                       config: Any = None, twins: bool = False) -> list[Case]:
    """:func:`load_cases` over given samples (``.path``, ``.label``), e.g. a validation split."""
    return list(iter_cases(samples, n, min_severity=min_severity, seed=seed, config=config, twins=twins))


def iter_cases(samples: Sequence[Any], n: int | None = None, *, min_severity: int = 2, seed: int = 0,
               config: Any = None, twins: bool = False) -> Iterator[Case]:
    """Eligible cases one at a time (all of them when ``n`` is None), in the seeded order of
    :func:`cases_from_samples`, so a long pass holds one case in memory, not the set."""
    from PIL import Image

    # A twin pair shares a patient ID: the normal member is the RA case's healthy twin.
    healthy_of = {s.patient_id: s for s in samples if s.label == 0 and getattr(s, "patient_id", None)}
    samples = [s for s in samples if s.label == 1
               and (not twins or getattr(s, "patient_id", None) in healthy_of)]
    order = np.random.default_rng(seed).permutation(len(samples))
    found = 0
    for i in order:
        if n is not None and found >= n:
            return
        gt = load_ground_truth(samples[i].path)
        if not gt or int(gt.get("severity") or 0) < min_severity:
            continue
        x, geometry = prepare(load_radiograph(samples[i].path), config)
        mask = np.asarray(Image.open(gt["mask_path"])) if gt.get("mask_path") else None
        healthy = None
        if twins:
            healthy, twin_geometry = prepare(load_radiograph(healthy_of[samples[i].patient_id].path), config)
            if twin_geometry.image_shape != geometry.image_shape:
                continue  # not a twin of this image after all: another size, another hand
        found += 1
        yield Case(Path(samples[i].path).name, x, geometry, gt, mask, healthy)


def case_lesion(case: Case) -> np.ndarray:
    """The case's lesion region in image space (see the module docstring)."""
    H, W = case.geometry.image_shape
    return lesion_mask(case.ground_truth, (H, W), mask=case.mask, dilate_px=max(1, round(0.01 * max(H, W))))


def pointing_rates(model: Any, cases: Sequence[Case], maps: dict[str, Callable],
                   lesions: Sequence[np.ndarray] | None = None) -> dict[str, float]:
    """Pointing-game hit rate per method only (:func:`pointing_pass`'s ``value``); ``lesions``
    may be precomputed :func:`case_lesion` masks."""
    result = pointing_pass(model, cases, maps, lesions=lesions)
    return {name: result[name]["value"] for name in maps}


def fixed_points(model_shape: tuple[int, int], grid: int = FIXED_POINT_GRID) -> np.ndarray:
    """(grid², 2) model-space points (x, y), the centres of a grid × grid partition, row-major."""
    h, w = model_shape
    xs = (np.arange(grid) + 0.5) * w / grid - 0.5
    ys = (np.arange(grid) + 0.5) * h / grid - 0.5
    return np.stack(np.meshgrid(xs, ys, indexing="xy"), axis=-1).reshape(-1, 2)


def fixed_point_hits(geometry: Any, lesion: np.ndarray, grid: int = FIXED_POINT_GRID) -> np.ndarray:
    """Whether each of :func:`fixed_points` falls inside ``lesion`` (image space), i.e. whether a
    constant map peaked there would hit on this case."""
    xy = np.rint(geometry.model_to_image(fixed_points(geometry.model_shape, grid))).astype(np.intp)
    H, W = lesion.shape
    inside = (xy[:, 0] >= 0) & (xy[:, 0] < W) & (xy[:, 1] >= 0) & (xy[:, 1] < H)
    out = np.zeros(len(xy), bool)
    out[inside] = lesion[xy[inside, 1], xy[inside, 0]]
    return out


def miss_distance_mm(image_map: np.ndarray, lesion: np.ndarray, ground_truth: dict) -> float:
    """How far a missed map's peak (its first maximum) lies from the nearest lesion pixel, in
    millimetres (the ground truth's pixel spacing; pixels when it has none). 0 for a hit."""
    from scipy import ndimage

    m = np.where(np.isfinite(image_map), image_map, -np.inf)
    peak = np.unravel_index(int(np.argmax(m)), m.shape)
    if lesion[peak]:
        return 0.0
    spacing = ground_truth.get("pixel_spacing_mm") or (1.0, 1.0)
    sy, sx = (float(spacing), float(spacing)) if np.isscalar(spacing) else (float(spacing[0]), float(spacing[1]))
    # Distance only within the bounding box of peak + lesion: the full-image transform costs ~0.3 s.
    ys, xs = np.nonzero(lesion)
    if len(ys) == 0:
        return float("nan")
    y0, y1 = min(ys.min(), peak[0]), max(ys.max(), peak[0]) + 1
    x0, x1 = min(xs.min(), peak[1]), max(xs.max(), peak[1]) + 1
    dist = ndimage.distance_transform_edt(~lesion[y0:y1, x0:x1], sampling=(sy, sx))
    return float(dist[peak[0] - y0, peak[1] - x0])


def ranking_auc(scores: Mapping[str, float], positive: set[str]) -> float:
    """Probability that a region in ``positive`` scores above one outside it (Mann–Whitney; ties
    count half), over the regions with a finite score; NaN when one kind is missing."""
    pos = [v for k, v in scores.items() if k in positive and np.isfinite(v)]
    neg = [v for k, v in scores.items() if k not in positive and np.isfinite(v)]
    if not pos or not neg:
        return float("nan")
    a, b = np.asarray(pos)[:, None], np.asarray(neg)[None, :]
    return float(((a > b).sum() + 0.5 * (a == b).sum()) / (a.size * b.size))


def pointing_pass(model: Any, cases: Iterable[Case], maps: dict[str, Callable] | None = None, *,
                  lesions: Sequence[np.ndarray] | None = None, seed: int = 0,
                  progress: Callable[[str], None] | None = None,
                  cancel: CancelToken | None = None) -> dict[str, Any]:
    """The pointing game alone, over every case given (cheap: no curves), with how far the misses
    fall from a lesion and the score of the best constant map.

    Per method: ``value``, ``hits``, ``n``, ``ci95``, ``miss_distance_mm`` (sorted; a miss 1 mm
    outside a diseased joint is not a miss on the forearm) and ``hits_where_fixed_point_misses``.
    Under ``"fixed_point"``: the same rate fields for the one point of a 14×14 grid over the model
    input that is inside the lesion region in the most cases (``point_model_xy``). It is chosen on
    these very cases, so it is the most any map that ignores the image could score here; a map
    earns trust by beating it. ``lesions`` may be precomputed :func:`case_lesion` masks.

    Where the ground truth names the joints, each method also gets ``joint_auc`` (mean and 95 % CI
    over cases): within one hand, how well the map's mean over each region RA attacks (MCP1–5,
    IP1, PIP2–5, wrist; DIPs are spared, so they would only test that a map avoids them) ranks the
    diseased regions above the healthy ones; hands whose regions are all diseased are left out.
    Its image-blind reference, ``"prior_ranking"``, ranks the regions by how often each is
    diseased in these cases.
    """
    maps = maps or default_maps(model, seed)
    hit_flags: dict[str, list[bool]] = {m: [] for m in maps}
    misses: dict[str, list[float]] = {m: [] for m in maps}
    point_flags: list[np.ndarray] = []
    joint_aucs: dict[str, list[float]] = {m: [] for m in maps}
    hands: list[tuple[set[str], set[str]]] = []  # (diseased, seen) regions of each case with joints
    model_shape: tuple[int, int] = (0, 0)
    n = 0
    for case in cases:
        check(cancel)
        lesion = lesions[n] if lesions is not None else case_lesion(case)
        n += 1
        point_flags.append(fixed_point_hits(case.geometry, lesion))
        model_shape = case.geometry.model_shape
        joints_known = bool(case.ground_truth.get("joints"))
        diseased = diseased_regions(case.ground_truth) if joints_known else set()
        for name, fn in maps.items():
            im = case.geometry.map_to_image(np.asarray(fn(model, case.x), dtype=np.float32))
            hit = F.pointing_hit(im, lesion)
            hit_flags[name].append(hit)
            if not hit:
                misses[name].append(miss_distance_mm(im, lesion, case.ground_truth))
            if joints_known:
                all_means = region_means(im, case.ground_truth)
                means = {r: all_means[r] for r in RA_REGIONS if r in all_means}
                joint_aucs[name].append(ranking_auc(means, diseased))
        if joints_known and maps:
            hands.append((diseased, {r for r, v in means.items() if np.isfinite(v)}))
        if progress and n % 20 == 0:
            progress(f"pointing game: {n} cases")

    def rate(hits: int) -> dict[str, Any]:
        return {"value": hits / n if n else float("nan"), "hits": hits, "n": n, "ci95": F.wilson(hits, n)}

    out: dict[str, Any] = {}
    at_best = np.zeros(n, bool)
    out["fixed_point"] = {**rate(0), "point_model_xy": None, "grid": FIXED_POINT_GRID}
    if n:
        flags = np.array(point_flags)
        best = int(flags.sum(axis=0).argmax())
        at_best = flags[:, best]
        xy = fixed_points(model_shape)[best]
        out["fixed_point"].update(rate(int(at_best.sum())), point_model_xy=[float(xy[0]), float(xy[1])])
    for m in maps:
        h = np.array(hit_flags[m], bool)
        out[m] = {**rate(int(h.sum())), "miss_distance_mm": sorted(misses[m]),
                  "hits_where_fixed_point_misses": [int((h & ~at_best).sum()), int((~at_best).sum())]}
        if hands:
            out[m]["joint_auc"] = F.mean_ci(joint_aucs[m], seed)
    if hands:
        out["prior_ranking"] = prior_ranking(hands, seed)
    return out


def prior_ranking(hands: Sequence[tuple[set[str], set[str]]], seed: int = 0) -> dict[str, Any]:
    """The image-blind joint ranking: each hand's regions ranked by how often each region is
    diseased over ``hands`` ((diseased, seen) region sets), scored by :func:`ranking_auc`."""
    seen_count: dict[str, int] = {}
    diseased_count: dict[str, int] = {}
    for diseased, seen in hands:
        for r in seen:
            seen_count[r] = seen_count.get(r, 0) + 1
            diseased_count[r] = diseased_count.get(r, 0) + (r in diseased)
    prevalence = {r: diseased_count[r] / seen_count[r] for r in seen_count}
    aucs = [ranking_auc({r: prevalence[r] for r in seen}, diseased) for diseased, seen in hands]
    return {"joint_auc": F.mean_ci(aucs, seed), "prevalence": dict(sorted(prevalence.items())),
            "n": int(np.isfinite(aucs).sum())}


def default_maps(model: Any, seed: int = 0,
                 layer: str | None = None) -> dict[str, Callable[[Any, np.ndarray], np.ndarray]]:
    """Model-space map functions ``(model_or_module, x) -> (224, 224)`` of the shipped methods.

    The layer (``layer``, else ``model``'s manifest Grad-CAM layer) is fixed here so the functions
    also work on bare modules: the weight-randomised copies of the randomisation check, or a model
    in training.
    """
    layer = layer or _target_layer(model)
    return {
        "gradcam": lambda m, x: grad_cam(m, x, layer),
        "shap": lambda m, x: shap_map(m, x, layer, seed=seed),
    }


def _target_layer(model: Any) -> str | None:
    manifest = getattr(model, "manifest", None)
    return getattr(manifest, "gradcam_target_layer", None)


def evaluate(model: Any, cases: Sequence[Case], *, maps: dict[str, Callable] | None = None,
             steps: int = 20, insertion: bool = True, randomisation_cases: int = 1, seed: int = 0,
             progress: Callable[[str], None] | None = None,
             cancel: CancelToken | None = None) -> dict[str, Any]:
    """Score explanation maps on ``cases``; returns a JSON-ready dict (see the CLI for the table).

    Parameters
    ----------
    model : LoadedModel
        Needs ``predict_proba``; maps are computed with ``maps``.
    cases : sequence of Case
    maps : dict, optional
        Method name -> ``map_fn(model, x)`` (model space). Default: Grad-CAM and SHAP.
    steps : int
        Deletion/insertion curve steps.
    insertion : bool
        Also compute insertion curves (doubles the cost).
    randomisation_cases : int
        Run the cascading weight-randomisation check on the first this-many cases.
    seed : int
    progress : callable, optional
        Called with a line of text per case.
    cancel : CancelToken, optional
    """
    maps = maps or default_maps(model, seed)
    layer = _target_layer(model)
    rows: list[dict[str, Any]] = []
    rand_checks: dict[str, list[dict[str, Any]]] = {m: [] for m in maps}
    for ci, case in enumerate(cases):
        check(cancel)
        lesion = case_lesion(case)
        row: dict[str, Any] = {"case": case.name, "severity": case.ground_truth.get("severity"),
                               "lesion_area_share": float(lesion[case.geometry.seen_mask()].mean())}
        rnd = F.random_order_auc(model.predict_proba, case.x, steps=steps, seed=seed + ci, insertion=insertion,
                                 baseline=case.healthy)
        row["random"] = {k: rnd[k] for k in ("deletion_auc", "insertion_auc") if k in rnd}
        image_maps, regs = {}, {}
        for name, fn in maps.items():
            check(cancel)
            mm = np.asarray(fn(model, case.x), dtype=np.float32)
            im = case.geometry.map_to_image(mm)
            image_maps[name] = im
            regs[name] = region_scores(im, case.ground_truth, im.shape)
            share, area = F.positive_share(im, lesion)
            di = F.deletion_insertion(model.predict_proba, case.x, mm, steps=steps, seed=seed + ci,
                                      insertion=insertion, baseline=case.healthy)
            row[name] = {"pointing_hit": F.pointing_hit(im, lesion), "positive_share": share,
                         "area_share": area, "top_regions": [r.name for r in regs[name][:3]],
                         **{k: di[k] for k in ("deletion_auc", "insertion_auc") if k in di}}
            if ci < randomisation_cases:
                rand_checks[name].append(F.randomisation_check(fn, model, case.x, seed=seed))
        if {"gradcam", "shap"} <= set(image_maps):
            row["agreement"] = F.agreement(image_maps["gradcam"], image_maps["shap"], regs["gradcam"], regs["shap"])
        rows.append(row)
        if progress:
            progress(f"{ci + 1}/{len(cases)} {case.name}: " + ", ".join(
                f"{m} {'hit' if row[m]['pointing_hit'] else 'miss'}" for m in maps))
    removal = "healthy twin" if cases and all(c.healthy is not None for c in cases) else (
        "blurred image" if not any(c.healthy is not None for c in cases) else "healthy twin or blurred image")
    return summarise(rows, list(maps), rand_checks, seed=seed,
                     meta={"steps": steps, "target_layer": layer, "removal": removal})


def _mean(rows: Iterable[dict], *keys: str) -> list[float]:
    out = []
    for r in rows:
        v: Any = r
        for k in keys:
            v = v.get(k) if isinstance(v, dict) else None
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            out.append(float(v))
    return out


def summarise(rows: list[dict[str, Any]], methods: Sequence[str], rand_checks: dict[str, list[dict]],
              *, seed: int = 0, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """Aggregate per-case rows: pointing rate (Wilson CI), means (bootstrap CI), AUC ratios."""
    n = len(rows)
    out: dict[str, Any] = {"n_cases": n, **(meta or {}), "methods": {}, "cases": rows}
    for kind in ("deletion_auc", "insertion_auc"):
        vals = _mean(rows, "random", kind)
        if vals:
            out[f"random_{kind}"] = F.mean_ci(vals, seed)
    for m in methods:
        hits = sum(bool(r[m]["pointing_hit"]) for r in rows)
        res: dict[str, Any] = {
            "pointing": {"value": hits / n if n else float("nan"), "hits": hits, "n": n, "ci95": F.wilson(hits, n)},
            "positive_share": F.mean_ci(_mean(rows, m, "positive_share"), seed),
            "area_share": F.mean_ci(_mean(rows, m, "area_share"), seed),
        }
        for kind in ("deletion_auc", "insertion_auc"):
            vals = _mean(rows, m, kind)
            if vals:
                res[kind] = F.mean_ci(vals, seed)
                rand = out[f"random_{kind}"][0]
                res[kind.replace("_auc", "_ratio")] = res[kind][0] / rand if rand else float("nan")
        checks = rand_checks.get(m) or []
        if checks:
            res["randomisation"] = {
                "full_spearman": [c["full_spearman"] for c in checks],
                "steps": [c["steps"] for c in checks],
                "passed": all(c["passed"] for c in checks),
            }
        out["methods"][m] = res
    if any("agreement" in r for r in rows):
        out["agreement"] = {
            "spearman": F.mean_ci(_mean(rows, "agreement", "spearman"), seed),
            "top_region_overlap": F.mean_ci(_mean(rows, "agreement", "top_region_overlap"), seed),
        }
    return out


def format_table(summary: dict[str, Any]) -> str:
    """Plain-text table of :func:`summarise` output (n and 95 % CI beside every metric)."""

    def ci(t: Any) -> str:
        return "n/a" if not t else f"{t[0]:.3f} [{t[1]:.3f}, {t[2]:.3f}]"

    lines = [f"explanation faithfulness on {summary['n_cases']} RA phantoms (severity >= 2); 95% CI in brackets"]
    lines.append(f"{'metric':34s}" + "".join(f"{m:>28s}" for m in summary["methods"]))
    res = summary["methods"]

    def row(label: str, fmt: Callable[[dict], str]) -> None:
        lines.append(f"{label:34s}" + "".join(f"{fmt(r):>28s}" for r in res.values()))

    def named(label: str, fmt: Callable[[str], str]) -> None:
        lines.append(f"{label:34s}" + "".join(f"{fmt(m):>28s}" for m in res))

    row("pointing game", lambda r: _pointing_text(r["pointing"]))
    row("positive attribution in lesions", lambda r: ci(r["positive_share"]))
    row("  lesion share of area (reference)", lambda r: ci(r["area_share"]))
    if "random_deletion_auc" in summary and summary.get("removal"):
        lines.append(f"deletion/insertion: a removed pixel takes the value of the {summary['removal']}")
    for kind, better in (("deletion", "lower"), ("insertion", "higher")):
        if f"random_{kind}_auc" in summary:
            row(f"{kind} AUC ({better} is better)", lambda r, k=kind: ci(r.get(f"{k}_auc")))
            row(f"  random-map {kind} AUC", lambda r, k=kind: ci(summary[f"random_{k}_auc"]))
            row(f"  ratio map / random", lambda r, k=kind: f"{r.get(f'{k}_ratio', float('nan')):.3f}")
    row("randomisation: Spearman (full)", lambda r: ", ".join(
        f"{v:.2f}" for v in r.get("randomisation", {}).get("full_spearman", [])) or "not run")
    row("randomisation check", lambda r: "n/a" if "randomisation" not in r else
        ("passed" if r["randomisation"]["passed"] else "FAILED"))
    if "pointing_all" in summary:
        every = summary["pointing_all"]
        n_all = next(iter(every.values()))["n"] if every else 0
        named(f"pointing game, all {n_all} cases", lambda m: _pointing_text(every[m]) if m in every else "n/a")
        named("  misses: median distance (mm)",
              lambda m: _median_text(every[m]["miss_distance_mm"]) if m in every else "n/a")
        if "fixed_point" in every:
            named("  hits where fixed point misses", lambda m: "{}/{}".format(
                *every[m]["hits_where_fixed_point_misses"]) if m in every else "n/a")
            fixed = every["fixed_point"]
            where = fixed["point_model_xy"]
            at = f" at model ({where[0]:.0f}, {where[1]:.0f})" if where else ""
            lines.append(f"reference: the best fixed point (a map that ignores the image, chosen on these cases) "
                         f"scores {_pointing_text(fixed)}{at}")
        if any("joint_auc" in every.get(m, {}) for m in res):
            n_hands = every.get("prior_ranking", {}).get("n", "?")
            named(f"joint ranking AUC, {n_hands} hands",
                  lambda m: ci(every[m].get("joint_auc")) if m in every else "n/a")
        if "prior_ranking" in every:
            lines.append("reference: ranking the joints by how often each is diseased in these cases "
                         f"(image-blind) gives AUC {ci(every['prior_ranking']['joint_auc'])}")
    if "agreement" in summary:
        a = summary["agreement"]
        lines.append(f"Grad-CAM vs SHAP: Spearman {ci(a['spearman'])}, top-3 region overlap {ci(a['top_region_overlap'])}")
    return "\n".join(lines)


def _pointing_text(p: dict[str, Any]) -> str:
    return f"{p['value']:.2f} ({p['hits']}/{p['n']}) [{p['ci95'][0]:.2f}, {p['ci95'][1]:.2f}]"


def _median_text(values: Sequence[float]) -> str:
    return f"{float(np.median(values)):.1f} (n={len(values)})" if len(values) else "no misses"
