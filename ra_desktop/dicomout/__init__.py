"""Results as DICOM objects, Qt-free: a Structured Report (TID 1500), a Secondary Capture of the
annotated view, and the PDF report as Encapsulated PDF; all joining the source image's study.

    from ra_desktop.dicomout import build_sr, build_sc, build_encapsulated_pdf, export_context, write_dataset
    ctx = export_context(header, radiograph, deidentify=False)
    write_dataset(build_sr(header, radiograph, result, manifest=manifest, context=ctx), out_dir)
"""
from ra_desktop.dicomout.context import ExportContext, derived_uid, export_context
from ra_desktop.dicomout.files import file_name, write_dataset
from ra_desktop.dicomout.pdf import build_encapsulated_pdf, report_pdf
from ra_desktop.dicomout.sc import build_sc, compose_view
from ra_desktop.dicomout.sr import build_sr

__all__ = ["ExportContext", "build_encapsulated_pdf", "build_sc", "build_sr", "compose_view", "derived_uid",
           "export_context", "file_name", "report_pdf", "write_dataset"]
