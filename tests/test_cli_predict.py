"""``ra-desktop predict``: one line (or JSON object) per file, failures reported, exit codes."""
from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from ra_desktop.cli import main
from tests.tiny_model import make_tiny_model_folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_model_folder(tmp_path_factory.mktemp("m"))


@pytest.fixture
def files(tmp_path):
    good = tmp_path / "good.png"
    Image.fromarray((np.random.default_rng(0).random((120, 90)) * 255).astype(np.uint8)).save(good)
    bad = tmp_path / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    return good, bad


def test_good_and_broken_file_json(model_dir, files, capsys):
    good, bad = files
    code = main(["predict", str(good), str(bad), "--model", str(model_dir), "--device", "cpu", "--json"])
    out = capsys.readouterr().out.strip().splitlines()
    assert code == 2
    recs = [json.loads(line) for line in out]
    assert [r["file"] for r in recs] == [str(good), str(bad)]
    ok, failed = recs
    assert ok["ok"] and 0 < ok["probability"] < 1 and ok["label"] in ("normal", "RA")
    assert ok["model_name"] == "tiny-test-model" and ok["model_version"] == "0.0.0-test"
    assert set(ok["timings_ms"]) >= {"load", "preprocess", "inference"}
    assert not failed["ok"] and failed["error"]


def test_all_good_text_output(model_dir, files, capsys):
    good, _ = files
    code = main(["predict", str(good.parent / "good.png"), "--model", str(model_dir), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    assert "P(RA)=" in out and "tiny-test-model 0.0.0-test" in out and "inference" in out


def test_folder_input_reports_each_file(model_dir, files, capsys):
    good, bad = files
    code = main(["predict", str(good.parent), "--model", str(model_dir), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 2
    assert "good.png: P(RA)=" in out and "broken.png: FAILED" in out


def test_model_that_cannot_load(tmp_path, files, capsys):
    good, _ = files
    assert main(["predict", str(good), "--model", str(tmp_path / "nope"), "--device", "cpu"]) == 1
    assert "does not exist" in capsys.readouterr().err


def test_no_installed_model(monkeypatch, files, capsys, tmp_path):
    import ra_desktop.paths

    monkeypatch.setattr(ra_desktop.paths, "default_model_dir", lambda: tmp_path / "models" / "none")
    good, _ = files
    assert main(["predict", str(good)]) == 1
    err = capsys.readouterr().err
    assert "no model is installed" in err and "--model" in err


def test_help_does_not_import_torch():
    code = (
        "import sys\n"
        "from ra_desktop.cli import main\n"
        "try:\n    main(['predict', '--help'])\nexcept SystemExit:\n    pass\n"
        "assert 'torch' not in sys.modules, 'torch imported by --help'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_real_radiograph_out_of_distribution_gets_no_verdict(capsys):
    # The bundled model on a real CR (pydicom-data's RG1) and a real CT slice: both are unlike its
    # synthetic phantoms, so no probability or label is printed, only why; the numbers are kept
    # for research under a name that says what they are.
    from io_fixtures import real_dicom

    files = [str(real_dicom("RG1_UNCR.dcm")), str(real_dicom("CT_small.dcm"))]
    assert main(["predict", *files, "--device", "cpu", "--json"]) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(recs) == 2
    for rec in recs:
        assert rec["ok"] and rec["model_applies"] is False and rec["verdict"] is None
        assert "probability" not in rec and "label" not in rec
        assert "does not apply" in rec["no_verdict_reason"] and not rec["ood"]["in_distribution"]
        assert 0.0 <= rec["research_only_not_a_verdict"]["probability"] <= 1.0
    assert main(["predict", files[0], "--device", "cpu"]) == 0
    out = capsys.readouterr().out
    assert "no verdict: the model does not apply" in out and "P(RA)" not in out
