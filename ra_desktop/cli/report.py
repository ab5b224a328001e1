"""``ra-desktop report FILE... --out DIR``: analyse each image and write one PDF report per study.

Exit status: 0 every report written, 2 some study failed (the others are still written and the
failure is listed in the summary / on stderr) or the summary could not be written, 1 the model
could not be loaded, 130 cancelled. Each report is audited and listed as soon as it is written.

Under ``torchrun`` each rank writes the PDFs of every n-th study into ``--out`` (the names one
process gives) and rank 0 lists them, and writes the summary, from the merged rows in file order;
rank 0 exits with the status above, the other ranks with 0.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ra_desktop import audit, paths
from ra_desktop.errors import ModelUnavailable
from ra_desktop.settings import load_settings


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Register the ``report`` options."""
    from ra_desktop.cli.sharded import EPILOG

    parser.epilog = EPILOG.format(command="report")
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
    from ra_desktop.distributed import launched_by_torchrun
    from ra_desktop.io import iter_image_files
    from ra_desktop.report.batch import export_batch

    model_dir = Path(args.model) if args.model else paths.default_model_dir()
    if launched_by_torchrun():
        return _run_sharded(args, model_dir)
    files = list(iter_image_files([Path(p) for p in args.paths], recursive=args.recursive))
    if not files:
        print("error: no image files found in " + ", ".join(args.paths), file=sys.stderr)
        return 2
    # torch loads here, not at import: `ra-desktop --help` stays fast.
    from ra_desktop.model import load_model

    try:
        model = load_model(model_dir, args.device)
    except ModelUnavailable as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    items, options, audit_written = _batch(args, files, model)

    def progress(done: int, total: int, message: str) -> None:
        print(f"[{done}/{total}] {message}", file=sys.stderr, flush=True)

    def written(row, case_id: str) -> None:
        audit_written(row, case_id)
        _print_written(row)

    result = export_batch(items, Path(args.out), progress, options=options, summary=args.summary,
                          on_written=written)
    return _finish(result)


def _batch(args: argparse.Namespace, files: list[Path], model: Any) -> tuple[list[Any], Any, Any]:
    """The batch items (analysed inside the batch), the report options, and the audit of a
    written report."""
    from ra_desktop.pipeline import analyse, drain
    from ra_desktop.report.batch import BatchItem
    from ra_desktop.report.model import ReportOptions

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

    def audit_written(row, case_id: str) -> None:
        # The trail names the real case id; a de-identified report's pseudonym goes beside it.
        extra = {"pseudonym": row.case_id} if args.deidentify else {}
        audit.record(audit.EXPORTED, case_id, reader=reader, source="cli report", model=model_label,
                     kind="report", deidentified=bool(args.deidentify), **extra)

    return items, options, audit_written


def _print_written(row: Any) -> None:
    print(f"{row.report_file}\tP(RA)={row.probability}\t{row.label}\tOOD: {row.ood}", flush=True)


def _finish(result: Any) -> int:
    """Name the studies not written and the summary; the exit status."""
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


def _run_sharded(args: argparse.Namespace, model_dir: Path) -> int:
    """Under torchrun: each rank exports every n-th study; rank 0 lists the merged rows in file
    order and writes the summary from them, as one process would."""
    from ra_desktop.cli import sharded
    # The batch's own summary writer (same names, same error handling as one process).
    from ra_desktop.report.batch import BatchSummary, _write_summary, export_batch
    from ra_desktop.report.builder import institution_name
    from ra_desktop.report.summary import FAILED, SummaryRow
    from ra_desktop.shard import map_ordered

    info = sharded.join(args.device)
    try:
        files = sharded.list_files(info, args.paths, args.recursive)
        if not files:
            if info.is_main:
                print("error: no image files found in " + ", ".join(args.paths), file=sys.stderr)
            return 2 if info.is_main else 0
        model = sharded.load_everywhere(info, model_dir, args.device)
        if model is None:
            return 1 if info.is_main else 0
        items, options, audit_written = _batch(args, files, model)
        total = len(items)

        def export(i: int) -> tuple[Any, bool]:
            res = export_batch([items[i]], Path(args.out), options=options, summary=False,
                               on_written=audit_written)
            row = res.rows[0]
            if options.deidentify and row.source == "study 1 of 1":  # named by its place in the whole batch
                row = SummaryRow(**{**row.__dict__, "source": f"study {i + 1} of {total}"})
            return row, res.cancelled

        def failed(i: int, exc: Exception) -> tuple[Any, bool]:
            source = f"study {i + 1} of {total}" if options.deidentify else items[i].source
            return SummaryRow(source=source, status=FAILED, reason=f"{type(exc).__name__}: {exc}"), False

        result = BatchSummary()

        def show(i: int, rec: tuple[Any, bool]) -> None:
            row, cancelled = rec
            result.rows.append(row)
            result.cancelled |= cancelled
            if row.status == "written":
                _print_written(row)
            print(f"[{i + 1}/{total}] {Path(items[i].source).name}: {row.status}", file=sys.stderr, flush=True)

        map_ordered(info, list(range(total)), export, failed, show)
    finally:
        sharded.leave(info)
    if not info.is_main:
        return 0
    if args.summary and result.rows:
        _write_summary(result, Path(args.out), institution_name(options), options)
    return _finish(result)
