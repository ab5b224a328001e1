"""Radiogrammetry against phantom truth: accuracy, validated share, repositioning precision, time.

Data: held-out phantoms (seed 530000, never used in training) drawn with joint spaces
(``joint_spaces=True``), each rendered at a pixel spacing drawn from 0.10-0.20 mm, stored as
8-bit or 16-bit, and degraded by one of six noise/blur levels (extra Gaussian noise 0, 0.5 or 1%
of the range, extra blur 0 or 0.7 px, on top of the generator's own 0.5-1.2 px blur and noise).
Each is measured by ``measure_hand`` with its spacing, headless, and compared with the
ground truth's ``radiogrammetry`` entry (ra_desktop/phantom/radiogrammetry.py).

Rows: share of MC2-4 automatically validated; median absolute error of MCI, cortical thickness
T, outer width W (validated bones); share of hands with a mean MCI; share of MCP joints with a
visible joint space validated, median absolute error of their minimum and mean JSW, the same
for PIP joints; wrong-number rate (validated values off by more than 5x the goal); time per hand;
repositioning precision: the same hand re-rendered 5 times with a rotation within +-5 degrees,
a shift within +-5 mm and new noise, coefficient of variation of the mean MCI and of each JSW.

``RA_BENCH_MEASURE_N`` (default 200) and ``RA_BENCH_MEASURE_HANDS`` (default 10) set the sizes.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from bench._common import row

SEED = 530000  # held-out range (500000+), used by no other set
NOISE = (0.0, 0.005, 0.01)  # extra noise, share of the image's range
BLUR = (0.0, 0.7)  # extra blur (px)
GOALS = {"MCI": 0.01, "T": 0.05, "JSW": 0.1}


def make_case(index: int, seed: int = SEED, pose: dict | None = None):
    """(image, spacing, ground truth, conditions) of bench case ``index``."""
    from ra_desktop.phantom.generate import case_rng, generate_case

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(index, 1)))
    target = float(rng.uniform(0.10, 0.20))
    size = int(round(259.0 / target))
    label = "RA" if index % 2 else "Normal"
    sev = int(rng.integers(1, 4)) if label == "RA" else 0
    side = "R" if rng.random() < 0.5 else "L"
    bits = 8 if index % 2 == (index // 2) % 2 else 16
    level = index % (len(NOISE) * len(BLUR))
    noise, blur = NOISE[level % len(NOISE)], BLUR[level // len(NOISE)]
    case = generate_case(case_rng(seed, index), label, sev, side, size, seed_info=[seed, index],
                         joint_spaces=True, pose=pose)
    img = case.image.astype(np.float32)
    if blur:
        from scipy import ndimage

        img = ndimage.gaussian_filter(img, blur)
    if noise:
        nrng = np.random.default_rng(pose["noise_seed"]) if pose else rng
        img = img + nrng.normal(0.0, noise * 4095.0, img.shape).astype(np.float32)
    img = np.clip(img, 0, 4095)
    img = (np.round(img / 4095.0 * 255.0).astype(np.uint8) if bits == 8
           else np.round(img * 16.0).astype(np.uint16))
    sp = case.ground_truth["pixel_spacing_mm"][0]
    cond = {"spacing": sp, "bits": bits, "noise": noise, "blur": blur, "label": label, "severity": sev,
            "side": side, "size": size}
    return img, sp, case.ground_truth, cond


def evaluate(index: int, seed: int = SEED) -> dict:
    """Measure one bench case and compare with its truth (one record of numbers, no pixels)."""
    from ra_desktop.measure import measure_hand

    img, sp, gt, cond = make_case(index, seed)
    t0 = time.perf_counter()
    res = measure_hand(img, sp)
    seconds = time.perf_counter() - t0
    truth = gt["radiogrammetry"]
    out = {"index": index, **cond, "seconds": seconds, "measurable": res.measurable, "reason": res.reason,
           "bones": {}, "joints": {}, "mean_MCI": res.mean_MCI, "mean_MCI_truth": truth["mean_MCI"]}
    for name, tb in truth["metacarpals"].items():
        b = res.bones.get(name)
        out["bones"][name] = {"truth_measurable": tb["measurable"], "valid": bool(b and b.valid),
                              "reason": b.reason if b else res.reason,
                              **({k: (getattr(b, k) if b else None, tb[f"{k}_mm"] if k != "MCI" else tb["MCI"])
                                  for k in ("W", "M", "T", "MCI")} if tb["measurable"] else {})}
    for name, tj in truth["joints"].items():
        j = res.joints.get(name)
        out["joints"][name] = {"visible": tj.get("visible", False), "truth": (tj.get("min_mm"), tj.get("mean_mm")),
                               "valid": bool(j and j.valid), "reason": j.reason if j else res.reason,
                               "value": (j.minimum, j.mean) if j and j.valid else None}
    return out


def repositioned(hand: int, repeat: int, seed: int = SEED + 1) -> dict:
    """One re-render of repositioning hand ``hand``: mean MCI and each JSW."""
    from ra_desktop.measure import measure_hand

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(hand, repeat)))
    pose = {"rotation_deg": float(rng.uniform(-5, 5)), "shift_mm": [float(v) for v in rng.uniform(-5, 5, 2)],
            "noise_seed": int(rng.integers(2**31))}
    img, sp, gt, cond = make_case(hand, seed, pose=pose)
    res = measure_hand(img, sp)
    return {"hand": hand, "repeat": repeat, "mean_MCI": res.mean_MCI,
            "jsw": {k: (j.mean if j.valid else None) for k, j in res.joints.items()}}


def _median_abs(pairs) -> float | None:
    d = [abs(a - b) for a, b in pairs if a is not None and b is not None]
    return float(np.median(d)) if d else None


def timings(n: int = 10) -> list[float]:
    """Seconds of measure_hand per hand, bench cases 0..n-1 one after another (after a warm-up)."""
    from ra_desktop.measure import measure_hand

    out = []
    for i in range(n):
        img, sp, _, _ = make_case(i)
        if i == 0:
            measure_hand(img, sp)
        t0 = time.perf_counter()
        measure_hand(img, sp)
        out.append(time.perf_counter() - t0)
    return out


def summarise(records: list[dict], repeats: list[dict], timing: list[float] | None = None) -> list[dict]:
    bones = [b for r in records for b in r["bones"].values() if b["truth_measurable"]]
    fractured = [b for r in records for b in r["bones"].values() if not b["truth_measurable"]]
    valid = [b for b in bones if b["valid"]]
    joints = {kind: [j for r in records for n, j in r["joints"].items() if n.startswith(kind) and j["visible"]]
              for kind in ("MCP", "PIP")}
    n = len(records)
    share = len(valid) / max(len(bones), 1)
    err = {k: _median_abs(b[k] for b in valid) for k in ("MCI", "T", "W")}
    wrong_list = [[r["index"], n, b["MCI"]] for r in records for n, b in r["bones"].items()
                  if b["truth_measurable"] and b["valid"] and abs(b["MCI"][0] - b["MCI"][1]) > 5 * GOALS["MCI"]]
    wrong = len(wrong_list)
    hands_mci = sum(1 for r in records if r["mean_MCI"] is not None)
    secs = [r["seconds"] for r in records]
    desc = (f"{n} held-out phantoms (seed {SEED}), spacing {min(r['spacing'] for r in records):.3f}-"
            f"{max(r['spacing'] for r in records):.3f} mm, 8/16-bit, 6 noise/blur levels")
    rows = [
        row("measure", "mc_validated_share", share * 100, "%", goal=">= 95%", ok=share >= 0.95,
            note=f"{len(valid)} of {len(bones)} MC2-4 in {desc}"),
        row("measure", "mci_median_abs_error", err["MCI"], "", goal="<= 0.01",
            ok=err["MCI"] is not None and err["MCI"] <= 0.01, note=f"{len(valid)} validated bones"),
        row("measure", "cortical_thickness_mae", err["T"], "mm", goal="<= 0.05 mm",
            ok=err["T"] is not None and err["T"] <= 0.05, note="median absolute error, validated bones"),
        row("measure", "outer_width_mae", err["W"], "mm", note="median absolute error of W, validated bones"),
        row("measure", "mci_wrong_numbers", wrong, "bones", goal="0", ok=wrong == 0,
            note="validated bones with |MCI error| > 0.05", cases=wrong_list),
        row("measure", "fractured_mc_validated", sum(b["valid"] for b in fractured), "bones",
            note=f"of {len(fractured)} metacarpals with a healed fracture (no truth; ideally rejected)"),
        row("measure", "hands_with_mean_mci", hands_mci / n * 100, "%", note="all three of MC2-4 validated"),
    ]
    for kind, js in joints.items():
        ok = [j for j in js if j["valid"]]
        far = sum(1 for j in ok if abs(j["value"][1] - j["truth"][1]) > 3 * GOALS["JSW"])
        e_min = _median_abs((j["value"][0], j["truth"][0]) for j in ok)
        e_mean = _median_abs((j["value"][1], j["truth"][1]) for j in ok)
        rows += [
            row("measure", f"{kind.lower()}_jsw_validated_share", len(ok) / max(len(js), 1) * 100, "%",
                goal=">= 95%" if kind == "MCP" else None, ok=(len(ok) / max(len(js), 1) >= 0.95) if kind == "MCP" else None,
                note=f"{len(ok)} of {len(js)} {kind}2-5 with a visible joint space"),
            row("measure", f"{kind.lower()}_jsw_min_mae", e_min, "mm", goal="<= 0.1 mm",
                ok=e_min is not None and e_min <= 0.1, note="median absolute error of the minimum width"),
            row("measure", f"{kind.lower()}_jsw_mean_mae", e_mean, "mm", goal="<= 0.1 mm",
                ok=e_mean is not None and e_mean <= 0.1, note="median absolute error of the mean width"),
            row("measure", f"{kind.lower()}_jsw_wrong_numbers", far, "joints", goal="0", ok=far == 0,
                note=f"validated joints whose mean width is off by more than 0.3 mm, of {len(ok)}"),
        ]
        hidden = [j for r in records for nm, j in r["joints"].items() if nm.startswith(kind) and not j["visible"]]
        rows.append(row("measure", f"{kind.lower()}_overlap_given_a_number", sum(j["valid"] for j in hidden), "joints",
                        goal="0", ok=not any(j["valid"] for j in hidden),
                        note=f"of {len(hidden)} joints whose bones overlap on the image (no joint space)"))
    if timing:
        rows.append(row("measure", "time_per_hand", None, "s", samples=timing, goal="<= 1 s",
                        ok=float(np.median(timing)) <= 1.0,
                        note=f"measure_hand on a decoded image (MC2-4 + MCP2-5 + PIP2-5), {len(timing)} hands one "
                             "after another in one process"))
    rows.append(row("measure", "time_per_hand_in_batch", None, "s", samples=secs,
                    note="the same, during the accuracy run (two worker processes sharing the cores)"))
    if repeats:
        by_hand: dict[int, list[dict]] = {}
        for r in repeats:
            by_hand.setdefault(r["hand"], []).append(r)
        cvs = []
        for rs in by_hand.values():
            v = [r["mean_MCI"] for r in rs if r["mean_MCI"] is not None]
            if len(v) >= 3:
                cvs.append(np.std(v, ddof=1) / np.mean(v) * 100)
        jcv = []
        for rs in by_hand.values():
            for name in rs[0]["jsw"]:
                v = [r["jsw"][name] for r in rs if r["jsw"].get(name) is not None]
                if len(v) >= 3 and np.mean(v) > 0.3:
                    jcv.append(np.std(v, ddof=1) / np.mean(v) * 100)
        rep = len(repeats) // max(len(by_hand), 1)
        rows += [
            row("measure", "repositioning_cv_mean_mci", float(np.sqrt(np.mean(np.square(cvs)))) if cvs else None, "%",
                goal="< 1%", ok=bool(cvs) and float(np.sqrt(np.mean(np.square(cvs)))) < 1.0,
                note=f"RMS CV over {len(cvs)} hands x {rep} re-renders (rotation +-5 deg, shift +-5 mm, new noise)"),
            row("measure", "repositioning_cv_jsw", float(np.sqrt(np.mean(np.square(jcv)))) if jcv else None, "%",
                note=f"RMS CV of the mean JSW over {len(jcv)} joints (mean width > 0.3 mm, >= 3 valid re-renders)"),
        ]
    return rows


def _pool_map(fn, args, workers):
    if workers <= 1:
        return [fn(*a) for a in args]
    import multiprocessing as mp

    with ProcessPoolExecutor(workers, mp_context=mp.get_context("spawn")) as ex:
        return list(ex.map(_call, [(fn, a) for a in args]))


def _call(job):
    fn, a = job
    return fn(*a)


def run(n: int | None = None, hands: int | None = None, workers: int = 2) -> list[dict]:
    n = int(os.environ.get("RA_BENCH_MEASURE_N", n or 200))
    hands = int(os.environ.get("RA_BENCH_MEASURE_HANDS", hands or 10))
    records = _pool_map(evaluate, [(i,) for i in range(n)], workers)
    repeats = _pool_map(repositioned, [(h, k) for h in range(hands) for k in range(5)], workers)
    return summarise(records, repeats, timings(min(10, n)))


if __name__ == "__main__":
    for r in run():
        print(r)
