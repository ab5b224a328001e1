"""Architecture ids, how to build them, and which layers explanations and OOD use."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ra_desktop.errors import RADesktopError
from ra_desktop.model.architectures import VGG8, build_densenet


@dataclass(frozen=True)
class ArchitectureInfo:
    """Static facts about an architecture id.

    ``gradcam_target_layer`` and ``feature_layer`` are dotted module paths (``module.get_submodule``).
    """

    arch: str
    description: str
    gradcam_target_layer: str
    feature_layer: str
    feature_dim: int


ARCHITECTURES: dict[str, ArchitectureInfo] = {
    "vgg8": ArchitectureInfo(
        "vgg8", "VGG8: 8 conv (3x3) in 5 blocks, FC 25088-512-512-2 (published)",
        "features.block5.relu2", "classifier.relu2", 512,
    ),
    "densenet121": ArchitectureInfo(
        "densenet121", "DenseNet121 + CBAM attention, 2-way linear head",
        "attention", "pool", 1024,
    ),
    "densenet169": ArchitectureInfo(
        "densenet169", "DenseNet169 + CBAM attention, 2-way linear head",
        "attention", "pool", 1664,
    ),
    # The ablation of the seeds' comparison: the same networks without the attention block.
    "densenet121-no-attention": ArchitectureInfo(
        "densenet121-no-attention", "DenseNet121 without attention (ablation), 2-way linear head",
        "attention", "pool", 1024,
    ),
    "densenet169-no-attention": ArchitectureInfo(
        "densenet169-no-attention", "DenseNet169 without attention (ablation), 2-way linear head",
        "attention", "pool", 1664,
    ),
}
NO_ATTENTION = "-no-attention"


class UnknownArchitecture(RADesktopError):
    """An architecture id that this version of RA Desktop cannot build."""


def architecture_info(arch: str) -> ArchitectureInfo:
    """Facts for ``arch``; an unknown id raises :class:`UnknownArchitecture`."""
    try:
        return ARCHITECTURES[arch]
    except KeyError:
        raise UnknownArchitecture(
            f"unknown architecture {arch!r}; known: {', '.join(ARCHITECTURES)}"
        ) from None


def build_model(arch: str, *, empty: bool = False) -> nn.Module:
    """A freshly initialised network for ``arch`` (a key of :data:`ARCHITECTURES`).

    Outputs two logits (normal, RA). No pretrained weights are ever downloaded. ``empty``: for
    weights about to be loaded with ``load_state_dict(..., assign=True)``; VGG8 is then built on
    the meta device, without memory or random initialisation (0.2 s of the app's start-up).

    Raises
    ------
    UnknownArchitecture
        ``arch`` is not in :data:`ARCHITECTURES`, or torchvision is missing for a DenseNet.
    """
    architecture_info(arch)
    if arch == "vgg8":
        if empty:
            with torch.device("meta"):
                return VGG8(initialise=False)
        return VGG8()
    try:
        depth = int(arch.removeprefix("densenet").removesuffix(NO_ATTENTION))
        return build_densenet(depth, attention=not arch.endswith(NO_ATTENTION))
    except ImportError as exc:  # torchvision: left out of the small CPU installer
        raise UnknownArchitecture(f"{arch} needs torchvision, which this installation does not have: DenseNet "
                                  f"models need the full build ({exc})") from exc
