"""Where a model's RA evidence lies on wrist-spared twins, by swapping pixels between the twins.

Usage: python scripts/wrist_spared_counterfactual.py MODEL_DIR TWINS_DIR [--json OUT]
TWINS_DIR: ra-desktop phantom --twins --spare-wrist ... (each pair differs only in
its diseased finger joints). For each pair it prints the RA logit margin (logit RA - logit normal) of

* the RA hand and its healthy twin;
* the RA hand with the twin's wrist pasted in (the wrist discs, 1.6x their radius);
* the twin with the RA hand's diseased joint discs pasted in;

then the medians. If pasting the diseased finger joints restores the RA margin and pasting the
wrist changes nothing, the model's evidence is in the finger joints, whatever its maps show.
"""
from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch

from ra_desktop.explain.regions import WRIST_PARTS, disc, joint_discs
from ra_desktop.io import load_radiograph
from ra_desktop.model import load_model
from ra_desktop.phantom import load_ground_truth
from ra_desktop.preprocess import prepare
from ra_desktop.io.dataset import discover

WRIST_SCALE = 1.6  # the wrist discs are small; cover the carpus between them


def _union(shape, discs) -> np.ndarray:
    return np.logical_or.reduce([disc(shape, (cx, cy), r) for cx, cy, r in discs] + [np.zeros(shape, bool)])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model_dir", type=Path)
    ap.add_argument("twins", type=Path)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    model = load_model(args.model_dir, "cpu")
    module, config = model.module.float().eval(), model.preprocess_config

    def margin(radiograph, pixels) -> float:
        x, _ = prepare(dataclasses.replace(radiograph, pixels=pixels), config)
        with torch.no_grad():
            z = module(torch.from_numpy(x)[None])[0]
        return float(z[1] - z[0])

    by_patient: dict[str, dict[int, Path]] = {}
    for s in discover(args.twins).samples:
        by_patient.setdefault(s.patient_id, {})[int(s.label)] = s.path
    rows = []
    for pid, members in sorted(by_patient.items()):
        if set(members) != {0, 1}:
            continue
        ra, twin = load_radiograph(members[1]), load_radiograph(members[0])
        a, b = ra.pixels.astype(np.float32), twin.pixels.astype(np.float32)
        gt = load_ground_truth(members[1])
        joints = gt["joints"]
        if any(int(joints[j]["severity"] or 0) for j in WRIST_PARTS if j in joints):
            raise SystemExit(f"{members[1]}: the wrist is diseased; make the set with --spare-wrist")
        discs = joint_discs(gt, a.shape)
        wrist = _union(a.shape, [(cx, cy, WRIST_SCALE * r) for j, (cx, cy, r) in discs.items() if j in WRIST_PARTS])
        sick = _union(a.shape, [discs[j] for j, v in joints.items() if int(v["severity"] or 0) >= 1])
        row = {"patient": pid, "ra": margin(ra, a), "twin": margin(twin, b),
               "ra_with_twin_wrist": margin(ra, np.where(wrist, b, a)),
               "twin_with_ra_joints": margin(twin, np.where(sick, a, b)),
               # swelling around a diseased joint (MCP1, say) can reach into the wrist area
               "wrist_pixels_changed": float(np.mean(a[wrist] != b[wrist]))}
        rows.append(row)
        print({k: round(v, 3) if isinstance(v, float) else v for k, v in row.items()}, flush=True)
    keys = ("ra", "twin", "ra_with_twin_wrist", "twin_with_ra_joints")
    summary = {k: float(np.median([r[k] for r in rows])) for k in keys}
    summary["pairs"] = len(rows)
    summary["wrist_pixels_changed"] = float(np.median([r["wrist_pixels_changed"] for r in rows]))
    print("medians:", {k: round(v, 3) if isinstance(v, float) else v for k, v in summary.items()})
    if args.json:
        args.json.write_text(json.dumps({"summary": summary, "pairs": rows}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
