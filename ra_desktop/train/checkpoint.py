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
    # numpy's state as plain ints: the checkpoint must load with torch.load(weights_only=True).
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state = {"python": random.getstate(), "numpy": [kind, keys.tolist(), pos, has_gauss, cached],
             "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    random.setstate(state["python"])
    kind, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, np.asarray(keys, dtype=np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def seed_everything(seed: int) -> None:
    """Python, numpy and torch (CPU and every GPU) seeds; reproducible on CPU."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def _plain(obj: Any) -> Any:
    """numpy scalars and arrays as Python numbers and lists, so weights_only loading accepts them."""
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_plain(v) for v in obj)
    if isinstance(obj, (np.generic, np.ndarray)):
        return obj.tolist()
    return obj


def _atomic_save(obj: Any, path: Path) -> None:
    # A crash mid-write must never leave a truncated checkpoint where --resume will look.
    tmp = path.with_name(f".{path.name}.tmp")
    torch.save(_plain(obj), tmp)
    os.replace(tmp, path)


def _safe_load(path: Path, map_location: str | torch.device) -> Any:
    """torch.load with weights_only=True: tensors and plain data, never code from a pickle."""
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # UnpicklingError for foreign objects, RuntimeError for a bad zip
        raise DataError(
            f"--resume: checkpoint {path} cannot be read safely ({type(exc).__name__}: "
            f"{' '.join(str(exc).split())[:300]}); only tensors and plain data are loaded, "
            "never objects a pickle could run code for. Start again without --resume."
        ) from None


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
    # A checkpoint folder may come from elsewhere (copied, downloaded): never unpickle code.
    state = _safe_load(folder / LAST, map_location)
    best = _safe_load(folder / BEST, map_location) if (folder / BEST).is_file() else None
    if not isinstance(state, dict) or not {"arch", "split", "model", "loop", "rng"} <= set(state):
        raise DataError(f"--resume: {folder / LAST} is not a checkpoint written by ra-desktop train")
    return state, best


def cpu_state_dict(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().to("cpu", copy=True) for k, v in module.state_dict().items()}
