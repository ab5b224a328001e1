"""Phantom truth in Sharp/van der Heijde terms: the generator's "svdh" ground-truth entry, its
mapping from the lesion plan, and :func:`ra_desktop.scoring.truth.truth_scores`."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from ra_desktop.phantom import case_rng, generate_case, generate_twins
from ra_desktop.phantom.lesions import (SVDH_EROSION_SITES, SVDH_JSN_SITES, Erosion, JointLesion, bite_grade,
                                        jsn_grade)
from ra_desktop.scoring.svdh import EROSION, JSN, NOT_ASSESSABLE, hand_areas
from ra_desktop.scoring.truth import TruthUnavailable, truth_scores

DEMO_GT = sorted((Path(__file__).resolve().parents[1] / "resources" / "demo" / "ground_truth").glob("*[0-9].json"))
SIZE = 400

# Computed with the generator as committed before the "svdh" key was added (commit 09315c0,
# `git archive` of ra_desktop/ run on its own): sha256 (first 16 hex digits) of the image bytes +
# shape, of the mask, and of the ground truth JSON (sorted keys) restricted to the keys it had
# then (other keys may be added beside "svdh"; none of these may change).
KEYS_BEFORE = ("synthetic", "generator", "label", "severity", "laterality", "view", "pixel_spacing_mm",
               "image_shape", "bits_stored", "max_value", "seed", "joints", "other_findings", "mask_encoding",
               "joint_names", "acquisition", "hand_scale", "rotation_deg")
BEFORE = {
    "ra3R": ("dbb76a62c77b62e3", "cbb000508f6cea56", "97e41218edaa5f24"),
    "ra2L": ("8867927fcf920ad9", "fac381d0eacb087a", "db6f1c04c85495e2"),
    "ra1R": ("45df5888ab47f967", "46dd057f4a181e3b", "71cd86962a6114e1"),
    "normal": ("9d015b717e7e5088", "eec19bc6af0b3b6d", "67fa6ff27e30aa4b"),
    "spared": ("0f0d7b2d2aad44ba", "fcc2a7d59c11840b", "a34e36263317f8f7"),
    "twinRA": ("33298aaa8547daf8", "ad225a0f6b8b00e9", "0114eadd5c223395"),
    "twin": ("0d85a2772c4daf9e", "eec19bc6af0b3b6d", "4e36fc1acbdc134c"),
}


def _cases() -> dict:
    ra, twin = generate_twins(case_rng(16, 0), 3, "L", SIZE)
    return {
        "ra3R": generate_case(case_rng(11, 0), "RA", 3, "R", SIZE, seed_info=[11, 0]),
        "ra2L": generate_case(case_rng(12, 0), "RA", 2, "L", SIZE, seed_info=[12, 0]),
        "ra1R": generate_case(case_rng(13, 0), "RA", 1, "R", SIZE, seed_info=[13, 0]),
        "normal": generate_case(case_rng(14, 0), "Normal", 0, "L", SIZE, seed_info=[14, 0],
                                force_findings=("dip_oa", "fracture")),
        "spared": generate_case(case_rng(15, 0), "RA", 3, "R", SIZE, seed_info=[15, 0], spare_wrist=True),
        "twinRA": ra, "twin": twin,
    }


def _digest(case) -> tuple[str, str, str]:
    h = hashlib.sha256()
    h.update(case.image.tobytes())
    h.update(str(case.image.shape).encode())
    gt = {k: case.ground_truth[k] for k in KEYS_BEFORE}
    return (h.hexdigest()[:16], hashlib.sha256(case.mask.tobytes()).hexdigest()[:16],
            hashlib.sha256(json.dumps(gt, sort_keys=True).encode()).hexdigest()[:16])


@pytest.fixture(scope="module")
def cases():
    return _cases()


def test_svdh_key_added_without_changing_a_pixel_or_another_key(cases):
    for name, case in cases.items():
        assert _digest(case) == BEFORE[name], name
        keys = list(case.ground_truth)
        assert keys[: len(KEYS_BEFORE)] == list(KEYS_BEFORE) and "svdh" in keys  # added after them


def _joint_has(gt, joint, lesion):
    return lesion in gt["joints"][joint]["lesions"]


def test_truth_follows_the_recorded_lesions(cases):
    """Grades agree with the per-joint lesions the ground truth already recorded."""
    for name, case in cases.items():
        gt, sv = case.ground_truth, case.ground_truth["svdh"]
        assert sv["hand"] == gt["laterality"]
        assert list(sv["erosion"]) == list(SVDH_EROSION_SITES)
        assert set(sv["jsn"]).isdisjoint(sv["not_defined"]["jsn"])
        assert set(sv["jsn"]) | set(sv["not_defined"]["jsn"]) == set(SVDH_JSN_SITES)
        assert sv["not_defined"]["erosion"] == [] and sv["erosion"]["CMC1"] == 0  # never drawn
        for j in ("MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "IP1", "PIP2", "PIP3", "PIP4", "PIP5"):
            assert (sv["erosion"][j] > 0) == _joint_has(gt, j, "erosion"), (name, j)
        for j in ("MCP1", "MCP2", "MCP3", "MCP4", "MCP5", "PIP2", "PIP3", "PIP4", "PIP5"):
            assert (sv["jsn"][j] > 0) == _joint_has(gt, j, "joint_space_narrowing"), (name, j)
            if _joint_has(gt, j, "subluxation"):
                assert sv["jsn"][j] >= 3
        ic = gt["joints"]["intercarpal"]
        for site in ("capitate_scaphoid_lunate", "trapezium_scaphoid"):
            assert (sv["jsn"][site] > 0) == ("joint_space_narrowing" in ic["lesions"])
            if "ankylosis" in ic["lesions"]:
                assert sv["jsn"][site] == 4
        rc = gt["joints"]["radiocarpal"]["lesions"]
        assert (sv["jsn"]["radiocarpal"] > 0) == ("joint_space_narrowing" in rc)
        # CMC3-5 narrowing is graded only on a healthy carpus; under collapse it is not defined.
        collapsed = "joint_space_narrowing" in ic["lesions"]
        assert (sv["not_defined"]["jsn"] == ["CMC3", "CMC4", "CMC5"]) == collapsed
        if not collapsed:
            assert [sv["jsn"][c] for c in ("CMC3", "CMC4", "CMC5")] == [0, 0, 0]
        # Every graded bite adds to its area; the JSON checks itself.
        summed = dict.fromkeys(SVDH_EROSION_SITES, 0)
        for b in sv["bites"]:
            if b["area"] is not None:
                assert b["grade"] == bite_grade(b["share"])
                summed[b["area"]] = min(5, summed[b["area"]] + b["grade"])
            else:
                assert b["grade"] is None and b["bone"] in ("capitate", "hamate")
        assert summed == sv["erosion"]
    for healthy in ("normal", "twin"):  # DIP OA and an old fracture are not SvdH findings
        sv = cases[healthy].ground_truth["svdh"]
        assert set(sv["erosion"].values()) == {0} and set(sv["jsn"].values()) == {0} and not sv["bites"]
    spared = cases["spared"].ground_truth["svdh"]
    assert all(spared["erosion"][s] == 0 for s in ("scaphoid", "lunate", "distal_radius", "distal_ulna"))
    assert cases["twinRA"].ground_truth["svdh"]["bites"]  # the RA twin's bites are graded, its twin has none


def test_jsn_and_bite_grades_follow_the_documented_mapping():
    assert [jsn_grade(JointLesion(narrowing=f)) for f in (0.0, 0.3, 0.4999, 0.5, 0.95, 1.0, 1.05)] == \
        [0, 2, 2, 3, 3, 4, 4]
    assert jsn_grade(JointLesion(narrowing=1.0, ankylosis=True)) == 4
    assert jsn_grade(JointLesion(narrowing=0.35, subluxation_mm=2.0)) == 3
    assert jsn_grade(JointLesion(narrowing=1.0, subluxation_mm=2.0)) == 4
    assert [bite_grade(s) for s in (0.05, 0.249, 0.25, 0.499, 0.5, 0.9)] == [1, 1, 2, 2, 3, 3]


def test_every_bite_is_assigned_to_a_bone_it_touches():
    """The bone-to-area tables in lesions.py follow where anatomy.py draws the bites."""
    from ra_desktop.phantom.anatomy import Frame, build_hand
    from ra_desktop.phantom.generate import _svdh_bites
    from ra_desktop.phantom.lesions import WRIST_JOINTS, _joint_lesion, sample_plan

    checked = set()
    for seed in range(6):
        plan = sample_plan(np.random.default_rng(seed), "RA", 3)
        rng = np.random.default_rng(100 + seed)
        for j in WRIST_JOINTS:  # every wrist joint diseased, with up to four bites
            plan.joints[j] = _joint_lesion(rng, j, 3)
        plan.joints["intercarpal"].erosions = [Erosion("proximal", -1, 1.5) for _ in range(4)]
        plan.joints["radiocarpal"].erosions = [Erosion("proximal", -1, 1.5) for _ in range(3)]
        model = build_hand(np.random.default_rng(seed), plan, Frame(1.0, 0.0, seed % 2 == 1))
        bones = {b.name: b for b in model.bones}
        bites = _svdh_bites(plan, model)
        assert len(bites) == len(model.erosions)
        by_joint: dict[str, list] = {}  # each joint's bites in the order they were drawn
        for site in model.erosions:
            by_joint.setdefault(site.joint, []).append(site)
        for b in bites:
            site = by_joint[b["joint"]].pop(0)
            bone = bones[b["bone"]]
            if hasattr(bone, "a"):  # a carpal bone: the bite's centre within reach of the bone
                reach = max(bone.a, bone.b) + site.radius + 9.0  # intercarpal bites: 3 mm jitter, 3 SD
                assert np.hypot(*(site.centre - bone.centre)) < reach, b
            else:  # a long bone: within its width of the shaft's axis segment
                p0, p1 = bone.p0, bone.p1
                t = np.clip(np.dot(site.centre - p0, p1 - p0) / np.dot(p1 - p0, p1 - p0), 0, 1)
                dist = np.hypot(*(site.centre - (p0 + t * (p1 - p0))))
                assert dist <= max(bone.r_base, bone.r_head, bone.r_shaft) + site.radius, b
            checked.add((b["bone"], b["area"]))
    assert {("capitate", None), ("hamate", None), ("trapezoid", "trapezium_trapezoid"), ("scaphoid", "scaphoid"),
            ("radius", "distal_radius"), ("lunate", "lunate"), ("ulna", "distal_ulna")} <= checked


def test_truth_scores_reads_the_entry(cases):
    gt = cases["ra3R"].ground_truth
    scores = truth_scores(gt)
    assert set(scores) == {a.key for a in hand_areas("R")}  # the imaged hand only
    for (hand, kind, site), v in scores.items():
        if kind == JSN and site in gt["svdh"]["not_defined"]["jsn"]:
            assert v == NOT_ASSESSABLE
        else:
            assert v == gt["svdh"][kind][site]
    assert set(truth_scores(cases["ra2L"].ground_truth)) == {a.key for a in hand_areas("L")}
    # Through JSON and back, as the writer stores it.
    assert truth_scores(json.loads(json.dumps(gt))) == scores


def test_bundled_demo_ground_truth_predates_svdh_truth():
    assert len(DEMO_GT) == 12
    before = [p.read_bytes() for p in DEMO_GT]
    for p in DEMO_GT:
        with pytest.raises(TruthUnavailable, match="predates SvdH truth"):
            truth_scores(json.loads(p.read_text()))
    assert [p.read_bytes() for p in DEMO_GT] == before  # never rewritten


def test_malformed_or_foreign_truth_is_refused(cases):
    good = json.loads(json.dumps(cases["ra3R"].ground_truth))
    with pytest.raises(TruthUnavailable, match="not a phantom"):
        truth_scores({"label": "RA"})
    for mutate, reason in (
        (lambda s: s[EROSION].update(MCP2=6), "0–5"),
        (lambda s: s[EROSION].pop("MCP2"), "neither graded nor"),
        (lambda s: s[JSN].update(CMC3=1), "both graded and not defined"),
        (lambda s: s[EROSION].update(DIP2=1), "unknown erosion"),
        (lambda s: s.update(hand="X"), "hand"),
    ):
        gt = json.loads(json.dumps(good))
        mutate(gt["svdh"])
        with pytest.raises(TruthUnavailable, match=reason):
            truth_scores(gt)
