"""``ra-desktop --self-test``: an offline end-to-end check of an installation (or a checkout).

Runs, in order, and stops at the first failure:

1. ``environment``  version, frozen or not, install folder, torch, torchvision (optional);
2. ``decoders``     pydicom's decoder plugins: a JPEG 2000 image is encoded and decoded through
                    pylibjpeg (the plugins are found through entry points, which a frozen app loses
                    unless their metadata is bundled);
3. ``model``        loads the bundled model (or ``--model DIR``), sha256 verified;
4. ``case``         finds a demo case (or ``--case FILE``);
5. ``analysis``     prediction, Grad-CAM and SHAP; every stage must succeed with a finite map;
                    a model whose manifest declares an OOD check must have made one;
   ``densenet``     where torchvision is installed (required in the full installer): its compiled
                    operators (``ops.nms``), then a DenseNet121 + attention folder with random
                    weights, made in the temporary folder, loaded and analysed (P(RA), Grad-CAM),
                    and the device the app would pick;
6. ``report``       writes a PDF report into a new temporary folder;
7. ``scoring``      a Sharp/van der Heijde sheet: totals, markers, scores CSV, a report with it;
8. ``teaching``     the marker explorer's hand, twin and model readout, and a scoring-quiz case
                    scored, saved, exported as CSV and PDF; both windows importable;
9. ``dicom``        the case's results as DICOM (SR, Secondary Capture, Encapsulated PDF, built by
                    highdicom as "Save as DICOM" builds them), then the DICOM node on loopback: a
                    store listener on 127.0.0.1 (any free port) with an inbox in the temporary
                    folder, a C-ECHO to it and a C-STORE of the case (when it is a DICOM file) and
                    the Secondary Capture, both of which must land in the inbox.

Exit status 0 when every step passed; 1 otherwise, with ``self-test FAILED at step '<step>': why``
on stderr. Nothing leaves this computer (the ``dicom`` step talks to itself on 127.0.0.1); nothing is written outside the temporary folder (removed
afterwards unless ``--keep``) and the user folders of :mod:`ra_desktop.paths`.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ra_desktop
from ra_desktop import paths
from ra_desktop.dicomnet import nodes
from ra_desktop.dicomnet.nodes import DicomNetError, RemoteNode
from ra_desktop.dicomnet.send import send
from ra_desktop.errors import ModelUnavailable, RADesktopError
from ra_desktop.results import STAGE_OK, probability_texts
from ra_desktop.scoring.csvio import read_scores_csv, write_scores_csv
from ra_desktop.scoring.svdh import NOT_ASSESSABLE, hand_areas, totals
from ra_desktop.scoring.template import fit_sites


class StepFailed(Exception):
    """One self-test step failed; the message says why in words a user can act on."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``self-test`` options."""
    parser.add_argument("--model", metavar="DIR", default=None,
                        help="model folder to test (default: the bundled model)")
    parser.add_argument("--case", metavar="FILE", default=None,
                        help="image to analyse (default: the first bundled demo case)")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="cpu",
                        help="where to run the model (default: cpu, which every installation has)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the temporary folder with the PDF report and print its path")


# --- the steps --------------------------------------------------------------------------------

def _build_variant() -> str | None:
    """The installer variant ("cpu", "full") of a frozen app; None from source or when unknown."""
    if not getattr(sys, "frozen", False):
        return None
    # Written by installer/ra_desktop.spec: which installer variant this is.
    info = paths.install_root() / "ra_desktop_build.json"
    try:
        return str(json.loads(info.read_text(encoding="utf-8"))["variant"])
    except (OSError, ValueError, KeyError):
        return None


def _torchvision() -> str | None:
    """torchvision's version when it imports with its compiled operators; None when absent."""
    try:
        import torchvision
    except ImportError:
        return None
    except Exception as exc:  # present but broken: the failure of the full installer (issue #29)
        raise StepFailed(f"torchvision is installed but does not import: {type(exc).__name__}: {exc} "
                         "(its compiled operators, torchvision/_C_stable, are missing or did not load)") from exc
    from torchvision.extension import _has_ops

    if not _has_ops():
        raise StepFailed(f"torchvision {torchvision.__version__} imports, but its compiled operators "
                         "(torchvision/_C_stable) did not load")
    return str(torchvision.__version__)


def _environment(args: argparse.Namespace, state: dict[str, Any]) -> str:
    if ra_desktop.__version__.startswith("0.0.0"):
        # The version comes from package metadata; a frozen build without it shows 0.0.0+unknown.
        raise StepFailed(f"the application version is unknown ({ra_desktop.__version__}): package metadata "
                         "for 'ra-desktop' is missing from this installation")
    try:
        import torch
    except ImportError as exc:  # a broken installation is what the self-test is there to report
        raise StepFailed(f"torch cannot be imported: {exc}") from exc
    state["torchvision"] = _torchvision()
    tv = (f"torchvision {state['torchvision']} with its compiled operators (DenseNet models supported)"
          if state["torchvision"] else "no torchvision (VGG8 models only)")
    variant = _build_variant()
    frozen = "from source" if not getattr(sys, "frozen", False) else (
        f"frozen, {variant} variant" if variant else "frozen")
    cuda = "CUDA available" if torch.cuda.is_available() else "no CUDA"
    return (f"RA Desktop {ra_desktop.__version__} ({frozen}) in {paths.install_root()}; torch {torch.__version__}, "
            f"{cuda}; {tv}")


def _decoders(args: argparse.Namespace, state: dict[str, Any]) -> str:
    import io

    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.pixels import decoders
    from pydicom.pixels.utils import pixel_array
    from pydicom.uid import JPEG2000Lossless, ExplicitVRLittleEndian, generate_uid

    wanted = {"JPEG 2000": decoders.JPEG2000LosslessDecoder, "JPEG lossless": decoders.JPEGLosslessSV1Decoder,
              "RLE": decoders.RLELosslessDecoder}
    missing = [name for name, dec in wanted.items() if "pylibjpeg" not in dec.available_plugins]
    if missing:
        raise StepFailed("pydicom's pylibjpeg decoder plugin is not available for " + ", ".join(missing)
                         + " (pylibjpeg and its openjpeg/libjpeg/rle plugins, or their entry-point "
                         "metadata, are missing)")
    # A real round trip: encode a 12-bit image as JPEG 2000 and decode it with pylibjpeg only.
    arr = ((np.arange(64 * 48, dtype=np.uint16).reshape(64, 48) * 7) % 4096).astype(np.uint16)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.1.1"  # digital X-ray
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = ds.file_meta.MediaStorageSOPInstanceUID
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = arr.tobytes()
    try:
        ds.compress(JPEG2000Lossless, encoding_plugin="pylibjpeg")
        buf = io.BytesIO()
        ds.save_as(buf, enforce_file_format=True)
        back = pixel_array(pydicom.dcmread(io.BytesIO(buf.getvalue())), decoding_plugin="pylibjpeg")
    except Exception as exc:  # any plugin failure is this step's failure, said plainly
        raise StepFailed(f"JPEG 2000 round trip through pylibjpeg failed: {type(exc).__name__}: {exc}") from exc
    if back.shape != arr.shape or not np.array_equal(back, arr):
        raise StepFailed("JPEG 2000 lossless round trip changed the pixels")
    # The window decodes JPEG 2000 in a worker process (io.offdecode): it must start, also frozen.
    from ra_desktop.io import offdecode

    was = offdecode.enabled()
    offdecode.enable()
    try:
        before = offdecode.counts()["process"]
        there, _ = offdecode.run(offdecode.frame_pixels, buf.getvalue(), False, None)
        if offdecode.counts()["process"] != before + 1:
            raise StepFailed(f"the JPEG 2000 decoding process did not run ({offdecode._WORKER.fallback_reason})")
    finally:
        offdecode.enable(was)
    if not np.array_equal(there, arr):
        raise StepFailed("the JPEG 2000 decoding process changed the pixels")
    return ("pylibjpeg decodes JPEG 2000, JPEG lossless and RLE; JPEG 2000 round trip exact, also in the "
            "decoding process")


def _model(args: argparse.Namespace, state: dict[str, Any]) -> str:
    model_dir = Path(args.model) if args.model else paths.default_model_dir()
    if not model_dir.is_dir():
        where = "the folder given with --model" if args.model else "the bundled model folder"
        raise StepFailed(f"{where} {model_dir} does not exist")
    # lazy: torch, pydicom load when the command runs, not for --help
    from ra_desktop.model import load_model

    try:
        model = load_model(model_dir, args.device)
    except ModelUnavailable as exc:
        raise StepFailed(str(exc)) from exc
    state["model"] = model
    m = model.manifest
    return f"{m.name} {m.version} ({m.architecture}) on {model.device}, sha256 {m.weights_sha256[:12]}… verified"


def _case(args: argparse.Namespace, state: dict[str, Any]) -> str:
    if args.case:
        case = Path(args.case)
        if not case.is_file():
            raise StepFailed(f"the file given with --case {case} does not exist")
    else:
        # lazy: pydicom loads when the command runs, not for --help
        from ra_desktop.io import iter_image_files

        demo = paths.demo_dir()
        if not demo.is_dir():
            raise StepFailed(f"the demo folder {demo} is missing from this installation")
        # Prefer an RA case: its heat maps have something to show.
        case = next(iter(iter_image_files([demo / "RA"]) if (demo / "RA").is_dir() else ()), None)
        case = case or next(iter(iter_image_files([demo])), None)
        if case is None:
            raise StepFailed(f"no image files in the demo folder {demo}")
    state["case"] = case
    return str(case)


def _analysis(args: argparse.Namespace, state: dict[str, Any]) -> str:
    import numpy as np

    # lazy: pydicom loads when the command runs, not for --help
    from ra_desktop.pipeline import analyse, drain

    def each(stage) -> None:
        if stage.status != STAGE_OK:
            raise StepFailed(f"stage '{stage.stage}' {stage.status}: {stage.message}")

    methods = ("gradcam", "shap")
    try:
        result = drain(analyse(state["case"], state["model"], explanations=methods), each)
    except RADesktopError as exc:
        raise StepFailed(str(exc)) from exc
    if not np.isfinite(result.probability) or not 0.0 <= result.probability <= 1.0:
        raise StepFailed(f"the probability {result.probability} is not in [0, 1]")
    for method in methods:
        heatmap = result.heatmaps.get(method)
        if heatmap is None:
            raise StepFailed(f"no {method} map was produced")
        if heatmap.values.shape != result.radiograph.pixels.shape:
            raise StepFailed(f"the {method} map is {heatmap.values.shape}, the image "
                             f"{result.radiograph.pixels.shape}")
        if not np.isfinite(heatmap.values).any():
            raise StepFailed(f"the {method} map has no finite value")
    # The pipeline only logs a broken OOD check; an installation that would then give verdicts
    # on films unlike its training data must not pass.
    if state["model"].manifest.ood and result.ood is None:
        raise StepFailed("the model's manifest declares an OOD check, but none was made "
                         f"(is {state['model'].manifest.ood.get('file')!r} missing or damaged "
                         "in the model folder?)")
    state["result"] = result
    t = result.timings_ms
    times = ", ".join(f"{k} {t[k]:.0f} ms" for k in ("inference", *methods) if k in t)

    p_text, t_text = probability_texts(result.probability, result.threshold, decimals=3)
    ood = ""
    if result.ood is not None:
        where = "in" if result.ood.in_distribution else "OUT OF"
        ood = (f"; OOD check: distance {result.ood.distance:.2f} (threshold "
               f"{result.ood.threshold:.2f}, {where} distribution)")
    return f"P(RA)={p_text} -> {result.label} (threshold {t_text}); {times}{ood}"


def _densenet(args: argparse.Namespace, state: dict[str, Any]) -> str:
    """torchvision's compiled operators and a DenseNet model folder through the analysis."""
    if state.get("torchvision") is None:
        if _build_variant() == "full":
            raise StepFailed("the full variant must include torchvision (DenseNet models), and it has none")
        return "skipped: no torchvision in this installation (VGG8 models only; DenseNet models need the full build)"
    import torch
    import torchvision

    # lazy: the analysis stack loads when the command runs, not for --help
    from ra_desktop.model import build_model, load_model, pick_device, save_model_folder
    from ra_desktop.pipeline import analyse, drain
    from ra_desktop.preprocess import PreprocessConfig

    # nms runs in torchvision's compiled library: of two overlapping boxes it keeps the better one.
    keep = torchvision.ops.nms(torch.tensor([[0.0, 0.0, 10.0, 10.0], [1.0, 1.0, 10.0, 10.0]]),
                               torch.tensor([0.9, 0.8]), 0.5)
    if keep.tolist() != [0]:
        raise StepFailed(f"torchvision.ops.nms kept boxes {keep.tolist()} of two overlapping boxes, not [0]")
    # A DenseNet121 + attention folder with random weights, made here for this check only.
    torch.manual_seed(0)
    folder = state["tmp"] / "densenet121-self-test"
    save_model_folder(build_model("densenet121"), folder, name="self-test-densenet121", version="0.0.0-self-test",
                      arch="densenet121", preprocessing=PreprocessConfig(), threshold=0.5,
                      training_data="none: random weights made by the self-test", synthetic_training_data=True,
                      intended_use="Self-test only; predictions are meaningless.",
                      training={"command": "ra-desktop --self-test", "epochs": 0}, validation_metrics=None,
                      weights_dtype="float16", extra={"test_only": True})

    def each(stage) -> None:
        if stage.status != STAGE_OK:
            raise StepFailed(f"DenseNet121 stage '{stage.stage}' {stage.status}: {stage.message}")

    try:
        model = load_model(folder, args.device)
        result = drain(analyse(state["case"], model, explanations=("gradcam",)), each)
    except RADesktopError as exc:
        raise StepFailed(f"DenseNet121: {exc}") from exc
    if not 0.0 <= result.probability <= 1.0 or "gradcam" not in result.heatmaps:
        raise StepFailed(f"DenseNet121 gave P(RA)={result.probability} and maps {sorted(result.heatmaps)}")
    auto = pick_device("auto")
    would = f"cuda ({torch.cuda.get_device_name(0)})" if auto.type == "cuda" else "cpu (no CUDA GPU)"
    t = result.timings_ms
    return (f"torchvision.ops.nms ok; DenseNet121 + attention (random weights, made for this test) loaded, "
            f"sha256 verified, analysed on {model.device}: inference {t.get('inference', 0):.0f} ms, "
            f"Grad-CAM {t.get('gradcam', 0):.0f} ms; the app would use {would}")


def _report(args: argparse.Namespace, state: dict[str, Any]) -> str:
    # lazy: pydicom, scipy, fpdf load when the command runs, not for --help
    from ra_desktop.report import write_report

    try:
        out = write_report(state["result"], state["tmp"], manifest=state["model"].manifest)
    except Exception as exc:  # a report failure of any kind is this step's failure
        raise StepFailed(f"{type(exc).__name__}: {exc}") from exc
    data = Path(out).read_bytes()
    if not data.startswith(b"%PDF-") or len(data) < 2048:
        raise StepFailed(f"{out} is not a plausible PDF ({len(data)} bytes)")
    state["report"] = out
    return f"{out} ({len(data) / 1024:.0f} KiB)"


def _scoring(args: argparse.Namespace, state: dict[str, Any]) -> str:
    """A Sharp/van der Heijde sheet on the case: totals, markers from the hand template, the
    scores CSV there and back, and a report that prints them."""
    # lazy: pydicom, scipy, fpdf load when the command runs, not for --help
    from ra_desktop.report import write_report
    from ra_desktop.report.model import ScoreSheetData

    rg = state["result"].radiograph
    hand = rg.laterality if rg.laterality in ("L", "R") else "R"
    sheet = {a.key: (NOT_ASSESSABLE if i == 3 else i % (a.max + 1)) for i, a in enumerate(hand_areas(hand))}
    h, w = rg.pixels.shape
    markers = fit_sites(hand, {"MCP2": (0.47 * w, 0.42 * h), "MCP5": (0.71 * w, 0.48 * h)})
    csv_path = state["tmp"] / "scores.csv"
    write_scores_csv(csv_path, rg.case_id, {"self-test": sheet}, hands=(hand,))
    (back,) = read_scores_csv(csv_path)
    if back.scores != sheet:
        raise StepFailed("the scores CSV did not read back what was written")
    data = ScoreSheetData("self-test", sheet, {(hand, s): xy for s, xy in markers.items()})
    try:
        out = write_report(state["result"], state["tmp"] / "scored", manifest=state["model"].manifest,
                           scores=data)
    except Exception as exc:  # noqa: BLE001 - any failure is this step's
        raise StepFailed(f"report with scores: {type(exc).__name__}: {exc}") from exc
    t = totals(sheet, [hand])
    return f"{hand} hand total {t.total}/{t.total_max}, {len(markers)} markers, CSV round trip, {Path(out).name}"


def _teaching(args: argparse.Namespace, state: dict[str, Any]) -> str:
    from ra_desktop.cli.self_test_teaching import check

    try:
        return check(state["model"], state["tmp"] / "teaching")
    except Exception as exc:  # noqa: BLE001 - any failure is this step's
        raise StepFailed(f"{type(exc).__name__}: {exc}") from exc


SELF_TEST_AET = "RASELFTEST"
SELF_TEST_CALLER = "RASELFTESTSCU"


def _dicom(args: argparse.Namespace, state: dict[str, Any]) -> str:
    """SR, SC and Encapsulated PDF of the analysed case, then a loopback store listener: C-ECHO and
    C-STORE to it, and the instances must be in its inbox."""
    import io

    import pydicom

    # lazy: pydicom, scipy, fpdf, highdicom load when the command runs, not for --help
    from ra_desktop.dicomout.bundle import KINDS, ResultBundle, build_objects

    result = state["result"]
    try:
        datasets, _ctx = build_objects(ResultBundle(result=result, manifest=state["model"].manifest))
    except Exception as exc:  # noqa: BLE001 - any failure building the objects is this step's
        raise StepFailed(f"building the DICOM objects (SR, SC, PDF): {type(exc).__name__}: {exc}") from exc
    if len(datasets) != len(KINDS):
        raise StepFailed(f"expected an SR, an SC and an Encapsulated PDF, got {len(datasets)} object(s)")
    built = []
    for kind, ds in zip(KINDS, datasets):
        buf = io.BytesIO()
        try:
            ds.save_as(buf, enforce_file_format=True)
            back = pydicom.dcmread(io.BytesIO(buf.getvalue()))
        except Exception as exc:  # noqa: BLE001
            raise StepFailed(f"the {kind.upper()} object does not encode and read back: "
                             f"{type(exc).__name__}: {exc}") from exc
        if back.SOPInstanceUID != ds.SOPInstanceUID or back.SOPClassUID != ds.SOPClassUID:
            raise StepFailed(f"the {kind.upper()} object read back with other UIDs")
        built.append(f"{kind.upper()} {len(buf.getvalue()) / 1024:.0f} KiB")
    sc = datasets[KINDS.index("sc")]

    from ra_desktop.dicomnet.inbox import Inbox  # lazy, as above
    from ra_desktop.dicomnet.listener import StoreListener

    to_send: list[Any] = []
    case = Path(state["case"])
    if getattr(result.radiograph, "format", None) == "DICOM":
        to_send.append(case)
    to_send.append(sc)
    listener = StoreListener(SELF_TEST_AET, 0, host="127.0.0.1", allowed_callers=(SELF_TEST_CALLER,),
                             inbox=Inbox(state["tmp"] / "dicom-inbox"))
    try:
        listener.start()
    except OSError as exc:
        raise StepFailed(f"the DICOM listener cannot open a port on 127.0.0.1: {exc} (is the loopback "
                         "interface down?)") from exc
    try:
        node = RemoteNode(SELF_TEST_AET, "127.0.0.1", listener.port)
        answer = nodes.echo(node, calling_aet=SELF_TEST_CALLER, timeout=10)
        if not answer.ok:
            raise StepFailed(f"C-ECHO to our own listener failed: {answer.error} (this computer's "
                             "loopback interface must be up: the DICOM node talks to itself on 127.0.0.1)")
        try:
            sent = send(node, to_send, calling_aet=SELF_TEST_CALLER, timeout=10)
        except DicomNetError as exc:
            raise StepFailed(f"C-STORE to our own listener failed: {exc}") from exc
        if not sent.ok:
            raise StepFailed("C-STORE to our own listener failed: "
                             + "; ".join(f"{i.source}: {i.error}" for i in sent.failed))
        missing = [i.source for i in sent.instances if listener.inbox.find(i.sop_instance_uid) is None]
        if missing:
            raise StepFailed(f"stored but not in the listener's inbox: {', '.join(missing)}")
    finally:
        listener.stop(grace_s=5)
    if listener.is_running:
        raise StepFailed("the DICOM listener did not stop")
    what = f"{case.name} + SC" if len(to_send) == 2 else "SC (the case is not a DICOM file)"
    return (f"{', '.join(built)}; listener {node}: C-ECHO ok in {answer.round_trip_ms:.0f} ms, "
            f"C-STORE {what}: {sent.sent} of {len(to_send)} in the inbox, stopped")


STEPS: tuple[tuple[str, Callable[[argparse.Namespace, dict[str, Any]], str]], ...] = (
    ("environment", _environment),
    ("decoders", _decoders),
    ("model", _model),
    ("case", _case),
    ("analysis", _analysis),
    ("densenet", _densenet),
    ("report", _report),
    ("scoring", _scoring),
    ("teaching", _teaching),
    ("dicom", _dicom),
)


def run(args: argparse.Namespace) -> int:
    """Run every step; 0 if all passed, 1 at the first failure (named on stderr)."""
    tmp = Path(tempfile.mkdtemp(prefix="ra-self-test-"))
    state: dict[str, Any] = {"tmp": tmp}
    t_all = time.perf_counter()
    try:
        for name, step in STEPS:
            t0 = time.perf_counter()
            try:
                detail = step(args, state)
            except StepFailed as exc:
                print(f"self-test FAILED at step '{name}': {exc}", file=sys.stderr, flush=True)
                return 1
            except Exception as exc:  # an unexpected error still names its step
                print(f"self-test FAILED at step '{name}': unexpected {type(exc).__name__}: {exc}",
                      file=sys.stderr, flush=True)
                return 1
            print(f"[ok] {name:<11} {detail} ({(time.perf_counter() - t0):.1f} s)", flush=True)
        print(f"self-test passed in {time.perf_counter() - t_all:.1f} s", flush=True)
        return 0
    finally:
        if args.keep:
            print(f"kept: {tmp}", flush=True)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
