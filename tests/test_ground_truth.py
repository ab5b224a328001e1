"""Phantom ground truth reaches the runtime through one function that never raises."""
from __future__ import annotations

import json
import logging

from ra_desktop.io.ground_truth import ground_truth_for, load_ground_truth
from ra_desktop.phantom import load_ground_truth as phantom_load_ground_truth


def test_phantom_package_re_exports_the_one_reader():
    assert phantom_load_ground_truth is load_ground_truth


def test_found_beside_the_data_set_layout_with_its_mask(tmp_path):
    (tmp_path / "RA").mkdir()
    (tmp_path / "ground_truth").mkdir()
    image = tmp_path / "RA" / "phantom_0001.png"
    image.write_bytes(b"")
    (tmp_path / "ground_truth" / "phantom_0001.json").write_text(json.dumps({"severity": 2}))
    (tmp_path / "ground_truth" / "phantom_0001_mask.png").write_bytes(b"")
    gt = ground_truth_for(image)
    assert gt["severity"] == 2 and gt["mask_path"].endswith("phantom_0001_mask.png")
    assert ground_truth_for(str(image)) == gt


def test_a_real_radiograph_has_none_and_nothing_raises(tmp_path, caplog):
    assert ground_truth_for(None) is None
    assert ground_truth_for(tmp_path / "xray.dcm") is None
    (tmp_path / "bad.json").write_text("{not json")
    with caplog.at_level(logging.WARNING, logger="ra_desktop.io.ground_truth"):
        assert ground_truth_for(tmp_path / "bad.png") is None
    assert "unreadable" in caplog.text
    assert ground_truth_for("\0 not a path") is None  # the OS refuses the name: logged, not raised


def test_an_oversized_or_deeply_nested_sidecar_is_refused_with_its_reason(tmp_path, caplog):
    from ra_desktop.io.ground_truth import MAX_GROUND_TRUTH_BYTES

    big = tmp_path / "huge.json"
    big.write_text(json.dumps({"severity": 2, "pad": "x" * MAX_GROUND_TRUTH_BYTES}))
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)  # well under the cap
    with caplog.at_level(logging.WARNING, logger="ra_desktop.io.ground_truth"):
        assert load_ground_truth(tmp_path / "huge.png") is None  # refused before it is read
        assert load_ground_truth(tmp_path / "deep.png") is None  # no RecursionError
    assert f"{big} not read" in caplog.text and "MB" in caplog.text
    assert "deep.json" in caplog.text and "nested too deeply" in caplog.text
