"""Anatomy 2 (phantom.carpus): opt-in, the default pixels never change, the truth stays right."""
import hashlib

import numpy as np
import pytest

from ra_desktop.phantom.carpus import Outline, polygon_sdf, smooth_closed
from ra_desktop.phantom.generate import generate_case, generate_twins


def _sha(a) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def test_default_pixels_are_those_made_before_anatomy_2():
    # Hashes computed on the code before phantom.carpus existed (commit c49a152).
    case = generate_case(5, size=400)
    assert _sha(case.image) == "80e0701b55e7aeca7461b8656abb50d2e19b48e7d4340b6d8ca5e6f86f777e53"
    assert _sha(case.mask) == "5822a57ed924d83e1a9a49cb316bfc9a407a4d7399365213961a214f7d630649"
    assert _sha(generate_case(5, size=400, anatomy=1).image) == _sha(case.image)
    ra, healthy = generate_twins(8, 3, "L", size=300)
    assert _sha(ra.image.tobytes() + healthy.image.tobytes()) == (
        "ac2873db629abfb5999f84aee5253a4752c3f5e678f66d0324189b3e24c49324")
    assert _sha(generate_case(7, "RA", 3, size=300, joint_spaces=True).image) == (
        "04e8cbcaa07ee4b7773c3d705075e7c522e2ae49b31736867203c15964780405")


@pytest.mark.parametrize("side", ["R", "L"])
def test_anatomy_2_keeps_the_truth_of_the_same_hand(side):
    one = generate_case(21, "RA", 3, side, 500, force_findings=("dip_oa",))
    two = generate_case(21, "RA", 3, side, 500, force_findings=("dip_oa",), anatomy=2)
    assert not np.array_equal(one.image, two.image)
    g1, g2 = one.ground_truth, two.ground_truth
    assert g2["anatomy"] == 2 and "anatomy" not in g1
    # Same draws: lesions, joint centres (but the radiocarpal and ulnar styloid, which follow the
    # forearm, moved back by carpus.FOREARM_SHIFT), the MC radiogrammetry and the acquisition.
    moved = {"radiocarpal", "ulnar_styloid"}
    assert {k: v for k, v in g1["joints"].items() if k not in moved} == (
        {k: v for k, v in g2["joints"].items() if k not in moved})
    sp = g1["pixel_spacing_mm"][0]
    for k in moved:
        shift = np.subtract(g2["joints"][k]["center"], g1["joints"][k]["center"]) * sp
        assert np.hypot(*shift) == pytest.approx(2.2 * g1["hand_scale"], abs=0.02)
        assert g1["joints"][k]["lesions"] == g2["joints"][k]["lesions"]
    assert g1["radiogrammetry"] == g2["radiogrammetry"]
    assert g1["acquisition"] == g2["acquisition"]
    # The fingers (and their part of the lesion mask) are the same; only the wrist differs.
    mcp3 = g1["joints"]["MCP3"]["center"]
    rows = slice(0, int(mcp3[1] - 25 / sp))
    assert np.array_equal(one.mask[rows], two.mask[rows])
    assert np.abs(one.image[rows].astype(int) - two.image[rows].astype(int)).mean() < 60
    assert g1["svdh"].keys() == g2["svdh"].keys()  # carpal bites graded against the drawn outlines


def test_anatomy_2_carpal_bones_and_bites():
    case = generate_case(33, "RA", 3, "R", 400, anatomy=2)
    assert case.image.dtype == np.uint16 and case.image.max() <= 4095
    ra, healthy = generate_twins(33, 3, "R", size=300, anatomy=2)
    assert ra.ground_truth["joints"].keys() == healthy.ground_truth["joints"].keys()
    with pytest.raises(ValueError):
        generate_case(33, size=300, anatomy=3)


def test_polygon_sdf_is_a_signed_distance():
    square = np.array([(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 10.0)])
    xs = np.array([[5.0, 12.0, 1.0]], np.float32)
    ys = np.array([[5.0]], np.float32)
    assert np.allclose(polygon_sdf(square, xs, ys), [[-5.0, 2.0, -1.0]], atol=1e-5)
    assert len(smooth_closed(square)) == 16
    assert {"a", "b", "centre"} <= set(Outline.__dataclass_fields__)  # what _svdh_bites reads


def test_anatomy_2_wrist_bites_touch_the_drawn_bone():
    """Radiocarpal bites (no jitter) lie on the bone they are graded against; carpal bones are
    outlines whose size (a, b) is what the SvdH truth divides by."""
    from ra_desktop.phantom.anatomy import Frame, build_hand
    from ra_desktop.phantom.generate import _svdh_bites
    from ra_desktop.phantom.lesions import Erosion, sample_plan
    from ra_desktop.phantom.render import tapered_sdf

    for seed in range(4):
        plan = sample_plan(np.random.default_rng(seed), "RA", 3)
        plan.joints["radiocarpal"].erosions = [Erosion("proximal", -1, 1.5) for _ in range(3)]
        model = build_hand(np.random.default_rng(seed), plan, Frame(1.0, 0.0, seed % 2 == 1), anatomy=2)
        bones = {b.name: b for b in model.bones}
        assert all(isinstance(bones[n], Outline) for n in ("scaphoid", "lunate", "capitate", "hamate"))
        bites = [b for b in _svdh_bites(plan, model) if b["joint"] == "radiocarpal"]
        sites = [s for s in model.erosions if s.joint == "radiocarpal"]
        for bite, site in zip(bites, sites):
            bone = bones[bite["bone"]]
            x, y = np.array([[site.centre[0]]], np.float32), np.array([[site.centre[1]]], np.float32)
            sdf = polygon_sdf(bone.pts, x, y) if isinstance(bone, Outline) else tapered_sdf(bone, x, y)[0]
            assert float(sdf.ravel()[0]) < site.radius, (seed, bite)
            assert 0.05 < bite["share"] < 1.0
