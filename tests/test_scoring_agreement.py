"""Reader agreement (ra_desktop.scoring.agreement) against published values and independent
computations, and the ``ra-desktop scores`` command."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from ra_desktop.scoring.agreement import (AgreementError, compare, icc_a1, kappa_bootstrap, pair_readings,
                                          quadratic_kappa, smallest_detectable_change)
from ra_desktop.scoring.csvio import Reading, write_readings_csv
from ra_desktop.scoring.svdh import EROSION, JSN, NOT_ASSESSABLE


# ---- kappa ---------------------------------------------------------------------------------------
def test_quadratic_kappa_matches_published_examples():
    """Maple's EssayTools[QuadraticWeightedKappa] help page, examples 1 and 2 (values as printed)."""
    a = [9, 7, 8, 7, 6, 8, 3, 5, 10]
    assert quadratic_kappa(a, [8, 8, 6, 6, 7, 6, 1, 4, 8]) == pytest.approx(0.758620689655172, abs=1e-12)
    assert quadratic_kappa(a, [3, 5, 6, 6, 7, 6, 1, 4, 8]) == pytest.approx(0.438095238095238, abs=1e-12)


def _kappa_table_form(a, b, categories):
    """Cohen (1968) weighted kappa from the contingency table, weights (i - j)^2: 1 - sum wO / sum wE."""
    k = len(categories)
    obs = [[0.0] * k for _ in range(k)]
    for x, y in zip(a, b):
        obs[categories.index(x)][categories.index(y)] += 1.0 / len(a)
    rows = [sum(r) for r in obs]
    cols = [sum(obs[i][j] for i in range(k)) for j in range(k)]
    w_o = sum((categories[i] - categories[j]) ** 2 * obs[i][j] for i in range(k) for j in range(k))
    w_e = sum((categories[i] - categories[j]) ** 2 * rows[i] * cols[j] for i in range(k) for j in range(k))
    return 1.0 - w_o / w_e


def test_quadratic_kappa_equals_the_contingency_table_definition():
    rng = np.random.default_rng(3)
    for n, top in ((5, 5), (20, 5), (40, 4), (200, 5)):
        a = rng.integers(0, top + 1, n)
        b = np.clip(a + rng.integers(-2, 3, n), 0, top)
        assert quadratic_kappa(a, b) == pytest.approx(_kappa_table_form(list(a), list(b), list(range(top + 1))),
                                                      abs=1e-12)


def test_kappa_degenerate_cases():
    assert quadratic_kappa([0, 0, 0], [0, 0, 0]) is None  # agree, nobody varies: undefined, not 1
    assert quadratic_kappa([0, 0, 0], [0, 1, 2]) == pytest.approx(0.0)  # one constant reader
    assert quadratic_kappa([0, 1, 2], [0, 1, 2]) == pytest.approx(1.0)
    assert quadratic_kappa([], []) is None


def test_bootstrap_interval_is_seeded_and_brackets_kappa():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 6, 60)
    b = np.clip(a + rng.integers(-1, 2, 60), 0, 5)
    k = quadratic_kappa(a, b)
    ci, used = kappa_bootstrap(a, b, 1000, np.random.default_rng(1))
    assert ci == kappa_bootstrap(a, b, 1000, np.random.default_rng(1))[0]
    assert ci != kappa_bootstrap(a, b, 1000, np.random.default_rng(2))[0]
    assert used == 1000 and ci[0] < k < ci[1] <= 1.0 and ci[1] - ci[0] < 0.2
    assert kappa_bootstrap([1], [1], 100)[0] is None


# ---- ICC and SDC ---------------------------------------------------------------------------------
SHROUT_FLEISS = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_icc_matches_shrout_and_fleiss_1979():
    """Shrout & Fleiss (1979), Table 2 data (6 targets, 4 judges): BMS 11.24, JMS 32.49, EMS 1.02 and
    ICC(2,1) = .29 (their Table 4); 95% interval 0.019 to 0.76 as printed by R psych::ICC on the same
    table (McGraw & Wong's F-based interval)."""
    r = icc_a1(SHROUT_FLEISS)
    assert (r.n, r.k) == (6, 4)
    assert (round(r.msr, 2), round(r.msc, 2), round(r.mse, 2)) == (11.24, 32.49, 1.02)
    assert round(r.value, 2) == 0.29
    assert round(r.lower, 3) == 0.019 and round(r.upper, 2) == 0.76


def test_icc_edge_cases():
    assert icc_a1([[1, 1]]).value is None  # one target
    assert icc_a1([[3, 3], [3, 3]]).value is None  # nothing varies
    perfect = icc_a1([[1, 1], [4, 4], [2, 2]])
    assert perfect.value == pytest.approx(1.0) and perfect.lower is None
    with pytest.raises(ValueError):
        icc_a1([1, 2, 3])


def test_smallest_detectable_change_by_hand():
    # differences 2, -1, 0, 3, -2: mean 0.4, sample variance 17.2 / 4 = 4.3
    r = smallest_detectable_change([12, 9, 10, 13, 8], [10, 10, 10, 10, 10])
    assert r.n == 5 and r.mean_difference == pytest.approx(0.4)
    assert r.sd_difference == pytest.approx(math.sqrt(4.3))
    assert r.value == pytest.approx(1.96 * math.sqrt(4.3) / math.sqrt(2))  # = 2.8739...
    assert round(r.value, 4) == 2.8739
    assert smallest_detectable_change([1], [2]).value is None


# ---- comparing readings --------------------------------------------------------------------------
def _reading(case, reader, scores, hands=("R",)):
    return Reading(case, reader, scores, hands)


def test_compare_leaves_out_and_counts_not_assessable_and_unscored():
    k_mcp2, k_mcp3, k_rc = ("R", EROSION, "MCP2"), ("R", EROSION, "MCP3"), ("R", JSN, "radiocarpal")
    first = [_reading("c1", "A", {k_mcp2: 1, k_mcp3: 2, k_rc: 3}),
             _reading("c2", "A", {k_mcp2: NOT_ASSESSABLE, k_mcp3: 0, k_rc: 1}),
             _reading("c3", "A", {k_mcp2: 2, k_mcp3: 1, k_rc: 2, ("L", JSN, "MCP1"): 2}, ("R", "L"))]
    second = [_reading("c1", "B", {k_mcp2: 1, k_mcp3: 3, k_rc: 3}),
              _reading("c2", "B", {k_mcp2: 4, k_mcp3: 0}),  # radiocarpal unscored
              _reading("c3", "B", {k_mcp2: 2, k_mcp3: NOT_ASSESSABLE, k_rc: 4})]
    _, _, pairs = pair_readings(first + second)
    ag = compare(pairs, "A", "B", n_boot=200)
    by = {(a.kind, a.site): a for a in ag.areas}
    assert (by[(EROSION, "MCP2")].n, by[(EROSION, "MCP2")].not_assessable) == (2, 1)
    assert (by[(EROSION, "MCP3")].n, by[(EROSION, "MCP3")].not_assessable) == (2, 1)
    assert (by[(JSN, "radiocarpal")].n, by[(JSN, "radiocarpal")].unscored) == (2, 1)
    assert (ag.not_assessable, ag.unscored, ag.other_hand) == (2, 1, 1)  # L hand: only A read it
    assert (EROSION, "MCP4") not in by  # never scored by anyone: not listed
    assert by[(EROSION, "MCP2")].kappa == pytest.approx(quadratic_kappa([1, 2], [1, 2]))
    # Totals per case over the areas both scored: c1 6 vs 7; c2 0+1 vs 0 (radiocarpal left out) -> 0 vs 0;
    # c3 erosion MCP2 only 2 vs 2, JSN 2 vs 4.
    tot = {t.name: t for t in ag.totals}
    assert tot["total"].icc.n == 3
    expect = smallest_detectable_change([6, 0, 4], [7, 0, 6])
    assert tot["total"].sdc == expect
    assert tot["erosion"].sdc == smallest_detectable_change([3, 0, 2], [4, 0, 2])
    assert tot["total"].icc == icc_a1([[6, 7], [0, 0], [4, 6]])


def test_pairing_errors():
    r = {("R", EROSION, "MCP2"): 1}
    with pytest.raises(AgreementError, match="three|3"):
        pair_readings([_reading("c", "A", r), _reading("c", "B", r), _reading("c", "C", r)])
    assert pair_readings([_reading("c", "A", r), _reading("c", "B", r), _reading("c", "C", r)],
                         ("C", "A"))[:2] == ("C", "A")
    with pytest.raises(AgreementError, match="no case in common"):
        pair_readings([_reading("c1", "A", r), _reading("c2", "B", r)])
    with pytest.raises(AgreementError, match="two different readers"):
        pair_readings([_reading("c1", "A", r), _reading("c2", "B", r)], ("A", "A"))
    with pytest.raises(AgreementError, match="no readings by 'Z'"):
        pair_readings([_reading("c1", "A", r), _reading("c1", "B", r)], ("A", "Z"))


# ---- the command ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    from ra_desktop.phantom import generate_dataset

    out = tmp_path_factory.mktemp("phantoms")
    generate_dataset(out, 6, 4321, size=300, workers=1, progress=False)
    return out


def _run(argv, capsys):
    from ra_desktop.cli import main

    rc = main(argv)
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_truth_then_agreement(dataset, tmp_path, capsys):
    from ra_desktop.io import load_radiograph
    from ra_desktop.scoring.csvio import read_scores_csv

    gts = sorted(str(p) for p in (dataset / "ground_truth").glob("*[0-9].json"))
    truth_csv = tmp_path / "truth.csv"
    rc, out, err = _run(["scores", "truth", *gts, "--out", str(truth_csv)], capsys)
    assert rc == 0, err
    truth = read_scores_csv(truth_csv)
    assert len(truth) == 6 and {r.reader for r in truth} == {"phantom truth"}
    first_gt = json.loads((dataset / "ground_truth" / "phantom_4321_000000.json").read_text())
    assert truth[0].case_id == load_radiograph(dataset / first_gt["files"][0]).case_id  # the worklist's id
    # A reader who is off by one now and then, and calls one area not assessable.
    rng = np.random.default_rng(0)
    reader = []
    for r in truth:
        s = {k: (v if v == NOT_ASSESSABLE else int(np.clip(v + rng.choice([-1, 0, 0, 0, 1]), 0,
                                                             5 if k[1] == EROSION else 4)))
             for k, v in r.scores.items()}
        s[next(iter(s))] = NOT_ASSESSABLE
        reader.append(Reading(r.case_id, "Dr B", s, r.hands))
    reader_csv = tmp_path / "reader.csv"
    write_readings_csv(reader_csv, reader)

    rc, out, err = _run(["scores", "agreement", str(truth_csv), str(reader_csv)], capsys)
    assert rc == 0, err
    assert "phantom truth vs Dr B, 6 cases" in out and "ICC" in out and "SDC" in out
    assert "MCP 2" in out and "Capitate–scaphoid–lunate" in out and "not assessable in either" in out
    rc, out, _ = _run(["scores", "agreement", str(truth_csv), str(reader_csv), "--json", "--resamples", "300"],
                      capsys)
    numbers = json.loads(out)
    assert numbers["first"] == "phantom truth" and numbers["cases"] == 6 and numbers["n_boot"] == 300
    assert numbers["not_assessable"] >= 6  # the reader's NA in every case, plus any undefined truth
    total = next(t for t in numbers["totals"] if t["name"] == "total")
    assert total["icc"]["n"] == 6 and 0.5 < total["icc"]["value"] <= 1 and total["sdc"]["n"] == 6
    # Pairs where either says NA are left out: the same numbers as comparing by hand.
    _, _, pairs = pair_readings(truth + reader)
    assert total["icc"]["value"] == pytest.approx(compare(pairs, n_boot=10).totals[2].icc.value)


def test_truth_command_stems_and_failures(dataset, tmp_path, capsys):
    gt = dataset / "ground_truth" / "phantom_4321_000001.json"
    out_csv = tmp_path / "t.csv"
    rc, _, err = _run(["scores", "truth", str(gt), "--out", str(out_csv), "--ids", "stem"], capsys)
    assert rc == 0, err
    from ra_desktop.scoring.csvio import read_scores_csv

    assert [r.case_id for r in read_scores_csv(out_csv)] == ["phantom_4321_000001"]
    from pathlib import Path

    demo = sorted((Path(__file__).resolve().parents[1] / "resources/demo/ground_truth").glob("*[0-9].json"))[0]
    rc, out, err = _run(["scores", "truth", str(demo), str(gt), "--out", str(tmp_path / "u.csv"), "--ids", "stem"],
                        capsys)
    assert rc == 2 and f"{demo}: this ground truth predates SvdH truth" in err
    assert (tmp_path / "u.csv").exists()  # the good one is still written
    lonely = tmp_path / "lonely.json"
    lonely.write_text(gt.read_text())
    rc, _, err = _run(["scores", "truth", str(lonely), "--out", str(tmp_path / "v.csv")], capsys)
    assert rc == 2 and "use --ids stem" in err and not (tmp_path / "v.csv").exists()


def test_agreement_command_bad_files_exit_2(tmp_path, capsys):
    good = tmp_path / "good.csv"
    write_readings_csv(good, [Reading("c1", "A", {("R", EROSION, "MCP2"): 1}, ("R",)),
                              Reading("c1", "B", {("R", EROSION, "MCP2"): 1}, ("R",))])
    bad = tmp_path / "bad.csv"
    bad.write_text("case_id,reader,hand,kind,site,area,score,scored_at_utc\nc1,A,R,erosion,MCP2,,9,\n")
    rc, out, err = _run(["scores", "agreement", str(good), str(bad)], capsys)
    assert rc == 2 and f"{bad}, line 2: score 9 out of range" in err and out == ""
    rc, _, err = _run(["scores", "agreement", str(good), str(good)], capsys)  # the same readings twice
    assert rc == 2 and "already has a reading of case 'c1'" in err and str(good) in err
    rc, _, err = _run(["scores", "agreement", str(tmp_path / "missing.csv")], capsys)
    assert rc == 2 and "missing.csv: cannot read" in err
    three = tmp_path / "three.csv"
    write_readings_csv(three, [Reading("c1", "C", {("R", EROSION, "MCP2"): 2}, ("R",))])
    rc, _, err = _run(["scores", "agreement", str(good), str(three)], capsys)
    assert rc == 2 and "name the two to compare" in err
    rc, out, _ = _run(["scores", "agreement", str(good), str(three), "--readers", "A", "C"], capsys)
    assert rc == 0 and "A vs C, 1 case read by both" in out
