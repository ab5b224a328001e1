"""The reader's annotations of the open case: loaded into the viewer when its image is shown, every
change stored as it is made (AnnotationBook) and written to the audit trail.

The audit says what changed (kind, added/edited/deleted, the annotation's id), never the text of a
label: free text may name the patient, and the audit names cases by id only.
"""
from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt

from ra_desktop import audit
from ra_desktop.worklist import CaseRow
from ra_desktop.worklist.annotations import Annotation, AnnotationBook


class AnnotationController(QObject):
    def __init__(self, viewer, book: AnnotationBook, reader: Callable[[], str], record: Callable[..., None],
                 status: Callable[[str, int], None], parent=None) -> None:
        super().__init__(parent)
        self.viewer, self.book = viewer, book
        self._reader, self._record, self._status = reader, record, status
        self.row: CaseRow | None = None
        self.layer = getattr(viewer, "annotations", None)  # absent from the fallback viewer
        if self.layer is not None:
            self.layer.editable = True
            self.layer.created.connect(self._on_created)
            self.layer.edited.connect(self._on_edited)
            self.layer.deleted.connect(self._on_deleted)

    # ---- the open case ---------------------------------------------------------------------------
    def image_shown(self, row: CaseRow) -> None:
        """The case's image is on screen: show the reader's annotations of it."""
        self.row = row
        if self.layer is None:
            return
        self.layer.set_annotations([(a.kind, a.points, a.text, a.id)
                                    for a in self.book.annotations(row.id, self._reader())])

    def clear(self) -> None:
        self.row = None

    def _audit(self, item, change: str) -> None:
        self._record(audit.MARKED, self.row.case_id, kind="annotation", annotation=item.kind, change=change,
                     annotation_id=item.ident)

    def _on_created(self, item) -> None:
        if self.row is None:
            self.layer.discard(item)
            self._status("Annotations are kept with a case: open one from the worklist first", 8000)
            return
        try:
            stored = self.book.add(self.row.id, self._reader(), Annotation(item.kind, tuple(item.points), item.text))
        except ValueError as exc:
            self.layer.discard(item)  # never on screen without being stored
            self._status(f"Annotation not stored: {exc}", 8000)
            return
        item.ident = stored.id
        self._audit(item, "added")

    def _on_edited(self, item) -> None:
        if self.row is None or item.ident is None:
            return
        try:
            self.book.update(item.ident, points=tuple(item.points), text=item.text if item.kind == "text" else None)
        except (KeyError, ValueError) as exc:
            self._status(f"Annotation change not stored: {exc}", 8000)
            return
        self._audit(item, "edited")

    def _on_deleted(self, item) -> None:
        if self.row is None or item.ident is None:
            return
        if self.book.delete(item.ident):
            self._audit(item, "deleted")

    # ---- the report ----------------------------------------------------------------------------------
    def report_data(self, row: CaseRow):
        """The reader's annotations of ``row`` for its report, or None when there are none."""
        from ra_desktop.report.annotations import AnnotationData  # pulls fpdf: only when a report is made

        items = self.book.annotations(row.id, self._reader())
        if not items:
            return None
        return AnnotationData(self._reader(), [(a.kind, a.points, a.text) for a in items])


def install(window) -> AnnotationController:
    """Wire the annotations to the main window: shown with each case's image, stored as made."""
    ctl = AnnotationController(window.viewer, AnnotationBook(window.store), window.reader,
                               window.session.audit, window.show_status, parent=window)

    def on_image(row_id: int, _radiograph, _gt) -> None:
        # Queued: runs after the window has put the image in the viewer (which clears the last one's).
        row = window.store.get(row_id)
        if row_id == window.current_row_id and row is not None:
            ctl.image_shown(row)

    window.jobs.open_image.connect(on_image, Qt.ConnectionType.QueuedConnection)
    window.worklist.case_selected.connect(lambda row_id: ctl.row is not None and ctl.row.id != row_id and ctl.clear())
    return ctl
