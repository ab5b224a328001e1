"""``ra-desktop export-dicom FILE... --out DIR [--sr] [--sc] [--pdf] [--deidentify]``: analyse each
image with the bundled model (or ``--model``) and write its results as DICOM objects, the same the
app sends to PACS: a Structured Report, a Secondary Capture of the annotated view and the PDF
report as Encapsulated PDF (all three when none is chosen).

Each object joins the source image's study (a PNG/JPEG gets a study of its own, derived from its
content, and ``--patient-id`` as its patient ID); ``--deidentify`` follows the report's
de-identify setting (:mod:`ra_desktop.dicomout.context`). Files are written atomically as
``RA-<SR|SC|PDF>_<case id or pseudonym>.dcm`` and never overwrite one another.

Exit status: 0 every file exported, 2 some file failed (named on stderr; the others are still
written), 1 the model could not be loaded.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ra_desktop import audit, paths
from ra_desktop.errors import ModelUnavailable, RADesktopError
from ra_desktop.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``export-dicom`` options."""
    parser.add_argument("paths", nargs="+", metavar="FILE", help="images or folders of images")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the DICOM files")
    parser.add_argument("--sr", action="store_true", help="write the Structured Report (TID 1500)")
    parser.add_argument("--sc", action="store_true", help="write the Secondary Capture of the annotated view")
    parser.add_argument("--pdf", action="store_true", help="write the PDF report as Encapsulated PDF")
    parser.add_argument("--deidentify", action="store_true",
                        help="replace patient name and ID by this workstation's pseudonym, drop dates, "
                             "derive new study/series UIDs (as the report's de-identify setting)")
    parser.add_argument("--measure", action="store_true",
                        help="add radiogrammetry (MCI, joint space widths) to the Structured Report")
    parser.add_argument("--patient-id", metavar="ID", default=None,
                        help="patient ID for images without a DICOM header (PNG, JPEG...)")
    parser.add_argument("--model", metavar="DIR", default=None,
                        help="model folder (manifest.json + weights); default: the bundled model")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to run the model (default: auto)")
    parser.add_argument("--overlay", choices=("gradcam", "shap"), default="gradcam",
                        help="heat map in the Secondary Capture and the PDF (default: gradcam)")
    parser.add_argument("--institution", metavar="NAME", default=None, help="Institution Name of the new objects")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false",
                        help="do not descend into sub-folders")


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RADesktopError):
        return getattr(exc, "reason", None) or str(exc)
    return f"{type(exc).__name__}: {exc}"


def export_one(path: Path, model, out: Path, kinds: tuple[str, ...], *, deidentify: bool = False,
               overlay: str = "gradcam", measure: bool = False, patient_id: str | None = None,
               institution: str | None = None) -> tuple[str, list[Path]]:
    """Analyse one file and write the chosen objects; returns its case id and the files written.
    The objects are those the window saves and sends (``dicomout.bundle``)."""
    # lazy: pydicom, scipy, fpdf, highdicom load when the command runs, not for --help
    from ra_desktop.dicomout import write_dataset
    from ra_desktop.dicomout.bundle import ResultBundle, build_objects
    from ra_desktop.dicomout.files import file_name
    from ra_desktop.pipeline import analyse, drain

    methods = ("gradcam",) if overlay == "gradcam" else ("gradcam", "shap")
    result = drain(analyse(path, model, explanations=methods))
    radiogrammetry = None
    if measure:
        from ra_desktop.measure import measure_hand  # lazy, as above
        from ra_desktop.report.radiogrammetry import RadiogrammetryData

        radiogrammetry = RadiogrammetryData(measure_hand(result.radiograph))
    bundle = ResultBundle(result=result, manifest=model.manifest, radiogrammetry=radiogrammetry,
                          institution=institution, deidentify=deidentify, overlay=overlay, patient_id=patient_id)
    datasets, ctx = build_objects(bundle, kinds)
    # Every object is built before the first is written: a failure leaves none of this file's.
    written = [write_dataset(ds, out, file_name(ds, ctx.case_label)) for ds in datasets]
    return str(result.radiograph.case_id), written


def run(args: argparse.Namespace) -> int:
    """Export; see the module docstring for exit codes."""
    from ra_desktop.io import iter_image_files  # lazy: pydicom loads when the command runs, not for --help

    kinds = tuple(k for k in ("sr", "sc", "pdf") if getattr(args, k)) or ("sr", "sc", "pdf")
    model_dir = Path(args.model) if args.model else paths.default_model_dir()
    files = list(iter_image_files([Path(p) for p in args.paths], recursive=args.recursive))
    if not files:
        print("error: no image files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    from ra_desktop.model import load_model  # torch loads here, not at import

    try:
        model = load_model(model_dir, args.device)
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1

    reader = load_settings().reader_name
    model_label = audit.model_label(model.manifest)
    out = Path(args.out)
    failed = 0
    for n, path in enumerate(files, 1):
        print(f"[{n}/{len(files)}] {path.name}", file=sys.stderr, flush=True)
        try:
            case_id, written = export_one(path, model, out, kinds, deidentify=args.deidentify, overlay=args.overlay,
                                          measure=args.measure, patient_id=args.patient_id,
                                          institution=args.institution)
        except Exception as exc:  # noqa: BLE001 - one bad file is reported, the batch goes on
            failed += 1
            print(f"error: {path}: {_reason(exc)}", file=sys.stderr, flush=True)
            continue
        audit.record(audit.EXPORTED, case_id, reader=reader, source="cli export-dicom", model=model_label,
                     kind="dicom " + "+".join(kinds), deidentified=bool(args.deidentify))
        for p in written:
            print(p, flush=True)
    if failed:
        print(f"{failed} of {len(files)} file(s) failed; the others are written", file=sys.stderr)
    return 2 if failed else 0
