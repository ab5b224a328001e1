"""Cost and faithfulness of the explanations (VGG8, 224x224, CPU).

Rows: Grad-CAM and default SHAP (the Grad-CAM layer's cells as regions — 14x14 for VGG8 — 128
antithetic permutations, backbone included)
against one forward pass; SHAP against captum's GradientShap with 20 samples (the gradient SHAP
reference). Faithfulness of each map: deletion AUC (P(RA) as the map's most important pixels are
blurred away first; lower = more faithful), averaged over the bench phantoms, shown against the
AUC of a random order, so that speed is not bought with wrong maps.
"""
from __future__ import annotations

from bench._common import load, row, studies, timed


def run(repeats: int = 5, seed: int = 0, n_faith: int = 3) -> list[dict]:
    import numpy as np
    import torch

    from ra_desktop.explain import grad_cam, shap_map, shap_regions
    from ra_desktop.explain.faithfulness import deletion_insertion, random_order_auc
    from ra_desktop.pipeline import prepare_case

    model, note = load()
    module = model.module
    cases = [prepare_case(p, model) for p in studies()[:n_faith]]  # distinct phantoms 0..n-1
    x = cases[0].x
    xb = torch.from_numpy(x)[None]

    def forward():
        with torch.inference_mode():
            module(xb)

    def gradient_shap(xi):
        from captum.attr import GradientShap

        t = torch.from_numpy(xi)[None]
        torch.manual_seed(seed)
        baselines = torch.cat([torch.zeros_like(t), 0.1 * torch.randn_like(t)])
        attr = GradientShap(module).attribute(t, baselines=baselines, n_samples=20, target=1)
        return attr[0].sum(0).detach().numpy()  # signed, toward RA

    _, cells, _ = shap_regions(model, x, seed=seed, n_permutations=2)
    regions = f"{cells.max() + 1} regions ({cells.shape[0]}x{cells.shape[1]} cells)"
    fwd = timed(forward, repeats)
    cam = timed(lambda: grad_cam(model, x), repeats)
    shp = timed(lambda: shap_map(model, x, seed=seed), repeats)
    gs = timed(lambda: gradient_shap(x), max(2, repeats // 2))

    def med(s):
        return sorted(s)[len(s) // 2]

    # Deletion AUC per method, mean over the phantoms (10 steps: 11 forwards per curve).
    aucs: dict[str, list[float]] = {"gradcam": [], "shap": [], "gradient_shap": [], "random": []}
    for c in cases:
        maps = {"gradcam": grad_cam(model, c.x), "shap": shap_map(model, c.x, seed=seed), "gradient_shap": gradient_shap(c.x)}
        for k, m in maps.items():
            aucs[k].append(deletion_insertion(model.predict_proba, c.x, m, steps=10, insertion=False)["deletion_auc"])
        aucs["random"].append(random_order_auc(model.predict_proba, c.x, steps=10, insertion=False)["deletion_auc"])
    mean = {k: float(np.mean(v)) for k, v in aucs.items()}
    setup = f"{note}, CPU, {torch.get_num_threads()} threads"
    faith = f"deletion AUC (lower = more faithful; random order {mean['random']:.3f}, n={len(cases)})"
    return [
        row("explain", "forward", None, "ms", samples=fwd, note=setup),
        row("explain", "gradcam", None, "ms", samples=cam, ratio=med(cam) / med(fwd), baseline="forward",
            note=setup, deletion_auc=mean["gradcam"]),
        row("explain", "shap_default", None, "ms", samples=shp, ratio=med(shp) / med(gs),
            baseline="GradientShap-20", goal="<= 2000 ms", ok=med(shp) <= 2000.0,
            note=f"{setup}; {regions}, 128 permutations", deletion_auc=mean["shap"]),
        row("explain", "gradient_shap_20", None, "ms", samples=gs, ratio=med(gs) / med(fwd), baseline="forward",
            note="captum GradientShap n_samples=20 (reference)", deletion_auc=mean["gradient_shap"]),
        row("explain", "deletion_auc_shap", mean["shap"], "AUC", ratio=mean["shap"] / mean["gradient_shap"],
            baseline="GradientShap-20's", note=faith),
        row("explain", "deletion_auc_gradcam", mean["gradcam"], "AUC", ratio=mean["gradcam"] / mean["random"],
            baseline="random order", note=faith),
        row("explain", "deletion_auc_gradient_shap", mean["gradient_shap"], "AUC",
            ratio=mean["gradient_shap"] / mean["random"], baseline="random order", note=faith),
    ]


if __name__ == "__main__":
    for r in run():
        print(r)
