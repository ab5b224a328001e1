"""Map guidance: a training loss that asks both maps to find the diseased joints (not published).

Phantoms know where their disease is. For each RA-labelled phantom (or lesion swap) with its
diseased joints' regions ``lesion`` (their share of each cell of the manifest's target layer):

* **Grad-CAM** (the RA logit, ReLU applied): the share of the map outside the regions,
  ``1 - sum(cam * lesion) / sum(cam)``. The Grad-CAM weights are differentiated
  (``create_graph``), which costs one more pass through the head only: the layers after the
  target layer (VGG8: a pool and the classifier).
* **SHAP** (Shapley values of the target layer's cells, absent cells zero): the head on the
  lesion cells alone should say RA, and on every other cell alone should say normal
  (cross-entropy of each). Those two coalitions bound where the Shapley mass can go; two more
  head passes.

The loss adds ``weight × (Grad-CAM term + SHAP term)`` to the classification loss.

Why: on wrist-spared phantoms the model's evidence is in the diseased finger joints (the
counterfactual in the model card), yet its maps peak on the healthy carpus, and data
interventions alone did not move them (seven runs). This is "right for the right reasons" (Ross
et al., 2017) applied to the maps the app shows. It trains the maps, so on phantoms the pointing
game is partly the training objective; the model card says so, and the checks that do not use
the masks (deletion against random maps, the randomisation check, the twin counterfactual) are
the independent ones.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ra_desktop.errors import DataError
from ra_desktop.explain._head import fast_head
from ra_desktop.explain._scope import get_layer, hooked
from ra_desktop.io.dataset import Sample
from ra_desktop.io.ground_truth import load_ground_truth
from ra_desktop.train.lesion_swap import joint_region_mask

EPS = 1e-6
SHARPNESS = 5.0  # of the smooth ReLU below: a cell at zero counts ln 2 / 5 of the map's mean |value|


def lesion_masks(samples: list[Sample], shape: tuple[int, int]) -> list[np.ndarray | None]:
    """Each RA phantom's diseased-joint mask at the cached size ``shape``; None for normal images
    and for images without joint ground truth."""
    out: list[np.ndarray | None] = []
    for s in samples:
        gt = load_ground_truth(s.path) if s.label == 1 else None
        mask = joint_region_mask(gt, shape) if gt and gt.get("joints") else None
        # float16: the masks of a 1,600-image set at 256 px would take 340 MB in float32.
        out.append(mask.astype(np.float16) if mask is not None and mask.max() > 0 else None)
    return out


def outside_share(cam: torch.Tensor, lesion: torch.Tensor) -> torch.Tensor:
    """Per image, the share of a non-negative (N, h, w) map outside ``lesion`` (N, h, w) in [0, 1];
    1 for an all-zero map, which has nothing inside."""
    total = cam.sum(dim=(1, 2))
    inside = (cam * lesion).sum(dim=(1, 2))
    return 1.0 - inside / (total + EPS)


class MapGuidance:
    """Records the target layer's output during the forward pass and turns it into the loss.

    Use as ``with guidance.recording(): logits = model(x)``, then ``guidance.loss(logits, masks)``.
    """

    def __init__(self, module: nn.Module, layer: str, positive_index: int = 1):
        self.layer = get_layer(module, layer)
        self.head = fast_head(module, layer)
        if self.head is None:
            raise DataError(f"map guidance needs the layers after {layer} as one traceable head; "
                            "this architecture has none")
        self.positive_index = positive_index
        self._activation: torch.Tensor | None = None

    @contextmanager
    def recording(self) -> Iterator[None]:
        def keep(_m, _i, out):
            self._activation = out

        self._activation = None
        with hooked(self.layer, keep):
            yield

    def loss(self, logits: torch.Tensor, masks: torch.Tensor) -> dict[str, torch.Tensor] | None:
        """``{"gradcam": mean outside share, "shap": mean cross-entropy of the two coalitions}``
        over the images whose ``masks`` (N, H, W at the model input, zeros where none) mark
        disease; None when no image in the batch has one."""
        rows = masks.flatten(1).amax(dim=1) > 0
        if self._activation is None or not bool(rows.any()):
            return None
        act = self._activation
        grads = torch.autograd.grad(logits[:, self.positive_index].sum(), act, create_graph=True)[0]
        act, grads = act[rows], grads[rows]
        raw = (grads.float().mean(dim=(2, 3), keepdim=True) * act.float()).sum(dim=1)
        # A smooth ReLU at the map's own scale: same order of cells as the shown map (ReLU), but an
        # all-negative map still has a gradient, so it cannot get stuck with nothing inside.
        scale = raw.detach().abs().mean(dim=(1, 2), keepdim=True) + EPS
        cam = F.softplus(raw / scale, beta=SHARPNESS) * scale
        lesion = F.adaptive_avg_pool2d(masks[rows].unsqueeze(1).float(), cam.shape[-2:])
        inside = self.head(act * lesion.to(act.dtype)).float()
        outside = self.head(act * (1.0 - lesion).to(act.dtype)).float()
        n = int(rows.sum())
        ra = torch.full((n,), self.positive_index, dtype=torch.long, device=act.device)
        healthy = torch.full((n,), 1 - self.positive_index, dtype=torch.long, device=act.device)
        shap = 0.5 * (F.cross_entropy(inside, ra) + F.cross_entropy(outside, healthy))
        return {"gradcam": outside_share(cam, lesion.squeeze(1)).mean(), "shap": shap}
