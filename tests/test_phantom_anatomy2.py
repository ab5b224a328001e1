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
    # Same draws: joint centres, lesions, the lesion mask and the MC radiogrammetry are unchanged.
    assert g1["joints"] == g2["joints"]
    assert np.array_equal(one.mask, two.mask)
    assert g1["radiogrammetry"] == g2["radiogrammetry"]
    assert g1["acquisition"] == g2["acquisition"]
    # The fingers are drawn identically; only the wrist differs.
    sp = g1["pixel_spacing_mm"][0]
    mcp3 = g1["joints"]["MCP3"]["center"]
    rows = slice(0, int(mcp3[1] - 25 / sp))
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
