"""Network definitions: the published VGG8 and DenseNet121/169 with a CBAM attention block.

Every ReLU is its own non-inplace module, used once per forward pass: Grad-CAM backward hooks and
DeepLift-based SHAP are wrong with in-place or reused ReLUs (FIELD.md).
"""
from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

NUM_CLASSES = 2  # (normal, RA)

# Five blocks, eight 3×3 convolutions. This is the convolutional part of VGG's configuration "A"
# (VGG-11 = these 8 convolutions + 3 fully connected layers); the published "VGG8" names the eight
# convolutional layers and narrows the classifier from 4096 to 512 units.
VGG8_BLOCKS: tuple[tuple[int, ...], ...] = ((64,), (128,), (256, 256), (512, 512), (512, 512))


class VGG8(nn.Module):
    """VGG8 as published.

    ``features.block1 .. block5``: each block holds ``conv{i}`` (3×3, padding 1) + ``relu{i}``
    pairs and ends with ``pool`` (2×2 max, stride 2). ``avgpool`` fixes the map at 7×7 (identity at
    224×224 input), then ``classifier``: ``fc1`` 25,088→512, ``relu1``, ``drop1`` (0.5), ``fc2``
    512→512, ``relu2``, ``drop2`` (0.5), ``fc3`` 512→2. Logits out; softmax at inference.

    Grad-CAM target layer: ``features.block5.relu2`` (last conv, after ReLU, 14×14 at 224 input).
    Penultimate features: ``classifier.relu2`` (512-d).
    """

    def __init__(self, num_classes: int = NUM_CLASSES, dropout: float = 0.5, initialise: bool = True) -> None:
        super().__init__()
        blocks = OrderedDict()
        in_ch = 3
        for b, widths in enumerate(VGG8_BLOCKS, start=1):
            layers = OrderedDict()
            for i, out_ch in enumerate(widths, start=1):
                layers[f"conv{i}"] = nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1)
                layers[f"relu{i}"] = nn.ReLU(inplace=False)
                in_ch = out_ch
            layers["pool"] = nn.MaxPool2d(kernel_size=2, stride=2)
            blocks[f"block{b}"] = nn.Sequential(layers)
        self.features = nn.Sequential(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d((7, 7))
        self.classifier = nn.Sequential(
            OrderedDict(
                fc1=nn.Linear(512 * 7 * 7, 512),
                relu1=nn.ReLU(inplace=False),
                drop1=nn.Dropout(dropout),
                fc2=nn.Linear(512, 512),
                relu2=nn.ReLU(inplace=False),
                drop2=nn.Dropout(dropout),
                fc3=nn.Linear(512, num_classes),
            )
        )
        if initialise:  # not when built empty for loaded weights (normal_ on meta tensors imports dynamo)
            self._init_weights()

    def _init_weights(self) -> None:
        # torchvision's VGG initialisation (Kaiming for convs, small normal for linear layers).
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, 0, 0.01)
                nn.init.zeros_(m.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Penultimate 512-d features (output of ``classifier.relu2``)."""
        h = torch.flatten(self.avgpool(self.features(x)), 1)
        for name, layer in self.classifier.named_children():
            h = layer(h)
            if name == "relu2":
                return h
        raise AssertionError("classifier has no relu2")  # pragma: no cover

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(torch.flatten(self.avgpool(self.features(x)), 1))


class CBAM(nn.Module):
    """Convolutional Block Attention Module (Woo et al. 2018): channel then spatial attention.

    Channel: a shared MLP (1×1 convs, reduction ``r``) on the average- and max-pooled descriptors,
    summed, sigmoid. Spatial: 7×7 conv on [mean over channels, max over channels], sigmoid.
    The MLP's ReLU is duplicated (``relu_avg``/``relu_max``) so no ReLU module runs twice.
    """

    def __init__(self, channels: int, reduction: int = 16, spatial_kernel: int = 7) -> None:
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp_in = nn.Conv2d(channels, hidden, kernel_size=1, bias=False)
        self.relu_avg = nn.ReLU(inplace=False)
        self.relu_max = nn.ReLU(inplace=False)
        self.mlp_out = nn.Conv2d(hidden, channels, kernel_size=1, bias=False)
        self.spatial = nn.Conv2d(2, 1, kernel_size=spatial_kernel, padding=spatial_kernel // 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = torch.mean(x, dim=(2, 3), keepdim=True)
        mx = torch.amax(x, dim=(2, 3), keepdim=True)
        channel = torch.sigmoid(
            self.mlp_out(self.relu_avg(self.mlp_in(avg))) + self.mlp_out(self.relu_max(self.mlp_in(mx)))
        )
        x = x * channel
        desc = torch.cat([torch.mean(x, dim=1, keepdim=True), torch.amax(x, dim=1, keepdim=True)], dim=1)
        return x * torch.sigmoid(self.spatial(desc))


class DenseNetCBAM(nn.Module):
    """torchvision DenseNet features + ReLU + CBAM + global average pool + 2-way linear.

    ``attention=False`` puts an identity where the CBAM block was (the ablation): same layer names,
    so Grad-CAM and the OOD check read the same places.

    torchvision's own forward uses ``F.relu(inplace=True)``; this forward uses the ``relu`` module
    instead, and every ReLU inside ``features`` is switched to ``inplace=False``.

    Grad-CAM target layer: ``attention`` (attended final feature map, 7×7 at 224 input).
    Penultimate features: ``pool`` (pooled attended features, 1024-d for 121, 1664-d for 169).
    """

    def __init__(self, features: nn.Module, channels: int, num_classes: int = NUM_CLASSES,
                 attention: bool = True) -> None:
        super().__init__()
        for m in features.modules():
            if isinstance(m, nn.ReLU):
                m.inplace = False
        self.features = features
        self.relu = nn.ReLU(inplace=False)
        self.attention = CBAM(channels) if attention else nn.Identity()
        self.pool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Linear(channels, num_classes)
        nn.init.zeros_(self.classifier.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled attended features (N, channels)."""
        return torch.flatten(self.pool(self.attention(self.relu(self.features(x)))), 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.embed(x))


def build_densenet(depth: int, attention: bool = True) -> DenseNetCBAM:
    """DenseNet121/169 with random weights (``weights=None``: no download, ever)."""
    # Imported here only: the small CPU installer ships without torchvision.
    import torchvision

    if depth == 121:
        net = torchvision.models.densenet121(weights=None)
    elif depth == 169:
        net = torchvision.models.densenet169(weights=None)
    else:
        raise ValueError(f"unsupported DenseNet depth {depth}")
    # memory_efficient checkpointing re-runs layers in backward and confuses hooks: keep it off.
    for m in net.features.modules():
        if hasattr(m, "memory_efficient"):
            m.memory_efficient = False
    return DenseNetCBAM(net.features, net.classifier.in_features, attention=attention)
