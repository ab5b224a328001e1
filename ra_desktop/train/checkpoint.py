"""Per-epoch checkpoints (model, optimiser, scaler, epoch, RNG states, history) for ``--resume``."""
from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ra_desktop.errors import DataError

CHECKPOINT_DIR = "checkpoint"
LAST = "last.pt"
BEST = "best.pt"


def rng_state() -> dict[str, Any]:
    state = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Python, numpy and torch (CPU and every GPU) seeds; reproducible on CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _atomic_save(obj: Any, path: Path) -> None:
    # A crash mid-write must never leave a truncated checkpoint where --resume will look.
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def save(out_dir: Path, state: dict[str, Any], best_weights: dict[str, torch.Tensor] | None) -> Path:
    """Write ``checkpoint/last.pt`` (and ``best.pt`` when the epoch improved)."""
    folder = Path(out_dir) / CHECKPOINT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    if best_weights is not None:
        _atomic_save(best_weights, folder / BEST)
    _atomic_save(state, folder / LAST)
    return folder / LAST


def load(out_dir: Path, map_location: str | torch.device = "cpu") -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The last checkpoint and the best weights; :class:`DataError` when there is nothing to resume."""
    folder = Path(out_dir) / CHECKPOINT_DIR
    if not (folder / LAST).is_file():
        raise DataError(f"--resume: no checkpoint in {folder}; start without --resume "
                        "(or point --out at the folder of the interrupted run)")
    # weights_only=False: the checkpoint holds numpy RNG state and our own history; we wrote it.
    state = torch.load(folder / LAST, map_location=map_location, weights_only=False)
    best = torch.load(folder / BEST, map_location=map_location, weights_only=True) if (folder / BEST).is_file() else None
    return state, best


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
