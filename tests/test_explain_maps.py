"""Grad-CAM and SHAP: correct values, scoped side effects, cancellation, DenseNet in-place ReLU."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from torch import nn

from ra_desktop.cancel import CancelToken
from ra_desktop.errors import Cancelled
from ra_desktop.explain import explain_case, grad_cam, shap_map, shap_regions
from ra_desktop.explain import _head
from ra_desktop.explain.shap import log_odds, region_grid, shapley_permutation


class SmallNet(nn.Module):
    """A small VGG-like net: conv stack (in-place ReLU on purpose), pool, two linear layers."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(inplace=True), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2),
        )
        self.pool = nn.AdaptiveAvgPool2d(4)
        self.fc1 = nn.Linear(16 * 16, 12)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(12, 2)

    def forward(self, x):
        return self.fc2(self.relu(self.fc1(torch.flatten(self.pool(self.features(x)), 1))))


@pytest.fixture
def net():
    torch.manual_seed(0)
    return SmallNet()


@pytest.fixture
def x():
    return np.random.default_rng(1).standard_normal((3, 32, 32)).astype(np.float32)


def snapshot(module: nn.Module):
    hooks = [(n, dict(m._forward_hooks), dict(m._forward_pre_hooks), dict(m._backward_hooks))
             for n, m in module.named_modules()]
    return ({k: v.clone() for k, v in module.state_dict().items()}, hooks,
            [(n, m.training) for n, m in module.named_modules()],
            [p.requires_grad for p in module.parameters()],
            [m.inplace for m in module.modules() if isinstance(m, nn.ReLU)])


def assert_same(before, after):
    sd0, hooks0, train0, grad0, inplace0 = before
    sd1, hooks1, train1, grad1, inplace1 = after
    assert sd0.keys() == sd1.keys() and all(torch.equal(sd0[k], sd1[k]) for k in sd0)
    assert hooks0 == hooks1
    assert train0 == train1 and grad0 == grad1 and inplace0 == inplace1


@pytest.mark.parametrize("training", [True, False])
def test_model_untouched_by_explanations(net, x, training):
    net.train(training)
    net.fc2.weight.requires_grad_(False)  # a mixed pattern must come back exactly
    before = snapshot(net)
    grad_cam(net, x, "features.5")
    shap_regions(net, x, n_permutations=4)
    assert_same(before, snapshot(net))


def test_model_untouched_when_cancelled_midway(net, x):
    before = snapshot(net)
    token = CancelToken()
    calls = []

    def cancel_later(masks):
        calls.append(1)
        token.cancel()
        return np.zeros(len(masks))

    with pytest.raises(Cancelled):
        shapley_permutation(cancel_later, 5, 8, cancel=token)
    token2 = CancelToken()
    token2.cancel()
    with pytest.raises(Cancelled):
        grad_cam(net, x, "features.5", cancel=token2)
    with pytest.raises(Cancelled):
        shap_map(net, x, cancel=token2)
    assert_same(before, snapshot(net))


def test_grad_cam_matches_captum_layer_gradcam(net, x):
    from captum.attr import LayerAttribution, LayerGradCam

    net.eval()
    ours = grad_cam(net, x, "features.4")  # the conv: captum hooks its output directly
    xt = torch.from_numpy(x)[None]
    ref = LayerGradCam(net, net.features[4]).attribute(xt, target=1, relu_attributions=True)
    ref = LayerAttribution.interpolate(ref, (32, 32), interpolate_mode="bilinear")[0, 0].detach().numpy()
    ref = ref / ref.max()
    assert ours.shape == (32, 32) and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, atol=1e-5)


def test_grad_cam_on_densenet121_with_inplace_relu():
    from ra_desktop.model import build_model

    torch.manual_seed(0)
    model = build_model("densenet121")
    # Put torchvision's in-place ReLUs back: Grad-CAM must cope with them (FIELD.md).
    for m in model.features.modules():
        if isinstance(m, nn.ReLU):
            m.inplace = True
    before = snapshot(model)
    xs = torch.randn(3, 64, 64)
    for layer in ("attention", "features.denseblock4"):
        cam = grad_cam(model, xs, layer)
        assert cam.shape == (64, 64) and np.isfinite(cam).all()
        assert 0.0 <= cam.min() and cam.max() <= 1.0
    values, cells, info = shap_regions(model, xs, n_permutations=4)
    assert info["layer"] == "attention" and info["fast_head"]
    assert math.isclose(values.sum(), info["f_all"] - info["f_none"], abs_tol=1e-4)
    assert_same(before, snapshot(model))


def exact_shapley(value, d):
    phi = np.zeros(d)
    for perm in itertools.permutations(range(d)):
        mask = np.zeros(d, bool)
        prev = value(mask[None])[0]
        for p in perm:
            mask[p] = True
            cur = value(mask[None])[0]
            phi[p] += cur - prev
            prev = cur
    return phi / math.factorial(d)


def test_permutation_sampling_converges_to_exact_shapley():
    rng = np.random.default_rng(0)
    w, inter = rng.standard_normal(4), rng.standard_normal((4, 4))

    def value(masks):  # additive part + pairwise interactions + one 3-way term
        m = masks.astype(float)
        return m @ w + np.einsum("bi,ij,bj->b", m, inter, m) + 2.0 * m[:, 0] * m[:, 1] * m[:, 2]

    exact = exact_shapley(value, 4)
    est = shapley_permutation(value, 4, 4000, seed=0)
    np.testing.assert_allclose(est, exact, atol=0.05)
    assert math.isclose(est.sum(), value(np.ones((1, 4), bool))[0] - value(np.zeros((1, 4), bool))[0], abs_tol=1e-9)


def test_shap_regions_exact_on_small_grid(net, x):
    net.eval()
    values, cells, info = shap_regions(net, x, "features.6", grid=2, n_permutations=400, baseline="zeros")
    assert cells.shape == (8, 8) and set(np.unique(cells)) == {0, 1, 2, 3}
    # Brute force on the same value function: mask the 8×8 map quadrant by quadrant.
    store = {}
    h = net.features[6].register_forward_hook(lambda m, i, o: store.setdefault("a", o.detach()))
    with torch.no_grad():
        net(torch.from_numpy(x)[None])
    h.remove()
    a = store["a"]
    onehot = torch.as_tensor(cells.ravel()[None, :] == np.arange(4)[:, None]).float()

    def value(masks):
        keep = (torch.as_tensor(masks).float() @ onehot).reshape(-1, 1, 8, 8)
        with torch.no_grad():
            return log_odds(net.fc2(net.relu(net.fc1(torch.flatten(net.pool(keep * a), 1))))).double().numpy()

    np.testing.assert_allclose(values, exact_shapley(value, 4), atol=2e-3)
    assert math.isclose(values.sum(), info["f_all"] - info["f_none"], abs_tol=1e-5)


def test_affine_shortcut_equals_general_head(net, x, monkeypatch):
    net.eval()
    fast, _, info = shap_regions(net, x, "features.6", grid=4, n_permutations=16, seed=3)
    assert info["shortcut"]  # pool -> flatten -> fc1 is affine
    monkeypatch.setattr("ra_desktop.explain.shap.affine_prefix", lambda *a: None)
    slow, _, info2 = shap_regions(net, x, "features.6", grid=4, n_permutations=16, seed=3)
    assert not info2["shortcut"]
    np.testing.assert_allclose(fast, slow, atol=1e-5)


@pytest.mark.parametrize("grid", [16, 5])  # one player per cell; players straddling pool windows
def test_window_shortcut_equals_general_head(net, x, monkeypatch, grid):
    # features.5 is the last conv's ReLU (16×16), then a 2×2 max-pool: tabulated per window.
    net.eval()
    fast, cells, info = shap_regions(net, x, "features.5", grid=grid, n_permutations=16, seed=3)
    assert info["shortcut"] and cells.shape == (16, 16) and len(fast) == grid * grid
    monkeypatch.setattr("ra_desktop.explain.shap._window_value", lambda *a: None)
    slow, _, info2 = shap_regions(net, x, "features.5", grid=grid, n_permutations=16, seed=3)
    assert not info2["shortcut"]
    np.testing.assert_allclose(fast, slow, atol=1e-5)
    assert math.isclose(fast.sum(), info["f_all"] - info["f_none"], abs_tol=1e-4)


def test_window_shortcut_when_a_convolution_follows_the_pool(net, x, monkeypatch):
    # features.2 (32×32) -> 2×2 max-pool -> conv: the tabulated sum is a feature map, not a vector
    # (it reached the next layer flattened and failed, e.g. VGG8's block4.relu2).
    net.eval()
    fast, cells, info = shap_regions(net, x, "features.2", grid=4, n_permutations=16, seed=3)
    assert info["shortcut"] and cells.shape == (32, 32)
    monkeypatch.setattr("ra_desktop.explain.shap._window_value", lambda *a: None)
    slow, _, info2 = shap_regions(net, x, "features.2", grid=4, n_permutations=16, seed=3)
    assert not info2["shortcut"]
    np.testing.assert_allclose(fast, slow, atol=1e-5)


def test_leading_max_pool_only_for_windows_that_tile_the_map(net):
    assert _head.leading_max_pool(net, "features.5") == ((2, 2), "features.6")
    assert _head.leading_max_pool(net, "features.6") is None  # head starts with an average pool
    overlapping = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU(), nn.MaxPool2d(3, stride=2), nn.Flatten(), nn.LazyLinear(2))
    assert _head.leading_max_pool(overlapping, "1") is None
    assert _head.leading_max_pool(net, "features.5", max_cells=3) is None  # 2×2 = 4 cells


def test_shap_reads_the_manifests_grad_cam_layer(net, x):
    from types import SimpleNamespace

    net.eval()
    loaded = SimpleNamespace(module=net, manifest={"gradcam_target_layer": "features.5"})
    _, cells, info = shap_regions(loaded, x, n_permutations=4)
    assert info["layer"] == "features.5" and cells.shape == (16, 16)
    _, _, bare = shap_regions(net, x, n_permutations=4)
    assert bare["layer"] == "pool"  # no manifest: the last spatial feature map
    _, _, explicit = shap_regions(loaded, x, "features.6", n_permutations=4)
    assert explicit["layer"] == "features.6"


def test_slow_head_fallback_equals_traced_head(net, x, monkeypatch):
    net.eval()
    a, _, _ = shap_regions(net, x, "features.6", grid=2, n_permutations=8)
    monkeypatch.setattr(_head, "fast_head", lambda *args: None)
    monkeypatch.setattr("ra_desktop.explain.shap.fast_head", lambda *args: None)
    b, _, info = shap_regions(net, x, "features.6", grid=2, n_permutations=8)
    assert not info["fast_head"]
    np.testing.assert_allclose(a, b, atol=1e-5)


def test_shap_deterministic_and_signed(net, x):
    net.eval()
    m1 = shap_map(net, x, seed=7, n_permutations=16)
    m2 = shap_map(net, x, seed=7, n_permutations=16)
    assert m1.shape == (32, 32) and m1.dtype == np.float32
    np.testing.assert_array_equal(m1, m2)
    # The sign, against an answer computed here from the logits alone: with the whole map as one
    # player, its Shapley value is the RA log-odds with the map minus without it (zeros), > 0
    # toward RA. Every pixel of the upsampled map carries that one value.
    xb = torch.from_numpy(x)[None]
    with torch.no_grad():
        full = net(xb)[0]
        hook = net.pool.register_forward_hook(lambda module, inputs, output: torch.zeros_like(output))
        try:
            without = net(xb)[0]
        finally:
            hook.remove()
    expected = float((full[1] - full[0]) - (without[1] - without[0]))
    assert abs(expected) > 0.01
    one = shap_map(net, x, "pool", grid=1, n_permutations=2, baseline="zeros")
    np.testing.assert_allclose(one, expected, rtol=1e-4, atol=1e-5)
    # Toward normal is the mirror image, and this net's map has evidence both ways.
    np.testing.assert_allclose(shap_map(net, x, seed=7, n_permutations=16, target=0), -m1, atol=1e-5)
    assert m1.min() < 0 < m1.max()


class RegionDetector(nn.Module):
    """RA logit = mean activation in the top-left quarter of the map; normal logit = 0."""

    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU())
        with torch.no_grad():
            self.features[0].weight.fill_(0.25)
            self.features[0].bias.fill_(0.0)

    def forward(self, x):
        f = self.features(x)
        ra = f[:, :, : f.shape[2] // 2, : f.shape[3] // 2].mean(dim=(1, 2, 3))
        return torch.stack([torch.zeros_like(ra), ra], dim=1)


def test_shap_puts_positive_evidence_where_the_model_reads_it():
    xs = np.ones((3, 16, 16), np.float32)
    m = shap_map(RegionDetector(), xs, "features", grid=4, n_permutations=8)
    assert m[:6, :6].min() > 0  # top-left quarter: toward RA
    assert np.abs(m[10:, 10:]).max() < 1e-6  # the rest carries nothing
    # (Grad-CAM cannot localise this: it averages gradients over space, and the activation is
    # uniform — so it is not asserted here.)


def test_region_grid_covers_every_cell():
    g = region_grid(14, 14, 7)
    assert g.shape == (14, 14) and np.bincount(g.ravel()).tolist() == [4] * 49


def test_explain_case_maps_back_to_image(net):
    from ra_desktop.preprocess import PreprocessConfig, prepare

    torch.manual_seed(0)
    unit = np.random.default_rng(0).random((300, 240)).astype(np.float32)
    xx, geometry = prepare(unit, PreprocessConfig(mode="resize_crop"))
    for method, signed in (("gradcam", False), ("shap", True)):
        heatmap, regions = explain_case(_WithManifest(net), xx, geometry, method)
        assert heatmap.values.shape == (300, 240) and heatmap.signed is signed
        seen = geometry.seen_mask()
        assert np.isnan(heatmap.values[~seen]).all() and np.isfinite(heatmap.values[seen]).all()
        assert len(regions) <= 3 and all(r.name.startswith("row ") for r in regions)


class _WithManifest:
    """A stand-in LoadedModel: the module plus a manifest naming the Grad-CAM layer."""

    def __init__(self, module):
        self.module = module
        self.manifest = {"gradcam_target_layer": "features.5"}
