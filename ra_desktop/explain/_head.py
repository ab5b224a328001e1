"""The "head" of a network: the part that runs after a given layer, as its own callable.

SHAP over a late feature map evaluates the network thousands of times with parts of that map
masked. Only the layers after the map depend on the mask, so the head is cut out once with
``torch.fx`` (the target layer's output becomes the head's input) and the backbone runs once. For
VGG8 the head is a pool and the classifier; for DenseNet it is attention, pool and classifier.

When a model cannot be traced, or a connection skips over the cut (the head would still need the
image), :func:`make_head` falls back to running the whole model with the layer's output replaced
by a hook: slower, but the same function.
"""
from __future__ import annotations

import weakref
from collections.abc import Callable

import torch
from torch import fx, nn

from ra_desktop.explain._scope import get_layer, hooked, replace_output

Head = Callable[[torch.Tensor], torch.Tensor]

# module -> {layer path -> GraphModule}; weak so a dropped model frees its head.
_CACHE: weakref.WeakKeyDictionary[nn.Module, dict[str, fx.GraphModule | None]] = (
    weakref.WeakKeyDictionary()
)


class _CutTracer(fx.Tracer):
    """Traces through everything except the cut layer, which stays one opaque call."""

    def __init__(self, cut: str) -> None:
        super().__init__()
        self.cut = cut

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        if qualname == self.cut:
            return True
        if self.cut.startswith(qualname + "."):
            return False  # a container of the cut layer must be traced into
        return super().is_leaf_module(m, qualname)


def _trace_head(module: nn.Module, path: str) -> fx.GraphModule | None:
    try:
        graph = _CutTracer(path).trace(module)
    except Exception:  # noqa: BLE001 - any tracing failure means "use the slow head"
        return None
    # GraphModule shares (does not copy) the submodules it calls, so weights stay the caller's.
    gm = fx.GraphModule(module, graph)
    graph = gm.graph
    cut = [n for n in graph.nodes if n.op == "call_module" and n.target == path]
    if len(cut) != 1:
        return None  # the layer is reused or never called: no single cut point
    inputs = [n for n in graph.nodes if n.op == "placeholder"]
    with graph.inserting_before(inputs[0]):
        activation = graph.placeholder("activation")
    cut[0].replace_all_uses_with(activation)
    graph.eliminate_dead_code()
    if any(n.users for n in inputs):
        return None  # a skip connection crosses the cut
    for n in inputs:
        graph.erase_node(n)
    graph.lint()
    gm.recompile()
    return gm


def fast_head(module: nn.Module, path: str) -> fx.GraphModule | None:
    """The traced head after ``path`` (cached per model), or ``None`` if it cannot be cut."""
    per_model = _CACHE.setdefault(module, {})
    if path not in per_model:
        per_model[path] = _trace_head(module, path)
    return per_model[path]


def make_head(module: nn.Module, path: str, image: torch.Tensor) -> tuple[Head, bool]:
    """A function ``activation batch -> logits batch`` for the layers after ``path``.

    Parameters
    ----------
    module : nn.Module
        The model (already in eval mode, see :func:`ra_desktop.explain._scope.borrowed`).
    path : str
        Dotted path of the cut layer.
    image : torch.Tensor
        The (1, C, H, W) input, needed only by the slow fallback.

    Returns
    -------
    head : callable
    fast : bool
        ``True`` when the head is a traced sub-network, ``False`` for the whole-model fallback.
    """
    traced = fast_head(module, path)
    if traced is not None:
        return traced, True
    layer = get_layer(module, path)

    def slow(activation: torch.Tensor) -> torch.Tensor:
        batch = image.expand(activation.shape[0], *image.shape[1:])
        with hooked(layer, replace_output(activation)):
            return module(batch)

    return slow, False


# Modules and functions that are affine in their single tensor input (in eval mode).
_AFFINE_MODULES = (
    nn.AdaptiveAvgPool2d, nn.AvgPool2d, nn.Flatten, nn.Linear, nn.Dropout, nn.Identity,
    nn.Conv2d, nn.BatchNorm1d, nn.BatchNorm2d,
)
_AFFINE_FUNCTIONS = {torch.flatten, torch.reshape}
_AFFINE_METHODS = {"flatten", "view", "reshape", "contiguous"}


def _is_affine(node: fx.Node, root: nn.Module, source: fx.Node) -> bool:
    extra = [a for a in [*node.args[1:], *node.kwargs.values()] if isinstance(a, fx.Node)]
    if not node.args or node.args[0] is not source or extra:
        return False
    if node.op == "call_module":
        return isinstance(root.get_submodule(str(node.target)), _AFFINE_MODULES)
    if node.op == "call_function":
        return node.target in _AFFINE_FUNCTIONS
    return node.op == "call_method" and node.target in _AFFINE_METHODS


def affine_prefix(module: nn.Module, path: str) -> str | None:
    """Path of the last module of the affine chain that starts the head after ``path``.

    VGG8's head begins ``avgpool → flatten → fc1`` (all affine): everything up to ``fc1`` can be
    evaluated once per region and summed, instead of once per coalition. ``None`` when the head
    starts with a non-linearity or cannot be traced.
    """
    head = fast_head(module, path)
    if head is None:
        return None
    node = next(n for n in head.graph.nodes if n.op == "placeholder")
    end = None
    while len(node.users) == 1:
        user = next(iter(node.users))
        if not _is_affine(user, head, node):
            break
        node = user
        if node.op == "call_module":
            end = str(node.target)
    return end


def _pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[1]))


def leading_max_pool(module: nn.Module, path: str, max_cells: int = 4) -> tuple[tuple[int, int], str] | None:
    """``((kh, kw), pool path)`` when the head after ``path`` starts with a max-pool whose windows
    tile the map without overlap (kernel = stride, no padding or dilation) and hold at most
    ``max_cells`` cells; otherwise ``None``.

    Such a pool's output cell depends only on its own window, so a head ``pool → affine → ...``
    can be tabulated per window and kept-subset (VGG8's last conv: 2×2 windows, 16 subsets).
    """
    head = fast_head(module, path)
    if head is None:
        return None
    node = next(n for n in head.graph.nodes if n.op == "placeholder")
    if len(node.users) != 1:
        return None
    user = next(iter(node.users))
    if user.op != "call_module" or len(user.args) != 1 or user.kwargs:
        return None
    pool = head.get_submodule(str(user.target))
    if not isinstance(pool, nn.MaxPool2d) or pool.ceil_mode or pool.return_indices:
        return None
    k = _pair(pool.kernel_size)
    if _pair(pool.stride or pool.kernel_size) != k or _pair(pool.padding) != (0, 0) or _pair(pool.dilation) != (1, 1):
        return None
    if k[0] * k[1] > max_cells:
        return None
    return k, str(user.target)
