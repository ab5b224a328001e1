"""Synthetic phantom generator: determinism, laterality, lesion ground truth, output layout."""
from __future__ import annotations


import numpy as np
import pytest

from ra_desktop.phantom import JOINT_NAMES, RA_JOINTS, case_rng, generate_case, joint_regions
from ra_desktop.phantom.lesions import CMC_JOINTS, GT_JOINT_NAMES

SIZE = 500  # small images keep every test well under a few seconds


def _case(seed, label="RA", sev=2, side="R"):
    return generate_case(case_rng(seed, 0), label, sev, side, SIZE, seed_info=[seed, 0])


def test_deterministic_per_seed_and_seed_sensitive():
    a, b, c = _case(7), _case(7), _case(8)
    assert a.image.dtype == np.uint16 and a.image.shape == (SIZE, int(SIZE * 0.8))
    assert np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert a.ground_truth == b.ground_truth
    assert not np.array_equal(a.image, c.image)
    assert a.image.max() <= 4095  # 12-bit values


def test_bone_bright_background_dark():
    case = _case(3, "Normal", 0)
    gt_img, gt = case.image.astype(float), case.ground_truth
    cx, cy = gt["joints"]["MCP3"]["center"]
    # The metacarpal head just proximal to the MCP3 joint is far brighter than air (top corner).
    r = gt["joints"]["MCP3"]["radius_px"]
    head = gt_img[int(cy + 0.5 * r), int(cx)]
    air = np.median(gt_img[:10, :10])
    assert head > air + 1000


def test_left_is_mirror_of_right_thumb_side():
    for seed in (1, 2, 3):
        r = _case(seed, "Normal", 0, "R").ground_truth["joints"]
        l_ = _case(seed, "Normal", 0, "L").ground_truth["joints"]
        # PA view: right thumb on the image's left (smaller x) than the little finger; left mirrored.
        assert r["MCP1"]["center"][0] < r["MCP5"]["center"][0]
        assert l_["MCP1"]["center"][0] > l_["MCP5"]["center"][0]
        # Radius (radiocarpal region) on the thumb side, ulnar styloid on the little-finger side.
        assert r["radiocarpal"]["center"][0] < r["ulnar_styloid"]["center"][0]
        assert l_["radiocarpal"]["center"][0] > l_["ulnar_styloid"]["center"][0]


def test_normal_has_no_ra_lesions():
    for seed in range(4):
        case = _case(100 + seed, "Normal", 0)
        gt = case.ground_truth
        assert gt["label"] == "Normal" and gt["severity"] == 0
        assert all(j["severity"] == 0 and j["lesions"] == [] for j in gt["joints"].values())
        assert case.mask.max() == 0


def test_ra_lesions_only_in_ra_joints_and_mask_near_centres():
    for seed, sev in ((11, 1), (12, 2), (13, 3)):
        case = _case(seed, "RA", sev)
        gt = case.ground_truth
        assert gt["label"] == "RA" and gt["severity"] == sev
        sevs = {k: v["severity"] for k, v in gt["joints"].items()}
        assert all(sevs[d] == 0 for d in ("DIP2", "DIP3", "DIP4", "DIP5"))
        involved = [k for k, s in sevs.items() if s >= 1]
        assert all(k in RA_JOINTS or k in CMC_JOINTS for k in involved)
        assert len([k for k in involved if k[:3] in ("MCP", "PIP") or k == "IP1"]) >= 4
        assert max(sevs.values()) >= sev
        # Every mask pixel carries a lesioned joint's value and lies within its region radius.
        ys, xs = np.nonzero(case.mask)
        assert len(ys) > 0
        vals = case.mask[ys, xs]
        for v in np.unique(vals):
            name = GT_JOINT_NAMES[v - 1]
            j = gt["joints"][name]
            assert j["severity"] >= 1
            sel = vals == v
            d = np.hypot(xs[sel] - j["center"][0], ys[sel] - j["center"][1])
            assert d.max() <= j["radius_px"] * 1.2 + 2, name


def test_severity_one_changes_the_joints():
    """Severity 1 is subtle but real: swelling + osteopenia + narrowing at several joints."""
    case = _case(21, "RA", 1)
    les = [j["lesions"] for j in case.ground_truth["joints"].values() if j["severity"] >= 1]
    assert len(les) >= 4
    for kinds in les:
        assert {"soft_tissue_swelling", "periarticular_osteopenia", "joint_space_narrowing"} <= set(kinds)


def test_joint_regions_names():
    assert joint_regions() == JOINT_NAMES
    assert set(JOINT_NAMES) == {*(f"MCP{i}" for i in range(1, 6)), *(f"PIP{i}" for i in range(2, 6)),
                                "IP1", *(f"DIP{i}" for i in range(2, 6)), "radiocarpal",
                                "intercarpal", "ulnar_styloid"}
    gt = _case(5).ground_truth
    assert set(gt["joints"]) == set(JOINT_NAMES) | set(CMC_JOINTS)
    assert gt["joint_names"] == list(GT_JOINT_NAMES) and GT_JOINT_NAMES[:len(JOINT_NAMES)] == JOINT_NAMES
    for j in gt["joints"].values():
        assert len(j["center"]) == 2 and j["radius_px"] > 0


def test_invalid_arguments():
    with pytest.raises(ValueError):
        generate_case(1, "OA", 1, "R", SIZE)
    with pytest.raises(ValueError):
        generate_case(1, "RA", 1, "X", SIZE)


def test_twins_differ_only_by_the_lesions():
    from ra_desktop.phantom import generate_twins

    ra, twin = generate_twins(case_rng(11, 0), 2, "R", SIZE)
    assert ra.ground_truth["label"] == "RA" and twin.ground_truth["label"] == "Normal"
    assert not twin.mask.any() and ra.mask.any()
    # Same hand and acquisition: identical joints where the RA plan left a joint healthy ...
    healthy = [j for j, v in ra.ground_truth["joints"].items() if v["severity"] == 0 and j.startswith("DIP")]
    assert healthy and ra.ground_truth["acquisition"] == twin.ground_truth["acquisition"]
    assert ra.ground_truth["other_findings"] == twin.ground_truth["other_findings"]
    # ... and the same pixels far from the lesions (the forearm shaft and the air beside it).
    h = ra.image.shape[0]
    far = (slice(int(0.93 * h), h), slice(None))
    diff = np.abs(ra.image[far].astype(int) - twin.image[far].astype(int))
    assert np.median(diff) == 0
    # The lesions themselves change the image.
    inside = ra.mask > 0
    assert np.abs(ra.image[inside].astype(int) - twin.image[inside].astype(int)).mean() > 50


def test_generate_case_anatomy_does_not_depend_on_the_label():
    # Disease and anatomy draw from separate streams: same seed, different label -> same hand size.
    a = _case(21, "RA", 2).ground_truth
    b = _case(21, "Normal", 0).ground_truth
    assert a["hand_scale"] == b["hand_scale"] and a["acquisition"] == b["acquisition"]


def test_carpal_collapse_narrows_the_cmc_joints_recorded_with_the_wrist():
    """Intercarpal narrowing moves the metacarpal bases onto the distal carpal row, so the ground
    truth marks CMC1-5 (narrowed or shifted by 1-2 mm) with the intercarpal severity; a healthy
    wrist leaves them at 0."""
    from ra_desktop.phantom.anatomy import Frame, build_hand
    from ra_desktop.phantom.lesions import JointLesion, _joint_lesion, sample_plan

    plan = sample_plan(np.random.default_rng(0), "Normal", 0)
    sick = sample_plan(np.random.default_rng(0), "Normal", 0)
    sick.joints["intercarpal"] = _joint_lesion(np.random.default_rng(1), "intercarpal", 2)
    assert isinstance(plan.joints["intercarpal"], JointLesion) and sick.joints["intercarpal"].narrowing > 0
    carpal = {1: "trapezium", 2: "trapezoid", 3: "capitate", 4: "hamate", 5: "hamate"}

    def offsets(p):  # metacarpal base relative to its distal-row carpal bone (mm)
        m = build_hand(np.random.default_rng(7), p, Frame(1.0, 0.0, False))
        bones = {b.name: b for b in m.bones}
        return np.array([bones[f"MC{r}"].p0 - bones[carpal[r]].centre for r in range(1, 6)])

    moved = np.hypot(*(offsets(sick) - offsets(plan)).T)
    assert np.all(moved > 0.8), moved  # mm: every CMC joint is narrowed or shifted
    diseased = 0
    for seed, sev in ((12, 2), (13, 3), (14, 2), (15, 3)):
        gt = _case(seed, "RA", sev).ground_truth
        ic = gt["joints"]["intercarpal"]["severity"]
        assert all(gt["joints"][c]["severity"] == ic for c in CMC_JOINTS)
        if ic:
            diseased += 1
            assert all(gt["joints"][c]["lesions"] == ["carpal_collapse"] for c in CMC_JOINTS)
    assert diseased >= 2  # the rule was exercised on diseased wrists, not only healthy ones
    normal = _case(5, "Normal").ground_truth
    assert all(normal["joints"][c]["severity"] == 0 for c in CMC_JOINTS)


def test_spare_wrist_keeps_the_fingers_and_heals_the_wrist():
    from ra_desktop.phantom.lesions import WRIST_JOINTS

    for seed in (3, 4, 5):
        standard = _case(seed, sev=3)
        spared = generate_case(case_rng(seed, 0), "RA", 3, "R", SIZE, seed_info=[seed, 0], spare_wrist=True)
        before, after = standard.ground_truth["joints"], spared.ground_truth["joints"]
        assert any(before[j]["severity"] > 0 for j in WRIST_JOINTS)  # severity >= 2 always has one
        for j in (*WRIST_JOINTS, *CMC_JOINTS):  # CMC narrowing follows the intercarpal joint
            assert after[j]["severity"] == 0 and after[j]["lesions"] == []
        fingers = [j for j in RA_JOINTS if j not in WRIST_JOINTS]
        # The same finger disease (its joints sit slightly elsewhere: carpal collapse moves the rays)
        assert [(after[j]["severity"], after[j]["lesions"]) for j in fingers] == \
            [(before[j]["severity"], before[j]["lesions"]) for j in fingers]
        assert any(after[j]["severity"] > 0 for j in fingers) and spared.ground_truth["label"] == "RA"


def test_wrist_spared_twins_differ_in_the_finger_joints_only():
    from ra_desktop.phantom import generate_twins
    from ra_desktop.phantom.lesions import WRIST_JOINTS

    ra, twin = generate_twins(case_rng(6, 0), 2, "R", SIZE, spare_wrist=True)
    joints = ra.ground_truth["joints"]
    assert all(joints[j]["severity"] == 0 for j in (*WRIST_JOINTS, *CMC_JOINTS))
    sick = [j for j in RA_JOINTS if joints[j]["severity"] > 0]
    assert sick and ra.ground_truth["label"] == "RA" and twin.ground_truth["label"] == "Normal"
    yy, xx = np.mgrid[: ra.image.shape[0], : ra.image.shape[1]]
    near = np.zeros(ra.image.shape, bool)
    for j in sick:  # swelling and osteopenia reach past the joint disc: allow twice its radius
        (cx, cy), r = joints[j]["center"], joints[j]["radius_px"]
        near |= (xx - cx) ** 2 + (yy - cy) ** 2 <= (2 * r) ** 2
    for j in WRIST_JOINTS:  # the healthy wrist is the same pixels in both
        (cx, cy), r = joints[j]["center"], joints[j]["radius_px"]
        disc = ((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r) & ~near
        assert disc.any() and np.array_equal(ra.image[disc], twin.image[disc])
    assert not np.array_equal(ra.image[near], twin.image[near])
