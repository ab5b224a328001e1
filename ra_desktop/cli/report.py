"""``ra-desktop report FILE... --out DIR``: analyse each image and write one PDF report per study.

Exit status: 0 every report written, 2 some study failed (the others are still written and the
failure is listed in the summary / on stderr) or the summary could not be written, 1 the model
could not be loaded, 130 cancelled. Each report is audited and listed as soon as it is written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ra_desktop import audit, paths
from ra_desktop.errors import ModelUnavailable
from ra_desktop.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``report`` options."""
    parser.add_argument("paths", nargs="+", metavar="FILE", help="images or folders of images")
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the PDF reports")
    parser.add_argument("--model", metavar="DIR", default=None,
                        help="model folder (manifest.json + weights); default: the bundled model")
    parser.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto",
                        help="where to run the model (default: auto)")
    parser.add_argument("--deidentify", action="store_true",
                        help="leave out patient name, ID, dates, file names and the case id (printed as "
                             "this workstation's pseudonym ANON-...)")
    parser.add_argument("--overlay", choices=("gradcam", "shap"), default="gradcam",
                        help="heat map printed over the radiograph (default: gradcam)")
    parser.add_argument("--paper", choices=("a4", "letter"), default="a4", help="paper size (default: a4)")
    parser.add_argument("--institution", metavar="NAME", default=None,
                        help="header line (default: the institution in the settings, else 'RA Desktop')")
    parser.add_argument("--summary", action="store_true",
                        help="also write a summary table of the batch (CSV and one-page PDF)")
    parser.add_argument("--measure", action="store_true",
                        help="add radiogrammetry (MCI, joint space widths; automatic) to each report and the summary")
    parser.add_argument("--no-recursive", dest="recursive", action="store_false",
                        help="do not descend into sub-folders")


def run(args: argparse.Namespace) -> int:
    """Write the reports; see the module docstring for exit codes."""
    # lazy: torch, pydicom, scipy, fpdf load when the command runs, not for --help
    from ra_desktop.io import iter_image_files
    from ra_desktop.report.batch import BatchItem, export_batch
    from ra_desktop.report.model import ReportOptions

    model_dir = Path(args.model) if args.model else paths.default_model_dir()
    files = list(iter_image_files([Path(p) for p in args.paths], recursive=args.recursive))
    if not files:
        print("error: no image files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    # torch loads here, not at import: `ra-desktop --help` stays fast.
    from ra_desktop.model import load_model
    from ra_desktop.pipeline import analyse, drain

    try:
        model = load_model(model_dir, args.device)
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    # Grad-CAM is always computed (it gives the regions); SHAP only when the report shows it.
    methods = ("gradcam",) if args.overlay == "gradcam" else ("gradcam", "shap")

    reader = load_settings().reader_name
    model_label = audit.model_label(model.manifest)

    def produce(path: Path):
        def run_pipeline(cancel):
            result = drain(analyse(path, model, explanations=methods, cancel=cancel))
            audit.record(audit.ANALYSED, result.radiograph.case_id, reader=reader,
                         source="cli report", model=model_label,
                         model_sha256=model.manifest.weights_sha256)
            return result
        return run_pipeline

    measure = None
    if args.measure:
        from ra_desktop.measure import measure_hand  # lazy, as above
        from ra_desktop.measure.definitions import METHOD_VERSION
        from ra_desktop.report.radiogrammetry import RadiogrammetryData

        def measure(case):
            return RadiogrammetryData(measure_hand(case.radiograph), METHOD_VERSION)

    items = [BatchItem(source=str(p), produce=produce(p), manifest=model.manifest, measure=measure) for p in files]
    options = ReportOptions(deidentify=args.deidentify, overlay=args.overlay, paper=args.paper,
                            institution=args.institution)

    def progress(done: int, total: int, message: str) -> None:
        print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    def written(row, case_id: str) -> None:
        # The trail names the real case id; a de-identified report's pseudonym goes beside it.
        extra = {"pseudonym": row.case_id} if args.deidentify else {}
        audit.record(audit.EXPORTED, case_id, reader=reader, source="cli report", model=model_label,
                     kind="report", deidentified=bool(args.deidentify), **extra)
        print(f"{row.report_file}\tP(RA)={row.probability}\t{row.label}\tOOD: {row.ood}", flush=True)

    result = export_batch(items, Path(args.out), progress, options=options, summary=args.summary,
                          on_written=written)
    for row in result.rows:
        if row.status != "written":
            print(f"{row.source}: {row.status.upper()}: {row.reason}", file=sys.stderr)
    if result.summary_error:
        kept = f"; its CSV is written: {result.summary_csv}" if result.summary_csv else ""
        print(f"error: batch summary not written: {result.summary_error} (the {len(result.written)} "
              f"report(s) listed above are written{kept})", file=sys.stderr)
    elif result.summary_csv:
        print(f"summary: {result.summary_csv} {result.summary_pdf}")
    if result.cancelled:
        return 130
    return 2 if result.failed or result.summary_error else 0
