"""Borrowing a caller's model for an explanation without leaving a trace on it.

Explanations need a model in eval mode, hooks on one layer, and sometimes a different
``requires_grad`` or ``inplace`` setting. All of that is set inside :func:`borrowed` and restored on
exit — even when the explanation raises or is cancelled — so the model the pipeline holds is the
same object, with the same flags, before and after (STYLE P9: no ``model.eval()`` left behind).
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import torch
from torch import nn

from ra_desktop.errors import DataError


def as_module(model: Any) -> nn.Module:
    """The ``torch.nn.Module`` behind a ``LoadedModel`` (its ``.module``) or the module itself."""
    module = getattr(model, "module", model)
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a LoadedModel or torch.nn.Module, got {type(model).__name__}")
    return module


def manifest_field(model: Any, name: str) -> Any:
    """A manifest attribute (or key) of a ``LoadedModel``; ``None`` for a bare module."""
    manifest = getattr(model, "manifest", None)
    if manifest is None:
        return None
    if isinstance(manifest, dict):
        return manifest.get(name)
    return getattr(manifest, name, None)


def get_layer(module: nn.Module, path: str) -> nn.Module:
    """Resolve a dotted module path (``"features.12"``), with a clear error when it is wrong."""
    try:
        return module.get_submodule(path)
    except AttributeError as exc:
        raise DataError(f"model has no layer {path!r} (explanation target layer)") from exc


def model_device(module: nn.Module) -> torch.device:
    """Device of the first parameter (CPU for a parameter-free module)."""
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def as_batch(x: Any, module: nn.Module) -> torch.Tensor:
    """A float32 (1, C, H, W) tensor on the model's device from an array or tensor (C,H,W)/(1,C,H,W)."""
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x)
    t = t.detach().to(device=model_device(module), dtype=torch.float32)
    if t.ndim == 3:
        t = t.unsqueeze(0)
    if t.ndim != 4 or t.shape[0] != 1:
        raise DataError(f"explanations take one image (C,H,W) or (1,C,H,W), got shape {tuple(t.shape)}")
    return t


@contextmanager
def borrowed(module: nn.Module, *, freeze_params: bool = True) -> Iterator[nn.Module]:
    """Put ``module`` in eval mode for the block and restore every flag afterwards.

    Saved and restored: each submodule's ``training`` flag, each parameter's ``requires_grad``
    and each ``nn.ReLU.inplace`` flag. In-place ReLUs are switched off for the block because
    torchvision's DenseNet overwrites activations in place, which corrupts the activation a hook
    captured and breaks its gradient. Parameters are frozen so the backward pass stops at the
    hooked layer instead of building a graph through the whole backbone.
    """
    training = {m: m.training for m in module.modules()}
    grads = {p: p.requires_grad for p in module.parameters()}
    relus = {m: m.inplace for m in module.modules() if isinstance(m, nn.ReLU)}
    try:
        module.eval()
        for m in relus:
            m.inplace = False
        if freeze_params:
            for p in grads:
                p.requires_grad_(False)
        yield module
    finally:
        for m, flag in training.items():
            m.training = flag
        for p, flag in grads.items():
            p.requires_grad_(flag)
        for m, flag in relus.items():
            m.inplace = flag


@contextmanager
def hooked(layer: nn.Module, hook: Callable[..., Any]) -> Iterator[None]:
    """Register a forward hook for the block only; the handle is always removed."""
    handle = layer.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def capture_leaf(store: dict[str, torch.Tensor], *, grad: bool) -> Callable[..., torch.Tensor]:
    """A forward hook that records the layer output as a fresh leaf and feeds a copy onward.

    The leaf is what gradients are taken against; the model continues on a clone of it, so an
    in-place operation downstream can never modify the recorded activation.
    """

    def hook(_module: nn.Module, _inputs: Any, output: Any) -> torch.Tensor:
        if not isinstance(output, torch.Tensor):
            raise DataError("the explanation target layer must return a single tensor")
        leaf = output.detach().requires_grad_(grad)
        store["activation"] = leaf
        return leaf.clone()

    return hook


def replace_output(value: torch.Tensor) -> Callable[..., torch.Tensor]:
    """A forward hook that substitutes ``value`` for the layer output (used by the slow head)."""

    def hook(_module: nn.Module, _inputs: Any, _output: Any) -> torch.Tensor:
        return value

    return hook


def last_spatial_layer(module: nn.Module, xb: torch.Tensor) -> str:
    """Dotted path of the last module (in execution order) whose output is a (N, C, h, w) map
    with h, w >= 2: the final feature map the classifier head pools. One no-grad forward."""
    found: list[str] = []
    handles = []

    def make(name: str) -> Callable[..., None]:
        def hook(_m: nn.Module, _i: Any, out: Any) -> None:
            if isinstance(out, torch.Tensor) and out.ndim == 4 and min(out.shape[-2:]) >= 2:
                found.append(name)

        return hook

    try:
        for name, m in module.named_modules():
            if name:
                handles.append(m.register_forward_hook(make(name)))
        with torch.no_grad():
            module(xb)
    finally:
        for h in handles:
            h.remove()
    if not found:
        raise DataError("the model has no spatial feature map to explain")
    return found[-1]
