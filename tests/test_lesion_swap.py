"""Lesion swap: twin pairs are found by patient, the blend is decided only inside the joint regions."""
from __future__ import annotations

import numpy as np
import pytest

from ra_desktop.phantom import generate_dataset
from ra_desktop.preprocess import PreprocessConfig
from ra_desktop.train import lesion_swap
from ra_desktop.train.cache import build_cache
from ra_desktop.io.dataset import discover


@pytest.fixture(scope="module")
def twins_cache(tmp_path_factory):
    root = tmp_path_factory.mktemp("twins")
    generate_dataset(root, 4, 7, size=400, workers=1, progress=False, twins=True, severity_range=(2, 2))
    ds = discover(root)
    return build_cache(ds.samples, PreprocessConfig())


def test_pairs_join_twins_of_one_patient(twins_cache):
    pairs = lesion_swap.find_pairs(twins_cache.samples, twins_cache.units[0].shape)
    assert len(pairs) == 4 and len({id(p) for p in pairs.values()}) == 2
    for i, p in pairs.items():
        s_ra, s_n = twins_cache.samples[p.ra], twins_cache.samples[p.normal]
        assert s_ra.label == 1 and s_n.label == 0 and s_ra.patient_id == s_n.patient_id
        assert i in (p.ra, p.normal)
        assert p.mask.shape == twins_cache.units[0].shape and 0.01 < p.mask.mean() < 0.5


def test_swap_changes_only_the_joint_regions_and_labels_by_them(twins_cache):
    pair = next(iter(lesion_swap.find_pairs(twins_cache.samples, twins_cache.units[0].shape).values()))
    units = twins_cache.units
    outside = pair.mask == 0
    labels = set()
    for seed in range(8):
        img, label, _ = lesion_swap.swap(units, pair, np.random.default_rng(seed))
        labels.add(label)
        # Outside the regions the image is the other member: the label is not readable there.
        donor = units[pair.normal] if label == 1 else units[pair.ra]
        assert np.array_equal(img[outside], donor[outside])
        # Inside, it is the member that gives the label.
        core = pair.mask == 1
        assert np.allclose(img[core], (units[pair.ra] if label == 1 else units[pair.normal])[core])
    assert labels == {0, 1}


def test_mean_background_is_the_same_for_both_labels(twins_cache):
    pair = next(iter(lesion_swap.find_pairs(twins_cache.samples, twins_cache.units[0].shape).values()))
    units = twins_cache.units
    outside, core = pair.mask == 0, pair.mask == 1
    mean = 0.5 * (units[pair.ra] + units[pair.normal])
    by_label = {}
    for seed in range(8):
        img, label, _ = lesion_swap.swap(units, pair, np.random.default_rng(seed), outside="mean")
        by_label[label] = img
        assert np.allclose(img[outside], mean[outside])  # nothing outside tells the labels apart
        assert np.allclose(img[core], (units[pair.ra] if label == 1 else units[pair.normal])[core])
        # Same draws as the default background: the label sequence does not depend on it.
        assert label == lesion_swap.swap(units, pair, np.random.default_rng(seed))[1]
    assert set(by_label) == {0, 1}
    assert np.array_equal(by_label[0][outside], by_label[1][outside])
    with pytest.raises(ValueError, match="outside"):
        lesion_swap.swap(units, pair, np.random.default_rng(0), outside="blur")


def test_joint_region_mask_covers_only_diseased_joints():
    gt = {"image_shape": [100, 80], "joints": {
        "MCP2": {"center": [20, 30], "radius_px": 5, "severity": 2},
        "DIP2": {"center": [60, 70], "radius_px": 5, "severity": 0}}}
    m = lesion_swap.joint_region_mask(gt, (100, 80))
    assert m[30, 20] > 0.99 and m[70, 60] == 0 and m[0, 0] == 0


def test_diseased_groups_put_the_wrist_in_one_region():
    gt = {"joints": {"MCP2": {"severity": 2}, "PIP3": {"severity": 1}, "DIP2": {"severity": 3},
                     "intercarpal": {"severity": 2}, "CMC3": {"severity": 1}, "radiocarpal": {"severity": 0}}}
    groups = lesion_swap.diseased_groups(gt)
    assert ("MCP2",) in groups and ("PIP3",) in groups and ("DIP2",) in groups
    assert ("intercarpal", "CMC3") in groups and len(groups) == 4


def test_subset_swap_pastes_part_of_the_regions_and_stays_ra(twins_cache):
    pair = next(iter(lesion_swap.find_pairs(twins_cache.samples, twins_cache.units[0].shape).values()))
    units = twins_cache.units
    assert len(pair.regions) >= 2
    partial = 0
    for seed in range(16):
        img, label, drawn = lesion_swap.swap(units, pair, np.random.default_rng(seed), subset_p=1.0)
        if label == 0:  # a normal swap heals every diseased region, subset or not
            assert np.array_equal(img, lesion_swap.swap(units, pair, np.random.default_rng(seed))[0])
            continue
        pasted = np.abs(img - units[pair.normal]) > 1e-6
        assert pasted.any()  # never an empty subset: an RA label needs disease somewhere
        assert not (pasted & (pair.mask == 0)).any()  # only inside the diseased regions
        assert not (pasted & (drawn == 0)).any()  # the returned mask is where the disease now is
        partial += int(not np.allclose(img, lesion_swap.swap(units, pair, np.random.default_rng(seed))[0]))
    assert partial >= 3  # most RA draws leave some diseased region healthy


def test_subset_mask_keeps_whole_regions():
    gt = {"image_shape": [100, 100], "joints": {
        "MCP2": {"center": [20, 20], "radius_px": 6, "severity": 2},
        "radiocarpal": {"center": [50, 80], "radius_px": 6, "severity": 2},
        "CMC2": {"center": [50, 60], "radius_px": 6, "severity": 1}}}
    pair = lesion_swap.TwinPair(0, 1, lesion_swap.joint_region_mask(gt, (100, 100)), gt,
                                lesion_swap.diseased_groups(gt))
    seen = set()
    for seed in range(20):
        m = lesion_swap.subset_mask(pair, (100, 100), np.random.default_rng(seed))
        mcp, wrist = m[20, 20] > 0.99, m[80, 50] > 0.99
        assert (m[60, 50] > 0.99) == wrist  # the radiocarpal and CMC discs go together, as the wrist
        seen.add((mcp, wrist))
    assert seen == {(True, False), (False, True), (True, True)}
