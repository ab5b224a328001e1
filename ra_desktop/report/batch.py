"""Write one PDF per study plus a summary; one failing study never stops the others.

Core code (no Qt): the GUI calls :func:`export_batch` from a worker thread with a progress
callback and a :class:`~ra_desktop.cancel.CancelToken`; the CLI calls it directly.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from ra_desktop.cancel import CancelToken, check
from ra_desktop.errors import Cancelled, RADesktopError
from ra_desktop.logsafe import redact
from ra_desktop.report.adapt import from_case
from ra_desktop.report.builder import REMOVED, build_report, institution_name
from ra_desktop.report.deidentify import deidentify
from ra_desktop.report.files import report_name, write_atomic
from ra_desktop.report.model import ReportInput, ReportOptions
from ra_desktop.report.pdf import render_pdf, write_chunks
from ra_desktop.report.radiogrammetry import csv_cells
from ra_desktop.report.summary import CANCELLED, FAILED, OK, SummaryRow, summary_csv, summary_pdf
from ra_desktop.results import NO_VERDICT, ood_no_verdict
from ra_desktop.scoring.svdh import totals

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int, str], None]
# Called with a written study's summary row and its real case id (the pseudonym is in the row).
WrittenCallback = Callable[[SummaryRow, str], None]


@dataclass
class BatchItem:
    """One study to export.

    Give either ``case`` (an analysed ``CaseResult`` or a ``ReportInput``) or ``produce``, a
    callable ``produce(cancel) -> CaseResult`` run inside the batch (the CLI analyses there, so a
    file that fails to load is reported like any other failure). ``source`` names the study in
    the summary when it fails before a case id is known.
    """

    source: str
    case: Any = None
    produce: Callable[[CancelToken | None], Any] | None = None
    manifest: Any = None
    signoff: Any = None
    scores: Any = None  # the reader's ScoreSheetData, printed when given
    measurements: Any = None  # the study's RadiogrammetryData, printed and in the summary CSV when given
    # Without measurements: measure(case) -> RadiogrammetryData, called with the analysed case, so
    # a study never measured before still has its values (a failure leaves the report without them).
    measure: Callable[[Any], Any] | None = None
    annotations: Any = None  # the reader's AnnotationData (report/annotations.py), printed when given


@dataclass
class BatchSummary:
    """What a batch did: one row per study, the summary files, and whether it was cancelled."""

    rows: list[SummaryRow] = field(default_factory=list)
    summary_csv: Path | None = None
    summary_pdf: Path | None = None
    summary_error: str = ""  # why the summary (CSV or PDF) was not written; the reports were
    cancelled: bool = False
    # The real case id of each row ("" if unknown), for the workstation's audit trail only:
    # in a de-identified batch the rows (and files) carry pseudonyms instead.
    case_ids: list[str] = field(default_factory=list)

    @property
    def written(self) -> list[Path]:
        return [Path(r.report_file) for r in self.rows if r.status == OK]

    @property
    def failed(self) -> list[SummaryRow]:
        return [r for r in self.rows if r.status == FAILED]


def write_report(
    case: Any,
    out_dir: str | Path,
    *,
    manifest: Any = None,
    signoff: Any = None,
    settings: Any = None,
    options: ReportOptions | None = None,
    cancel: CancelToken | None = None,
    scores: Any = None,
    measurements: Any = None,
    annotations: Any = None,
) -> Path:
    """Build and write one study's PDF atomically; returns the file written.

    The name is ``RA-report_<case id>_<date>.pdf`` (``_2``, ``_3``... if taken); the date is the
    study date, or today when de-identified or unknown.
    """
    report = build_report(case, manifest, signoff, settings, options, scores=scores, measurements=measurements,
                          annotations=annotations)
    data = render_pdf(report)
    target = Path(out_dir) / report_name(report.case_id, report.file_date)
    return write_atomic(target, lambda fh: write_chunks(data, fh, check=lambda: check(cancel)))


def _measurements(item: BatchItem, case: Any) -> Any:
    """The item's radiogrammetry: as given, else measured now; None when measuring failed."""
    if item.measurements is not None or item.measure is None:
        return item.measurements
    try:
        return item.measure(case)
    except Cancelled:
        raise
    except Exception as exc:  # noqa: BLE001 - a measurement bug must not cost the study its report
        log.warning("radiogrammetry of %s failed, reported without it: %s: %s", redact(item.source),
                    type(exc).__name__, redact(str(exc)))
        return None


def _row_for(inp: ReportInput, options: ReportOptions) -> SummaryRow:
    if options.deidentify:
        patient = REMOVED
    else:
        patient = " / ".join(v for v in (inp.patient_name, inp.patient_id) if v) or "not recorded"
    if inp.ood is None:
        ood = "not available"
    else:
        ood = ("in distribution" if inp.ood.in_distribution else "OUT OF DISTRIBUTION") + \
            f" ({inp.ood.distance:.2f}/{inp.ood.threshold:.2f})"
    # The source file name can identify the patient: keep it out of a de-identified summary
    # (``inp`` is de-identified by then, so case_id is the pseudonym).
    source = inp.case_id if options.deidentify else inp.source_file
    svdh = {**_svdh_cells(inp), **csv_cells(inp.radiogrammetry)}
    if ood_no_verdict(inp.ood):  # the model does not apply: no number, no label
        return SummaryRow(source=source, case_id=inp.case_id, patient=patient, label=NO_VERDICT, ood=ood, **svdh)
    return SummaryRow(source=source, case_id=inp.case_id, patient=patient,
                      probability=f"{inp.probability:.3f}", label=inp.label, ood=ood, **svdh)


def _svdh_cells(inp: ReportInput) -> dict[str, str]:
    """The reader's Sharp/van der Heijde totals over the scored hands, for the summary CSV."""
    sheet = inp.score_sheet
    hands = sorted({k[0] for k in sheet.scores}) if sheet is not None else []
    if not hands:
        return {}
    t = totals(sheet.scores, hands)
    return {"svdh_reader": sheet.reader, "svdh_hands": "+".join(hands), "svdh_erosion": str(t.erosion),
            "svdh_jsn": str(t.jsn), "svdh_total": str(t.total),
            "svdh_not_assessable": str(t.not_assessable), "svdh_unscored": str(t.unscored)}


def _reason(exc: BaseException) -> str:
    if isinstance(exc, RADesktopError):
        return getattr(exc, "reason", None) or str(exc)
    return f"{type(exc).__name__}: {exc}"


def _write_summary(result: BatchSummary, out: Path, institution: str, options: ReportOptions) -> None:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    try:
        csv_bytes = summary_csv(result.rows)
        result.summary_csv = write_atomic(out / f"RA-report-summary_{stamp}.csv", lambda fh: fh.write(csv_bytes))
        pdf_bytes = summary_pdf(result.rows, institution, options.paper)
        result.summary_pdf = write_atomic(out / f"RA-report-summary_{stamp}.pdf", lambda fh: fh.write(pdf_bytes))
    except Exception as exc:  # noqa: BLE001 - the reports are written; only the summary is missing
        reason = _reason(exc)
        result.summary_error = redact(reason) if options.deidentify else reason


def export_batch(
    items: Iterable[BatchItem],
    out_dir: str | Path,
    progress_cb: ProgressCallback | None = None,
    cancel: CancelToken | None = None,
    *,
    options: ReportOptions | None = None,
    settings: Any = None,
    summary: bool = True,
    on_written: WrittenCallback | None = None,
) -> BatchSummary:
    """Export one PDF per study, then a summary CSV and a one-page summary PDF.

    Parameters
    ----------
    items : iterable of BatchItem
        The studies, in order.
    out_dir : path
        Destination folder (created if needed).
    progress_cb : callable, optional
        ``progress_cb(done, total, message)`` before each study and once at the end.
    cancel : CancelToken, optional
        Checked between and inside studies; the current study's file is not left half-written
        and every study not exported is listed as "cancelled".
    options : ReportOptions, optional
        Same for every study (de-identification, overlay, paper...).
    settings : optional
        Settings object or dict for the institution name.
    summary : bool
        Write ``RA-report-summary_<timestamp>.csv`` and ``.pdf`` too. If that fails, the reports
        stay written and ``summary_error`` says why.
    on_written : callable, optional
        ``on_written(row, case_id)`` as soon as each study's PDF is on disk, so a caller can
        audit it even if the batch later dies.

    Returns
    -------
    BatchSummary
    """
    options = options or ReportOptions()
    items = list(items)
    total = len(items)
    out = Path(out_dir)
    result = BatchSummary()
    notify = progress_cb or (lambda done, total, message: None)
    def source(n: int) -> str:
        # A study that fails before its case id is known is named by position, not by its path.
        return f"study {n + 1} of {total}" if options.deidentify else items[n].source

    def cancelled_from(n: int) -> None:
        result.rows += [SummaryRow(source=source(i), status=CANCELLED, reason="batch cancelled")
                        for i in range(n, total)]
        result.case_ids += [""] * (total - n)

    for done, item in enumerate(items):
        if cancel is not None and cancel.cancelled:
            result.cancelled = True
            cancelled_from(done)
            break
        notify(done, total, f"Study {done + 1} of {total}: {Path(item.source).name}")
        row, case_id = SummaryRow(source=source(done)), ""
        try:
            case = item.case if item.case is not None else item.produce(cancel)  # type: ignore[misc]
            inp = from_case(case, item.manifest, item.signoff, item.scores, _measurements(item, case), item.annotations)
            case_id = inp.case_id
            if options.deidentify:
                inp = deidentify(inp, options.pseudonym_key)
            row = _row_for(inp, options)
            path = write_report(inp, out, settings=settings, options=options, cancel=cancel)
            row = SummaryRow(**{**row.__dict__, "report_file": str(path)})
        except Cancelled:
            result.cancelled = True
            result.rows.append(SummaryRow(**{**row.__dict__, "status": CANCELLED, "reason": "batch cancelled"}))
            result.case_ids.append(case_id)
            cancelled_from(done + 1)
            break
        except Exception as exc:  # noqa: BLE001 - one bad study is reported, the batch goes on
            reason = _reason(exc)
            # Exception texts quote file paths, which often carry the patient's name.
            reason = redact(reason) if options.deidentify else reason
            row = SummaryRow(**{**row.__dict__, "status": FAILED, "reason": reason})
        result.rows.append(row)
        result.case_ids.append(case_id)
        if row.status == OK and on_written is not None:
            on_written(row, case_id)
    if summary and result.rows:
        _write_summary(result, out, institution_name(options, settings), options)
    n_ok = len(result.written)
    notify(total, total, f"{'Cancelled: ' if result.cancelled else ''}{n_ok} of {total} reports written")
    return result
