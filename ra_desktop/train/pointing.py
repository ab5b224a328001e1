"""Epoch selection by where the maps point (``ra-desktop train --select-by pointing``; not published).

On twin phantoms the validation AUC reaches 1.000 in the first epoch and stays there, so it
cannot tell epochs apart; Grad-CAM localisation meanwhile swings from epoch to epoch (8, 19 and
0 of 30 hits at epochs 2, 4 and 6 of the 1.1.0 run). Validation phantoms carry ground truth, so
the pointing game of both shipped maps (the ``explain-eval`` definition) can pick the epoch
instead. Held-out data stay untouched: the score is computed on the validation split only.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from torch import nn

from ra_desktop.evaluate.explanations import case_lesion, cases_from_samples, default_maps, pointing_rates

DEFAULT_CASES = 40


class ValidationPointing:
    """Pointing-game hit rates of Grad-CAM and SHAP on the validation split's RA phantoms.

    Parameters
    ----------
    samples : sequence of Sample
        The validation split; RA phantoms of severity >= 2 with ground truth are used.
    config : PreprocessConfig
    target_layer : str
        The architecture's Grad-CAM layer (the one the manifest will name).
    n : int
        At most this many cases (seeded sample).
    seed : int
    """

    def __init__(self, samples: Sequence[Any], config: Any, target_layer: str, n: int = DEFAULT_CASES,
                 seed: int = 0):
        self.cases = cases_from_samples(samples, n, seed=seed, config=config)
        self.lesions = [case_lesion(c) for c in self.cases]
        self.maps = default_maps(None, seed, layer=target_layer)

    def __len__(self) -> int:
        return len(self.cases)

    def __call__(self, module: nn.Module) -> dict[str, float]:
        """``{"gradcam": rate, "shap": rate, "mean": rate}`` for ``module`` (left as it was)."""
        rates = pointing_rates(module, self.cases, self.maps, self.lesions)
        rates["mean"] = float(np.mean([rates["gradcam"], rates["shap"]])) if self.cases else float("nan")
        return rates
