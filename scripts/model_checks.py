"""Measured checks of a model folder beyond `ra-desktop evaluate`, written as JSON for the model card.

    python scripts/model_checks.py MODEL_DIR --test HELD_OUT_DIR --out EVAL_DIR [--pairs 8]

- ``ood_heldout``: how many held-out phantoms the OOD check flags (should be ~1 %).
- ``ood_real``: the OOD verdict on real, non-hand images from pydicom / pydicom-data (chest and
  tibia CR, MR, CT, ultrasound, a photograph): every one should be flagged.
- ``markers``: which radiographic marker moves the RA logit. On twin pairs (same hand, acquisition
  and noise) the RA plan is rendered with one lesion type at a time; the logit change against the
  healthy twin says what the model responds to.
"""
from __future__ import annotations

import argparse
import copy
import importlib.util
import json
from pathlib import Path

import numpy as np

REAL_FILES = ("RG1_UNCR.dcm", "RG3_UNCR.dcm", "MR2_UNCR.dcm", "CT_small.dcm", "US1_UNCR.dcm",
              "OT-PAL-8-face.dcm")
MARKERS = {
    "soft_tissue_swelling": ("swelling_mm",),
    "periarticular_osteopenia": ("osteopenia",),
    "joint_space_narrowing": ("narrowing",),
    "erosions": ("erosions",),
    "deformity (subluxation, ulnar deviation, ankylosis)": ("subluxation_mm", "deviation_deg", "ankylosis"),
}
ALL_FIELDS = ("swelling_mm", "osteopenia", "narrowing", "erosions", "subluxation_mm", "deviation_deg", "ankylosis")


def _real_files() -> list[Path]:
    import pydicom

    folders = [Path(pydicom.__file__).parent / "data" / "test_files"]
    spec = importlib.util.find_spec("data_store")
    if spec and spec.submodule_search_locations:
        folders.append(Path(list(spec.submodule_search_locations)[0]) / "data")
    return [f / n for n in REAL_FILES for f in folders if (f / n).is_file()]


def ood_heldout(model, test_dir: Path) -> dict:
    from ra_desktop.explain.ood import ood_score
    from ra_desktop.io import iter_image_files, load_radiograph
    from ra_desktop.preprocess import PreprocessConfig, prepare

    cfg = PreprocessConfig.from_dict(model.manifest.preprocessing)
    images = iter_image_files([test_dir / "RA", test_dir / "Normal"])  # not ground_truth/ masks
    d = [ood_score(model, prepare(load_radiograph(p), cfg)[0]).distance for p in images]
    thr = float(model.manifest.ood["threshold"])
    return {"n": len(d), "flagged": int(sum(x > thr for x in d)), "max": float(max(d)), "threshold": thr}


def ood_real(model) -> list[dict]:
    from ra_desktop.explain.ood import predict_with_ood
    from ra_desktop.io import load_radiograph
    from ra_desktop.preprocess import PreprocessConfig, prepare

    cfg = PreprocessConfig.from_dict(model.manifest.preprocessing)
    out = []
    for path in _real_files():
        p, ood = predict_with_ood(model, prepare(load_radiograph(path), cfg)[0])
        out.append({"file": path.name, "p_ra": round(p, 4), "distance": round(ood.distance, 3),
                    "flagged": not ood.in_distribution})
    return out


def markers(model, pairs: int, size: int = 1200, seed: int = 600000) -> dict:
    """Median RA-logit change against the healthy twin, one marker at a time (severity 2 plans)."""
    import torch

    from ra_desktop.phantom.generate import _render_case, case_rng
    from ra_desktop.phantom.lesions import JOINT_NAMES, CasePlan, JointLesion, sample_plan
    from ra_desktop.preprocess import PreprocessConfig, prepare

    cfg = PreprocessConfig.from_dict(model.manifest.preprocessing)

    def logit(image: np.ndarray) -> float:
        lo, hi = np.percentile(image, [cfg.low_pct, cfg.high_pct])
        unit = np.clip((image - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)
        with torch.inference_mode():
            z = model.module(torch.from_numpy(prepare(unit, cfg)[0])[None].to(model.device))
        return float(z[0, 1] - z[0, 0])

    deltas: dict[str, list[float]] = {k: [] for k in (*MARKERS, "all markers")}
    for i in range(pairs):
        rng = case_rng(seed, i)
        plan_seed, anatomy = (int(v) for v in rng.integers(2**63, size=2))
        plan = sample_plan(np.random.default_rng(plan_seed), "RA", 2)
        healthy = CasePlan("Normal", 0, {j: JointLesion() for j in JOINT_NAMES}, dict(plan.dip_oa), plan.fracture)
        base = logit(_render_case(healthy, anatomy, "R", size, None).image.astype(np.float32))
        for name, fields in (*MARKERS.items(), ("all markers", ALL_FIELDS)):
            only = copy.deepcopy(plan)
            for joint in only.joints.values():
                for f in ALL_FIELDS:
                    if f not in fields:
                        setattr(joint, f, getattr(JointLesion(), f))
            img = _render_case(only, anatomy, "R", size, None, placement_plan=healthy).image
            deltas[name].append(logit(img.astype(np.float32)) - base)
    return {"pairs": pairs, "severity": 2, "median_logit_change": {k: round(float(np.median(v)), 2) for k, v in deltas.items()}}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("--test", type=Path, required=True, help="held-out phantom folder")
    ap.add_argument("--out", type=Path, required=True, help="folder for checks.json")
    ap.add_argument("--pairs", type=int, default=8, help="twin pairs for the marker check")
    args = ap.parse_args()
    from ra_desktop.model import load_model

    model = load_model(args.model_dir, "cpu")
    result = {"ood_heldout": ood_heldout(model, args.test), "ood_real": ood_real(model),
              "markers": markers(model, args.pairs)}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "checks.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
