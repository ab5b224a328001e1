"""PDF reports: plain-data builder (core) and fpdf2 layout, headless.

    from ra_desktop.report import ReportOptions, write_report, export_batch, BatchItem
    path = write_report(case_result, out_dir, manifest=model.manifest, signoff=row)
"""
from ra_desktop.report.batch import BatchItem, BatchSummary, export_batch, write_report
from ra_desktop.report.builder import build_report
from ra_desktop.report.model import ReportInput, ReportModel, ReportOptions
from ra_desktop.report.pdf import render_pdf

__all__ = ["BatchItem", "BatchSummary", "ReportInput", "ReportModel", "ReportOptions", "build_report",
           "export_batch", "render_pdf", "write_report"]
