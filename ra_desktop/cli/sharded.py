"""What ``predict`` and ``report`` share to run under ``torchrun``: join, list once, load everywhere.

Not a command. Each rank analyses its share of the files (:mod:`ra_desktop.shard`); rank 0
prints and writes what is shared, so the output is what one process would give.
"""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # torch loads when a command runs, not for --help
    from ra_desktop.distributed import DistInfo

EPILOG = ("Several processes or GPUs: torchrun --nproc_per_node 4 -m ra_desktop {command} ARCHIVE ... "
          "(each rank takes every 4th file; rank 0 prints and writes the merged output, in order).")


def join(device: str) -> DistInfo:
    """Join torchrun's process group (NCCL with CUDA, each rank on cuda:LOCAL_RANK; else Gloo).

    Alone, nothing happens and the info says world size 1.
    """
    from ra_desktop.distributed import DistInfo, launched_by_torchrun, setup

    if not launched_by_torchrun():
        return DistInfo()
    import torch

    cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    info, _ = setup(torch.device("cuda" if cuda else "cpu"))
    return info


def list_files(info: DistInfo, paths: list[str], recursive: bool) -> list[Path]:
    """The files to work on, listed by rank 0 and sent to the others: every rank deals from the
    same list even if the archive changes while the ranks start."""
    from ra_desktop.distributed import broadcast_object
    from ra_desktop.io import iter_image_files

    files = list(iter_image_files([Path(p) for p in paths], recursive=recursive)) if info.is_main else None
    return broadcast_object(info, files)


def load_everywhere(info: DistInfo, model_dir: Path, device: str) -> Any:
    """The model on this rank, or None on every rank if any rank could not load it (rank 0 says
    which and why): a rank without a model must not leave the others waiting for its share."""
    from ra_desktop.distributed import all_gather_objects
    from ra_desktop.errors import ModelUnavailable
    from ra_desktop.model import load_model

    model, error = None, None
    try:
        model = load_model(model_dir, device)
    except ModelUnavailable as exc:
        error = str(exc)
    errors = all_gather_objects(info, error)
    if any(errors):
        if info.is_main:
            for rank, err in enumerate(errors):
                if err:
                    where = f"rank {rank}: " if info.enabled else ""
                    print(f"error: {where}{err}", file=sys.stderr)
        return None
    if info.enabled and model.device.type == "cuda":
        import torch

        # setup() made this rank's GPU the current one, so "cuda" landed there; name it exactly.
        model = dataclasses.replace(model, device=torch.device("cuda", torch.cuda.current_device()))
    return model


def leave(info: DistInfo) -> None:
    from ra_desktop.distributed import cleanup

    cleanup(info)
