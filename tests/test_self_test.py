"""``ra-desktop --self-test`` from source: every step, and a clear message naming the failed step."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ra_desktop.explain
from ra_desktop.cli import main
from ra_desktop.cli import self_test
from ra_desktop.results import Heatmap
from tests.tiny_model import make_tiny_model_folder


# The teaching step renders six phantoms and writes a PDF (seconds per run). It runs for real in the
# tests named here (and in the installers' self-test); elsewhere it is replaced by a line, so the
# other steps' tests do not pay for it nine times over.
REAL_TEACHING = {"test_as_the_frozen_app_runs_it_bundled_model_and_demo_folder", "test_teaching_step_failure_names_the_step"}


@pytest.fixture(autouse=True)
def _teaching_step(request, monkeypatch):
    if request.node.originalname not in REAL_TEACHING:
        monkeypatch.setattr("ra_desktop.cli.self_test_teaching.check", lambda model, tmp: "not run in this test")


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return make_tiny_model_folder(tmp_path_factory.mktemp("model"))


@pytest.fixture
def case_png(tmp_path):
    # A bright blob on a dark ramp: not a hand, but a valid 8-bit radiograph for the pipeline.
    yy, xx = np.mgrid[0:300, 0:260]
    img = 40 + 0.2 * yy + 150 * np.exp(-((yy - 150) ** 2 + (xx - 120) ** 2) / 2000.0)
    path = tmp_path / "case.png"
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(path)
    return path


@pytest.fixture
def fake_explain(monkeypatch):
    """A fast stand-in ``explain_case`` (uniform maps) with the real contract:
    returns (Heatmap, top regions)."""

    def explain_case(model, x, geometry, method, cancel=None, ground_truth=None, values=None):
        values = geometry.map_to_image(np.full((224, 224), 0.5, np.float32))
        return Heatmap(values=values.astype(np.float32), signed=method == "shap", kind=method), []

    monkeypatch.setattr(ra_desktop.explain, "explain_case", explain_case)


def _args(**kw) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    self_test.add_arguments(parser)
    ns = parser.parse_args([])
    for k, v in kw.items():
        setattr(ns, k, None if v is None else str(v) if k in ("model", "case") else v)
    return ns


def test_all_steps_pass_and_write_a_pdf(model_dir, case_png, fake_explain, capsys):
    assert self_test.run(_args(model=model_dir, case=case_png, keep=True)) == 0
    out = capsys.readouterr().out
    for step, _ in self_test.STEPS:
        assert f"[ok] {step}" in out
    assert "self-test passed" in out
    kept = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("kept: ")]
    pdf = next(Path(kept[0]).glob("*.pdf"))
    assert pdf.read_bytes().startswith(b"%PDF-")


def test_temporary_folder_is_removed_without_keep(model_dir, case_png, fake_explain, capsys, tmp_path,
                                                   monkeypatch):
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert self_test.run(_args(model=model_dir, case=case_png)) == 0
    assert not list(tmp_path.glob("ra-self-test-*"))


def test_real_explanations(model_dir, case_png, capsys):
    assert self_test.run(_args(model=model_dir, case=case_png)) == 0, capsys.readouterr().err


def test_as_the_frozen_app_runs_it_bundled_model_and_demo_folder(bundled_model_dir, capsys):
    # `ra-desktop --self-test` with no options, as installer/ and `make installer-test` run it:
    # the bundled model, the first RA case of the bundled demo folder, real Grad-CAM and SHAP,
    # a real PDF. Nothing faked.
    import json

    from ra_desktop.paths import demo_dir

    manifest = json.loads((bundled_model_dir / "manifest.json").read_text())
    assert main(["--self-test"]) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    for step, _ in self_test.STEPS:
        assert f"[ok] {step}" in out, out
    assert f"{manifest['name']} {manifest['version']} (vgg8)" in out and manifest["weights_sha256"][:12] in out
    case_line = next(line for line in out.splitlines() if line.startswith("[ok] case"))
    assert str(demo_dir() / "RA") in case_line, case_line
    analysis = next(line for line in out.splitlines() if line.startswith("[ok] analysis"))
    assert "P(RA)=" in analysis and "gradcam" in analysis and "shap" in analysis, analysis
    assert "OOD check: distance" in analysis and "in distribution" in analysis, analysis
    teaching = next(line for line in out.splitlines() if line.startswith("[ok] teaching"))
    assert "explorer: P(RA) " in teaching and "demo model trained on synthetic phantoms" in teaching, teaching
    assert "marker bars; quiz: case 1 total difference" in teaching and "quiz.pdf written" in teaching, teaching
    densenet = next(line for line in out.splitlines() if line.startswith("[ok] densenet"))
    if self_test._torchvision():  # the development environment and the full installer
        assert "torchvision.ops.nms ok; DenseNet121 + attention" in densenet and "analysed on cpu" in densenet
        assert "the app would use" in densenet, densenet
    else:
        assert "skipped: no torchvision" in densenet, densenet
    assert "self-test passed" in out


def test_bundled_model_without_its_ood_statistics_fails_at_analysis(bundled_model_dir, tmp_path,
                                                                    fake_explain, capsys):
    # Without ood_stats.npz the pipeline only logs "OOD check not available" and would give
    # verdicts on real films; the self-test must not pass such an installation.
    import json
    import shutil

    ood_file = json.loads((bundled_model_dir / "manifest.json").read_text())["ood"]["file"]
    copy = tmp_path / "model"
    shutil.copytree(bundled_model_dir, copy, ignore=shutil.ignore_patterns(ood_file))
    assert not (copy / ood_file).exists()
    assert self_test.run(_args(model=copy)) == 1
    err = capsys.readouterr().err
    assert "self-test FAILED at step 'analysis'" in err and "OOD check" in err and ood_file in err, err


def test_dispatcher_maps_the_flag(model_dir, case_png, fake_explain, capsys):
    assert main(["--self-test", "--model", str(model_dir), "--case", str(case_png)]) == 0
    assert "self-test passed" in capsys.readouterr().out


def test_missing_model_names_the_step(tmp_path, case_png, capsys):
    assert self_test.run(_args(model=tmp_path / "nope", case=case_png)) == 1
    err = capsys.readouterr().err
    assert "self-test FAILED at step 'model'" in err and "nope" in err


def test_bundled_model_missing_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr("ra_desktop.paths.default_model_dir", lambda: tmp_path / "models" / "ra-vgg8-phantom")
    assert self_test.run(_args()) == 1
    assert "bundled model folder" in capsys.readouterr().err


def test_corrupt_weights_name_the_step(tmp_path, case_png, capsys):
    bad = make_tiny_model_folder(tmp_path, name="bad")
    with open(bad / "weights.safetensors", "r+b") as fh:
        fh.seek(-16, 2)
        fh.write(b"\0" * 16)
    assert self_test.run(_args(model=bad, case=case_png)) == 1
    err = capsys.readouterr().err
    assert "step 'model'" in err and "sha256" in err


def test_missing_case_names_the_step(model_dir, tmp_path, capsys):
    assert self_test.run(_args(model=model_dir, case=tmp_path / "missing.png")) == 1
    assert "self-test FAILED at step 'case'" in capsys.readouterr().err


def test_demo_folder_is_used_by_default(model_dir, case_png, tmp_path, monkeypatch, fake_explain, capsys):
    demo = tmp_path / "demo"
    (demo / "RA").mkdir(parents=True)
    (demo / "RA" / "ra-case.png").write_bytes(case_png.read_bytes())
    monkeypatch.setattr("ra_desktop.paths.demo_dir", lambda: demo)
    assert self_test.run(_args(model=model_dir)) == 0
    assert "ra-case.png" in capsys.readouterr().out


def test_empty_demo_folder_names_the_step(model_dir, tmp_path, monkeypatch, capsys):
    (tmp_path / "demo").mkdir()
    monkeypatch.setattr("ra_desktop.paths.demo_dir", lambda: tmp_path / "demo")
    assert self_test.run(_args(model=model_dir)) == 1
    assert "step 'case': no image files" in capsys.readouterr().err


def test_failed_explanation_names_the_stage(model_dir, case_png, monkeypatch, capsys):
    from ra_desktop.errors import RADesktopError

    def explain_case(model, x, geometry, method, cancel=None, ground_truth=None, values=None):
        raise RADesktopError(f"{method} broke")

    monkeypatch.setattr(ra_desktop.explain, "explain_case", explain_case, raising=False)
    assert self_test.run(_args(model=model_dir, case=case_png)) == 1
    err = capsys.readouterr().err
    assert "step 'analysis'" in err and "gradcam" in err and "gradcam broke" in err


def test_unknown_version_fails(monkeypatch, capsys):
    monkeypatch.setattr("ra_desktop.__version__", "0.0.0+unknown")
    assert self_test.run(_args()) == 1
    assert "step 'environment'" in capsys.readouterr().err


def test_dicom_step_builds_the_objects_and_stores_the_case_on_loopback(model_dir, fake_explain, capsys):
    # The demo DICOM case: SR, SC and PDF are built; the case and the SC go by C-STORE to a
    # listener on 127.0.0.1 and must be in its inbox (in the kept temporary folder).
    from ra_desktop.paths import demo_dir

    case = demo_dir() / "RA" / "phantom_900000_000004.dcm"
    assert self_test.run(_args(model=model_dir, case=case, keep=True)) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    line = next(line for line in out.splitlines() if line.startswith("[ok] dicom"))
    assert "SR " in line and "SC " in line and "PDF " in line, line
    assert "@127.0.0.1:" in line and "C-ECHO ok" in line, line
    assert f"C-STORE {case.name} + SC: 2 of 2 in the inbox" in line, line
    kept = Path(next(line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("kept: ")))
    stored = sorted((kept / "dicom-inbox").glob("*/*.dcm"))
    assert len(stored) == 2
    import pydicom

    sop_classes = {str(pydicom.dcmread(f, stop_before_pixels=True).SOPClassUID) for f in stored}
    assert sop_classes == {"1.2.840.10008.5.1.4.1.1.1.1", "1.2.840.10008.5.1.4.1.1.7"}  # DX case + SC


def test_dicom_step_png_case_sends_the_secondary_capture(model_dir, case_png, fake_explain, capsys):
    assert self_test.run(_args(model=model_dir, case=case_png)) == 0, capsys.readouterr().err
    line = next(line for line in capsys.readouterr().out.splitlines() if line.startswith("[ok] dicom"))
    assert "C-STORE SC (the case is not a DICOM file): 1 of 1 in the inbox" in line, line


def test_dicom_listener_that_cannot_listen_names_the_step(model_dir, case_png, fake_explain, monkeypatch, capsys):
    from ra_desktop.dicomnet.listener import StoreListener

    def refuse(self):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(StoreListener, "start", refuse)
    assert self_test.run(_args(model=model_dir, case=case_png)) == 1
    err = capsys.readouterr().err
    assert "self-test FAILED at step 'dicom'" in err and "127.0.0.1" in err and "loopback" in err, err


def test_dicom_echo_failure_names_the_step_and_loopback(model_dir, case_png, fake_explain, monkeypatch, capsys):
    from ra_desktop.dicomnet.nodes import EchoResult

    def echo(node, *, calling_aet, timeout=10):
        return EchoResult(node, False, error=f"DICOM node {node}: cannot connect: Network is unreachable")

    monkeypatch.setattr("ra_desktop.dicomnet.nodes.echo", echo)
    assert self_test.run(_args(model=model_dir, case=case_png)) == 1
    err = capsys.readouterr().err
    assert "self-test FAILED at step 'dicom': C-ECHO" in err and "Network is unreachable" in err, err
    assert "loopback interface must be up" in err, err


def test_teaching_step_failure_names_the_step(model_dir, case_png, fake_explain, capsys, monkeypatch):
    # A bundle without the quiz's PDF page (say) fails the teaching step by name, and stops there.
    def broken(*a, **k):
        raise ModuleNotFoundError("No module named 'ra_desktop.report.quiz'")

    monkeypatch.setattr("ra_desktop.report.quiz.write_quiz_pdf", broken)
    assert self_test.run(_args(model=model_dir, case=case_png)) == 1
    captured = capsys.readouterr()
    assert "self-test FAILED at step 'teaching': ModuleNotFoundError" in captured.err, captured.err
    assert "[ok] scoring" in captured.out and "[ok] dicom" not in captured.out
