"""``ra-desktop explain-eval``: end to end on a tiny model, and the goals on the demo model."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tiny_model import make_tiny_model_folder

from ra_desktop.cli import main
from ra_desktop.phantom import generate_dataset


@pytest.fixture(scope="module")
def phantoms(tmp_path_factory):
    out = tmp_path_factory.mktemp("phantoms")
    generate_dataset(out, 4, 500000, ra_fraction=1.0, severity_range=(2, 3), size=400, workers=1, progress=False)
    return out


def test_cli_writes_table_and_json(tmp_path, phantoms, capsys):
    model_dir = make_tiny_model_folder(tmp_path)
    out = tmp_path / "eval.json"
    rc = main(["explain-eval", str(model_dir), str(phantoms), "--n", "1", "--steps", "4",
               "--no-insertion", "--json", str(out)])
    assert rc == 0
    table = capsys.readouterr().out
    assert "pointing game" in table and "randomisation check" in table and "Grad-CAM vs SHAP" in table
    summary = json.loads(out.read_text())
    assert summary["n_cases"] == 1 and set(summary["methods"]) == {"gradcam", "shap"}
    g = summary["methods"]["gradcam"]
    assert g["pointing"]["n"] == 1 and 0 <= g["positive_share"][0] <= 1
    assert g["deletion_ratio"] > 0 and "insertion_auc" not in g
    assert len(g["randomisation"]["full_spearman"]) == 1
    assert summary["model"]["sha256"] and summary["cases"][0]["severity"] >= 2
    assert summary["cases_without_cmc_ground_truth"] == 0 and "generator < 1.2" not in table
    # The pointing game alone ran on every eligible case (all 4 phantoms), the scored one included.
    every = summary["pointing_all"]["gradcam"]
    assert every["n"] == 4 and 0 <= every["hits"] <= 4 and len(every["miss_distance_mm"]) == 4 - every["hits"]
    assert all(d > 0 for d in every["miss_distance_mm"]) and "pointing game, all 4 cases" in table
    fixed = summary["pointing_all"]["fixed_point"]
    assert fixed["n"] == 4 and len(fixed["point_model_xy"]) == 2 and "the best fixed point" in table
    assert every["hits_where_fixed_point_misses"][1] == 4 - fixed["hits"]
    prior = summary["pointing_all"]["prior_ranking"]
    # Severity 2-3 phantoms always have a diseased wrist; DIPs (spared by RA) are not ranked.
    assert prior["n"] <= 4 and prior["prevalence"]["wrist"] == 1.0 and "DIP2" not in prior["prevalence"]
    assert 0.0 <= every["joint_auc"][0] <= 1.0 and "joint ranking AUC" in table


def test_cli_twin_removal_uses_the_healthy_twin(tmp_path, capsys):
    twins = tmp_path / "twins"
    generate_dataset(twins, 4, 500200, twins=True, severity_range=(2, 3), size=400, workers=1, progress=False)
    model_dir = make_tiny_model_folder(tmp_path)
    out = tmp_path / "eval.json"
    assert main(["explain-eval", str(model_dir), str(twins), "--n", "2", "--steps", "4", "--removal", "twin",
                 "--no-insertion", "--randomisation-cases", "0", "--pointing-n", "0", "--json", str(out)]) == 0
    assert "a removed pixel takes the value of the healthy twin" in capsys.readouterr().out
    summary = json.loads(out.read_text())
    assert summary["removal"] == "healthy twin" and summary["n_cases"] == 2


def test_cli_twin_removal_needs_twins(tmp_path, phantoms, capsys):
    rc = main(["explain-eval", str(make_tiny_model_folder(tmp_path)), str(phantoms), "--removal", "twin"])
    assert rc == 2 and "no RA twin phantoms" in capsys.readouterr().err


def test_twin_cases_carry_their_healthy_twin(tmp_path):
    from ra_desktop.evaluate.explanations import load_cases
    from ra_desktop.preprocess import prepare
    from ra_desktop.io import load_radiograph
    from ra_desktop.io.dataset import discover

    generate_dataset(tmp_path, 4, 500300, twins=True, severity_range=(2, 2), size=400, workers=1, progress=False)
    cases = load_cases(tmp_path, 2, twins=True)
    assert len(cases) == 2
    by_patient = {s.patient_id: s for s in discover(tmp_path).samples if s.label == 0}
    for c in cases:
        twin = by_patient[c.ground_truth["patient_id"]]
        np.testing.assert_array_equal(c.healthy, prepare(load_radiograph(twin.path))[0])
        assert not np.array_equal(c.healthy, c.x)
    assert all(c.healthy is None for c in load_cases(tmp_path, 2))


def test_cli_pointing_pass_can_be_limited_or_skipped(tmp_path, phantoms):
    model_dir = make_tiny_model_folder(tmp_path)
    common = [str(model_dir), str(phantoms), "--n", "1", "--steps", "2", "--no-insertion", "--randomisation-cases", "0"]
    assert main(["explain-eval", *common, "--pointing-n", "2", "--json", str(tmp_path / "two.json")]) == 0
    assert json.loads((tmp_path / "two.json").read_text())["pointing_all"]["shap"]["n"] == 2
    assert main(["explain-eval", *common, "--pointing-n", "0", "--json", str(tmp_path / "none.json")]) == 0
    assert "pointing_all" not in json.loads((tmp_path / "none.json").read_text())


def test_miss_distance_in_millimetres():
    from ra_desktop.evaluate.explanations import miss_distance_mm

    lesion = np.zeros((40, 100), bool)
    lesion[10:20, 50:60] = True
    image_map = np.zeros((40, 100), np.float32)
    image_map[15, 70] = 1.0  # 11 columns right of the lesion's last column
    gt = {"pixel_spacing_mm": [0.5, 0.2]}
    assert miss_distance_mm(image_map, lesion, gt) == pytest.approx(11 * 0.2)
    image_map[15, 70], image_map[30, 55] = 0.0, 1.0  # 11 rows below
    assert miss_distance_mm(image_map, lesion, gt) == pytest.approx(11 * 0.5)
    image_map[30, 55], image_map[12, 52] = 0.0, 1.0  # inside: a hit
    assert miss_distance_mm(image_map, lesion, gt) == 0.0
    image_map[12, 52], image_map[0, 99] = 0.0, 1.0
    assert miss_distance_mm(image_map, lesion, {}) == pytest.approx(np.hypot(10, 40))  # no spacing: pixels


def test_fixed_point_hits_are_the_grid_centres_inside_the_lesion():
    from ra_desktop.evaluate.explanations import fixed_point_hits, fixed_points
    from ra_desktop.preprocess.geometry import Geometry

    pts = fixed_points((224, 224))
    assert pts.shape == (196, 2) and tuple(pts[0]) == (7.5, 7.5) and tuple(pts[15]) == (23.5, 23.5)
    lesion = np.zeros((448, 448), bool)
    lesion[320:352, 224:256] = True  # model rows 160-175, columns 112-127 at scale 2: grid cell (10, 7)
    hits = fixed_point_hits(Geometry((448, 448), (224, 224), 2.0, 2.0, 0.5, 0.5), lesion)
    assert np.flatnonzero(hits).tolist() == [10 * 14 + 7]
    # A crop that puts the lesion outside the image: no point can hit.
    assert not fixed_point_hits(Geometry((448, 448), (224, 224), 2.0, 2.0, 600.0, 0.5), lesion).any()


def test_pointing_pass_reports_the_best_fixed_point():
    from ra_desktop.evaluate.explanations import Case, pointing_pass, pointing_rates
    from ra_desktop.preprocess.geometry import Geometry

    geometry = Geometry((224, 224), (224, 224), 1.0, 1.0, 0.0, 0.0)
    cases, lesions = [], []
    for i, (r, c) in enumerate([(160, 112), (160, 112), (160, 112), (0, 0)]):
        lesion = np.zeros((224, 224), bool)
        lesion[r:r + 16, c:c + 16] = True
        x = np.zeros((3, 224, 224), np.float32)
        x[0] = lesion  # the "tracker" map below reads where the lesion is
        cases.append(Case(f"c{i}", x, geometry, {}))
        lesions.append(lesion)
    stuck = np.zeros((224, 224), np.float32)
    stuck[100, 50] = 1.0
    maps = {"tracker": lambda m, x: x[0], "stuck": lambda m, x: stuck}
    result = pointing_pass(None, cases, maps, lesions=lesions)
    fixed = result["fixed_point"]
    assert (fixed["hits"], fixed["n"], fixed["point_model_xy"]) == (3, 4, [119.5, 167.5])
    assert result["tracker"]["hits"] == 4 and result["tracker"]["hits_where_fixed_point_misses"] == [1, 1]
    assert result["stuck"]["hits"] == 0 and result["stuck"]["hits_where_fixed_point_misses"] == [0, 1]
    assert pointing_rates(None, cases, maps, lesions) == {"tracker": 1.0, "stuck": 0.0}  # maps only


def test_cli_says_when_ground_truth_predates_the_cmc_joints(tmp_path, phantoms, capsys):
    import shutil

    old = tmp_path / "old"
    shutil.copytree(phantoms, old)
    for gt_file in (old / "ground_truth").glob("*.json"):  # as generator 1.1 wrote it
        gt = json.loads(gt_file.read_text())
        gt["joints"] = {k: v for k, v in gt["joints"].items() if not k.startswith("CMC")}
        gt_file.write_text(json.dumps(gt))
    out = tmp_path / "eval.json"
    assert main(["explain-eval", str(make_tiny_model_folder(tmp_path)), str(old), "--n", "2", "--steps", "4",
                 "--no-insertion", "--randomisation-cases", "0", "--json", str(out)]) == 0
    assert "2 of 2 cases have ground truth from phantom generator < 1.2" in capsys.readouterr().out
    assert json.loads(out.read_text())["cases_without_cmc_ground_truth"] == 2


def test_cli_reports_missing_data(tmp_path, capsys):
    model_dir = make_tiny_model_folder(tmp_path)
    empty = tmp_path / "empty"
    (empty / "RA").mkdir(parents=True)
    assert main(["explain-eval", str(model_dir), str(empty)]) == 2
    assert "explain-eval" in capsys.readouterr().err


# The bundled model comes from the shared ``bundled_model`` fixture (tests/conftest.py): a missing
# or incomplete model folder fails these tests, it never skips them.
@pytest.fixture(scope="module")
def demo_twin_summary(tmp_path_factory, bundled_model):
    """Deletion on 10 held-out twin pairs (seed 540123), a removed pixel becoming the healthy twin's."""
    from ra_desktop.evaluate.explanations import evaluate, load_cases

    data = tmp_path_factory.mktemp("held-out-twins")
    generate_dataset(data, 20, 540123, twins=True, severity_range=(2, 3), workers=2, progress=False)
    model = bundled_model
    cases = load_cases(data, 10, seed=0, config=model.preprocess_config, twins=True)
    assert len(cases) == 10
    return evaluate(model, cases, steps=10, insertion=False, randomisation_cases=0)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gradcam", "shap"])
def test_demo_model_deletion_beats_random(demo_twin_summary, method):
    # Removal by the healthy twin, not by blurring: a blurred joint is not a healthy one. With blur,
    # demo model 1.2.0 passed (ratios 0.60, 0.28), its SHAP even on wrist-spared hands where it
    # peaks on the healthy carpus (0.28; 0/20 pointing), and 1.3.0 fails (3.7, 3.4) though blurring
    # every lesion of a case leaves its P(RA) at 0.99. With the twin, on 40 held-out pairs: 1.2.0
    # 0.71 and 1.10 (SHAP fails), 1.3.0 0.53 and 0.38 (model card, "Removing pixels"). On these
    # 10 pairs: 1.3.0 0.50 and 0.31, 1.2.0 0.77 and 1.03; the bounds sit between the two.
    res = demo_twin_summary["methods"][method]
    assert demo_twin_summary["removal"] == "healthy twin"
    bound = {"gradcam": 0.65, "shap": 0.5}[method]
    assert res["deletion_ratio"] < bound, (method, res["deletion_auc"], demo_twin_summary["random_deletion_auc"])
    assert np.isfinite(demo_twin_summary["agreement"]["spearman"][0])


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gradcam", "shap"])
def test_demo_model_attribution_concentrates_on_lesions(demo_twin_summary, method):
    # Share of positive attribution on lesions against their share of the area (an even map: 1x),
    # on the RA members of the deletion test's 10 twin pairs (the maps are computed there anyway).
    # Here 1.3.0 (map guidance) scores 6.5x (Grad-CAM) and 4.1x (SHAP), 1.2.0 1.99x and 2.73x: the
    # bounds sit between the two. On 10 other held-out cases (seed 500123) 1.0.0 scored 1.50x and
    # 1.38x; 1.1.0 1.87x, 2.14x (generator 1.1 ground truth), 2.01x, 2.35x (generator 1.2).
    res = demo_twin_summary["methods"][method]
    bound = {"gradcam": 3.5, "shap": 3.4}[method]
    assert res["positive_share"][0] > bound * res["area_share"][0], (method, res["positive_share"], res["area_share"])


@pytest.fixture(scope="module")
def demo_pointing(tmp_path_factory, bundled_model):
    """Pointing-game hit rates of the shipped maps on 40 held-out phantoms (seed 500123, severity 2-3).

    Only the pointing game, so 40 cases stay cheap (about a second each): on 10 a binomial rate
    has a standard error of 0.13, too coarse to tell 0.80 from 0.70.
    """
    return _demo_pointing_rates(bundled_model, tmp_path_factory.mktemp("held-out-40"), 40, 500123)


def _demo_pointing_rates(model, data: Path, n: int, seed: int, **phantom_options) -> dict[str, float]:
    """The shipped maps' pointing-game hit rates on ``n`` new RA phantoms of severity 2-3."""
    from ra_desktop.evaluate.explanations import default_maps, load_cases, pointing_rates

    generate_dataset(data, n, seed, ra_fraction=1.0, severity_range=(2, 3), workers=2, progress=False,
                     **phantom_options)
    cases = load_cases(data, n, seed=0, config=model.preprocess_config)
    assert len(cases) == n
    return pointing_rates(model, cases, default_maps(model))


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gradcam", "shap"])
def test_demo_model_pointing_game_goal(demo_pointing, method):
    # Issue 4's goal. Demo model 1.2.0 scored 31/40 for each map here (its maps peaked on the
    # carpus, which every phantom of severity 2-3 has diseased); 1.3.0, trained with map guidance
    # (train --guide-maps), 40/40 (Grad-CAM) and 39/40 (SHAP), as the README says. Two misses at
    # most: 1.2.0's 31/40 (0.775) is a regression and fails.
    assert demo_pointing[method] >= 0.95, (method, demo_pointing)


@pytest.fixture(scope="module")
def demo_pointing_spared(tmp_path_factory, bundled_model):
    """Pointing-game hit rates on 20 wrist-spared RA phantoms (seed 530123, severity 2-3): only the
    finger joints are diseased, so a map that always peaks on the carpus cannot score here."""
    return _demo_pointing_rates(bundled_model, tmp_path_factory.mktemp("wrist-spared-20"), 20, 530123,
                                spare_wrist=True)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["gradcam", "shap"])
def test_demo_model_pointing_goal_with_a_healthy_wrist(demo_pointing_spared, method):
    # 1.2.0: 0/20 for each map (they peaked on the healthy carpus); 1.3.0: 20/20 for each.
    assert demo_pointing_spared[method] >= 0.9, (method, demo_pointing_spared)
