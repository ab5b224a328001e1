"""Radiogrammetry of the open case: measured off the GUI thread, stored with the study, drawn on
the image, corrected by dragging a bone's ends or a joint's two points.

The window installs it (:func:`install`): a "Radiogrammetry" side tab and a layer in the viewer.
When the tab is shown for a case whose image is on screen, a stored measurement (this method
version) is shown at once; otherwise ``measure_hand`` runs on the worker thread (about 0.5 s;
the window's longest pause meanwhile 10-52 ms as measured, see :mod:`ra_desktop.measure.offload`,
which can also run it in a worker process) and its result is stored. Dragging a bone end runs ``measure_bone`` (40-80 ms), dragging a joint's
point ``measure_joint`` (20-60 ms), on the worker thread: requests are coalesced, the latest
position wins, and the values follow; the release stores the reader's result with the points
placed and who placed them. "Use automatic" undoes a correction.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QObject, QThread, Signal, Slot
from PySide6.QtWidgets import QScrollArea

from ra_desktop import audit
from ra_desktop.measure.change import PRECISION_SOURCE, measurement_change
from ra_desktop.measure.definitions import METHOD_VERSION
from ra_desktop.ui.compare_window import prior_of, study_text
from ra_desktop.ui.measure_panel import MeasurePanel
from ra_desktop.ui.viewer.measure_layer import MeasureLayer
from ra_desktop.worklist import CaseRow
from ra_desktop.worklist.measurements import MeasurementBook, StoredMeasurement, with_bone, with_joint

log = logging.getLogger(__name__)
_PRIOR_OF_ROW = object()  # progression_lines: look the prior study up (on the GUI thread)
_JOINT_MARKERS = tuple(f"{k}{r}" for k in ("MCP", "PIP") for r in range(2, 6))
_BONES = ("MC2", "MC3", "MC4")


class _Worker(QObject):
    done = Signal(int, object)

    @Slot(int, object)
    def run(self, job: int, fn) -> None:
        try:
            out = fn()
        except Exception as exc:  # noqa: BLE001 - a failure is shown, never a crash
            log.exception("radiogrammetry job failed")
            out = exc
        self.done.emit(job, out)


class MeasureController(QObject):
    _submit = Signal(int, object)
    shown = Signal()  # a result (automatic or corrected) is on screen: tests wait for it

    def __init__(self, panel: MeasurePanel, viewer, book: MeasurementBook, reader: Callable[[], str],
                 record: Callable[..., None], status: Callable[[str, int], None],
                 rows: Callable[[], list[CaseRow]], markers: Callable[[], dict] | None = None, parent=None,
                 use_process: bool = False) -> None:
        super().__init__(parent)
        self._use_process, self._measurer = use_process, None
        self.panel, self.viewer, self.book = panel, viewer, book
        self._reader, self._record, self._status, self._rows = reader, record, status, rows
        self._markers = markers or (lambda: {})
        self.layer = None
        if hasattr(viewer, "scene") and hasattr(viewer, "view"):
            self.layer = MeasureLayer(viewer.scene, viewer.view)
            viewer.view.mark_point.connect(self.layer.on_mark)
            self.layer.end_moved.connect(self._on_end_moved)
        self._thread = QThread(self)
        self._worker = _Worker()
        self._worker.moveToThread(self._thread)
        self._submit.connect(self._worker.run)
        self._worker.done.connect(self._on_done)
        self._thread.start()
        self._jobs = 0
        self._handlers: dict[int, Callable] = {}
        self.visible = False
        self.row: CaseRow | None = None
        self.radiograph = None
        self.stored: StoredMeasurement | None = None
        self.hand = None
        self.image: np.ndarray | None = None
        self.spacing = None
        self.profiles: dict[str, tuple] = {}
        self._hand_job: int | None = None
        self._busy = False  # a bone or joint correction is being measured on the worker
        self._pending: tuple | None = None  # the latest position asked for meanwhile
        self.open_seconds: list[float] = []  # measure_hand on the worker, per open (for the report)
        self.live_ms: list[float] = []  # a drag's request to its values on screen
        self.joint_live_ms: list[float] = []  # the same for a joint's points
        panel.show_toggled.connect(lambda on: self.layer and self.layer.set_visible(on))
        panel.bone_selected.connect(self._on_bone_selected)
        panel.correct_toggled.connect(self._on_correct)
        panel.joint_selected.connect(self._on_joint_selected)
        panel.joint_toggled.connect(self._on_place_joint)
        panel.revert_requested.connect(self._on_revert)
        panel.measure_requested.connect(lambda: self.start(force=True))

    # ---- the worker thread -----------------------------------------------------------------------
    def _run(self, fn, handler) -> int:
        self._jobs += 1
        self._handlers[self._jobs] = handler
        self._submit.emit(self._jobs, fn)
        return self._jobs

    def _on_done(self, job: int, out) -> None:
        handler = self._handlers.pop(job, None)
        if handler is not None:
            handler(job, out)

    @property
    def measurer(self):
        """Made at the first measurement: the measuring modules load scipy, which the window does
        not need to appear (they are imported on the worker thread, in ``start``'s work)."""
        if self._measurer is None:
            from ra_desktop.measure.offload import HandMeasurer

            self._measurer = HandMeasurer(use_process=self._use_process)
        return self._measurer

    @measurer.setter
    def measurer(self, value) -> None:
        self._measurer = value

    @property
    def _bone_busy(self) -> bool:  # the name tests and callers knew
        return self._busy

    def shutdown(self) -> None:
        if self._measurer is not None:
            self._measurer.shutdown()
        self._thread.quit()
        self._thread.wait(10000)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 - the window closes: stop the thread
        if event.type() == QEvent.Type.Close:
            self.shutdown()
        return False

    # ---- the open case ---------------------------------------------------------------------------
    def clear(self) -> None:
        self.row, self.radiograph, self.stored, self.hand, self.image = None, None, None, None, None
        self.profiles = {}
        self._hand_job = None
        self._pending = None
        for button in (self.panel.correct_button, self.panel.joint_button):
            if button.isChecked():
                button.setChecked(False)
        if self.layer is not None:
            self.layer.clear()
        self.panel.show_result(None)
        self.panel.plot.clear("Select a measured bone to see its profile")
        self.panel.set_progression([])
        self.panel.set_status("Open a case")

    def image_shown(self, row: CaseRow, radiograph) -> None:
        self.clear()
        self.row, self.radiograph = row, radiograph
        if self.layer is not None:  # a joint's second handle a finger's length away
            self.layer.joint_reach = 0.1 * max(radiograph.pixels.shape[:2])
        self.stored = self.book.load(row.id)
        if self.visible or (self.stored is not None and self.stored.current):
            self.start()
        else:
            self.panel.set_status("Measured when this tab is shown.")

    def tab_shown(self, on: bool) -> None:
        self.visible = on
        if on and self.radiograph is not None and self.hand is None and self._hand_job is None:
            self.start()

    def start(self, force: bool = False) -> None:
        """Measure the open image on the worker (or show the stored result); never blocks."""
        if self.radiograph is None or self.row is None:
            return

        radiograph, stored = self.radiograph, (None if force else self.stored)
        joints = {s: (m.x, m.y) for s, m in self._markers().items() if s in _JOINT_MARKERS and m.source == "reader"}

        def work():
            from ra_desktop.measure.hand import bone_bright
            from ra_desktop.measure.offload import bone_profile

            t0 = time.perf_counter()
            measurer = self.measurer
            img, sp = bone_bright(radiograph)
            fresh = stored is None or not stored.current
            if fresh:
                hand, profiles = measurer.measure(img, sp, joints or None)
            else:
                hand, profiles = stored.hand, None
            if any("inverted" in n for n in hand.notes):
                img = np.float32(np.nanmax(img)) - img
            if profiles is None:
                profiles = {k: bone_profile(img, sp, b) for k, b in hand.bones.items()}
            return hand, img, sp, profiles, fresh, time.perf_counter() - t0

        self.panel.set_status("Measuring…")
        row_id = self.row.id
        self._hand_job = self._run(work, lambda job, out, r=row_id: self._on_hand(job, r, out))

    def _on_hand(self, job: int, row_id: int, out) -> None:
        if self.row is None or row_id != self.row.id or job != self._hand_job:
            return  # the reader moved on
        self._hand_job = None
        if isinstance(out, Exception):
            self.panel.set_status(f"Not measured: {type(out).__name__}: {out}")
            return
        hand, self.image, self.spacing, self.profiles, fresh, seconds = out
        if fresh:
            manual = self.stored.corrected_by if self.stored else {}
            self.book.save_hand(row_id, hand)
            self.stored = self.book.load(row_id)
            if manual:  # the reader's bones stay as placed
                from ra_desktop.measure.offload import bone_profile  # loaded by the work above

                hand = self.stored.hand
                self.profiles.update({k: bone_profile(self.image, self.spacing, hand.bones[k]) for k in manual
                                      if k in hand.bones})
            self.open_seconds.append(seconds)
        self.hand = hand
        where = "measured now" if fresh else "stored"
        self.panel.set_status((f"{where} in {hand.seconds:.2f} s" if fresh else where)
                              + (f" · not measurable: {hand.reason}" if not hand.measurable and hand.reason else "")
                              + (f" · {'; '.join(hand.notes)}" if hand.notes else ""))
        self._show()

    def _show(self) -> None:
        corrected = self.stored.corrected_by if self.stored else {}
        self.panel.show_result(self.hand, corrected)
        if self.layer is not None:
            self.layer.set_result(self.hand, self.panel.selected, self.panel.selected_joint)
        self._show_profile()
        self._show_progression()
        self.shown.emit()

    def _show_profile(self) -> None:
        name = self.panel.selected
        prof = self.profiles.get(name)
        b = self.hand.bones.get(name) if self.hand else None
        if prof is None or b is None:
            self.panel.plot.clear(f"{name}: no profile — not valid" if b is not None else "Not measured")
            return
        x, y, W, M = prof
        self.panel.plot.set_profile(x, y, W, M, self.hand.unit, f"{name}: grey value across the shaft "
                                                                 "(mean over the region)")

    def _on_bone_selected(self, name: str) -> None:
        if self.layer is not None and self.hand is not None:
            bone_editing = self.layer.editing and self.panel.correct_button.isChecked()
            if bone_editing:
                self.layer.edit_site = name
            self.layer.set_result(self.hand, name, self.panel.selected_joint)
            if bone_editing and name not in self.layer.ends:
                self._default_ends(name)
        self._show_profile()

    def _on_joint_selected(self, name: str) -> None:
        if self.layer is not None and self.hand is not None:
            joint_editing = self.layer.editing and self.panel.joint_button.isChecked()
            if joint_editing:
                self.layer.edit_site = name
            self.layer.set_result(self.hand, self.panel.selected, name)
            if joint_editing and name not in self.layer.ends:
                self._default_joint(name)

    # ---- correction: dragging bone ends ----------------------------------------------------------
    def _on_correct(self, on: bool) -> None:
        if self.layer is None:
            return
        markers = getattr(self.viewer, "markers", None)
        if markers is not None:
            markers.editable = not on  # the joint markers stay put while bone ends are dragged
        if on:
            self.panel.joint_button.setChecked(False)  # one kind of handle at a time
            if markers is not None:
                markers.editable = False
            self.viewer.use_mark_tool()
            self.panel.show_check.setChecked(True)
            self.layer.set_editing(True, self.panel.selected)
            if self.panel.selected not in self.layer.ends:
                self._default_ends(self.panel.selected)
            self._status(f"Drag the two ends of {self.panel.selected} (base and head); values follow", 8000)
        else:
            self.layer.set_editing(False)
            self.viewer.use_window_tool()

    def _on_place_joint(self, on: bool) -> None:
        if self.layer is None:
            return
        markers = getattr(self.viewer, "markers", None)
        if markers is not None:
            markers.editable = not on  # the worksheet's joint markers stay put meanwhile
        name = self.panel.selected_joint
        if on:
            self.panel.correct_button.setChecked(False)
            if markers is not None:
                markers.editable = False
            self.viewer.use_mark_tool()
            self.panel.show_check.setChecked(True)
            self.layer.set_editing(True, name)
            if name not in self.layer.ends:
                self._default_joint(name)
            self._status(f"Drag {name}'s two points: the first onto the joint space, the second onto the finger "
                         "beyond it; values follow", 8000)
        else:
            self.layer.set_editing(False)
            self.viewer.use_window_tool()

    def _default_ends(self, name: str) -> None:
        """Handles for a bone found nowhere: a vertical line in the image's middle to drag into place."""
        h, w = self.radiograph.pixels.shape if self.radiograph is not None else (400, 400)
        self.layer.set_bone_ends(name, ((w / 2, h * 0.65), (w / 2, h * 0.4)))

    def _default_joint(self, name: str) -> None:
        """Handles for a joint found nowhere: the worksheet's marker if there is one, else the image's
        middle; the second point a finger's length further up, to drag onto the finger."""
        h, w = self.radiograph.pixels.shape[:2] if self.radiograph is not None else (400, 400)
        marker = self._markers().get(name)
        x, y = (marker.x, marker.y) if marker is not None else (w / 2, h / 2)
        self.layer.set_bone_ends(name, ((x, y), (x, y - self.layer.joint_reach)))

    def _on_end_moved(self, site: str, points, phase: str) -> None:
        self._request(site, points, final=phase == "end")

    def request_bone(self, bone: str, ends, final: bool = True) -> None:
        """Measure ``bone`` between ``ends`` on the worker; the latest request wins while one runs.
        ``final``: the reader let go, store the result."""
        self._request(bone, ends, final)

    def request_joint(self, joint: str, points, final: bool = True) -> None:
        """Measure ``joint`` from ``points`` (on the joint, on the finger beyond it) on the worker;
        as :meth:`request_bone`."""
        self._request(joint, points, final)

    def _sigma(self) -> float | None:
        """The image's blur as the valid metacarpals' fits found it (what measure_hand gives its joints)."""
        blur = [b.blur_px for b in (self.hand.bones.values() if self.hand else ()) if b.valid and b.blur_px]
        return float(np.median(blur)) if blur else None

    def _request(self, site: str, points, final: bool) -> None:
        if self.image is None or self.row is None:
            return
        if self._busy:
            pending_final = bool(self._pending and self._pending[0] == site and self._pending[2])
            self._pending = (site, points, final or pending_final)
            return

        self._busy = True
        img, sp, row_id, t0 = self.image, self.spacing, self.row.id, time.perf_counter()
        a, b = (tuple(map(float, p)) for p in points)
        if site in _BONES:
            def work():
                from ra_desktop.measure.metacarpal import measure_bone
                from ra_desktop.measure.offload import bone_profile

                res = measure_bone(img, a, b, sp, bone=site, source="manual")
                return res, bone_profile(img, sp, res)
        else:
            sigma = self._sigma()

            def work():
                from ra_desktop.measure.joints import measure_joint

                return measure_joint(img, a, sp, toward=b, joint=site, source="manual", sigma=sigma), None

        self._run(work, lambda job, out: self._on_site(row_id, site, final, t0, out))

    def _on_site(self, row_id: int, site: str, final: bool, t0: float, out) -> None:
        self._busy = False
        if self.row is not None and row_id == self.row.id and self.hand is not None and not isinstance(out, Exception):
            res, prof = out
            bone = site in _BONES
            if bone:
                self.hand = with_bone(self.hand, res)
                self.profiles[site] = prof
            else:
                self.hand = with_joint(self.hand, res)
            if final:
                if bone:
                    self.book.set_manual_bone(row_id, res, self._reader())
                else:
                    self.book.set_manual_joint(row_id, res, self._reader())
                self.stored = self.book.load(row_id)
                self._record(audit.MARKED, self.row.case_id,
                             kind="radiogrammetry bone ends" if bone else "radiogrammetry joint points", site=site,
                             valid=res.valid)
            self._show()
            (self.live_ms if bone else self.joint_live_ms).append((time.perf_counter() - t0) * 1000)
        elif isinstance(out, Exception):
            self._status(f"{site}: not measured: {type(out).__name__}: {out}", 8000)
        pending, self._pending = self._pending, None
        if pending is not None:
            self._request(*pending)

    def _on_revert(self, site: str) -> None:
        bone = site in _BONES
        if self.row is None or not self.book.revert(self.row.id, site):
            self._status(f"{site}: no placed {'ends' if bone else 'points'} to undo", 5000)
            return
        self.stored = self.book.load(self.row.id)
        self.hand = self.stored.hand
        if bone and self.image is not None and site in self.hand.bones:
            from ra_desktop.measure.offload import bone_profile  # loaded: the image was measured

            self.profiles[site] = bone_profile(self.image, self.spacing, self.hand.bones[site])
        if self.layer is not None:
            self.layer.ends.pop(site, None)  # the handles go back to the automatic result's points
        self._record(audit.MARKED, self.row.case_id, kind="radiogrammetry correction undone", site=site)
        self._show()

    # ---- the prior study and the report ----------------------------------------------------------
    def _prior(self, row: CaseRow):
        prior = prior_of(row, self._rows())
        if prior is None or prior.laterality != row.laterality or not (prior.study_date or "") < (row.study_date or ""):
            return None
        return prior

    def progression_lines(self, row: CaseRow, hand, for_report: bool = False, prior=_PRIOR_OF_ROW) -> list[str]:
        """Change since the prior study of the same patient and hand ([] without one). For the
        report the prior is not named (no date, no file name: a de-identified report prints it too).
        ``prior``: that study's row, found on the GUI thread beforehand for a call from a worker."""

        prior = self._prior(row) if prior is _PRIOR_OF_ROW else prior
        if prior is None or hand is None:
            return []
        stored = self.book.load(prior.id)
        named = "the prior study of this hand" if for_report else study_text(prior)
        if stored is None:
            return [f"Prior study {named}: not measured yet (open it once to measure it)."]
        ch = measurement_change(stored.hand, hand, prior.study_date, row.study_date)
        years = f" ({ch.years:.1f} years earlier)" if ch.years else ""
        return [f"Change since {named}{years}:", *ch.lines(),
                f"Smallest detectable change from the {PRECISION_SOURCE}."]

    def _show_progression(self) -> None:
        self.panel.set_progression(self.progression_lines(self.row, self.hand) if self.row else [])

    def report_data(self, row: CaseRow):
        """The stored radiogrammetry of ``row`` for its report, or None when never measured."""
        from ra_desktop.report.radiogrammetry import RadiogrammetryData  # pulls fpdf: only for a report

        stored = self.book.load(row.id)
        if stored is None:
            return None
        return RadiogrammetryData(stored.hand, stored.method_version, stored.corrected_by,
                                  self.progression_lines(row, stored.hand, for_report=True))

    def batch_measurer(self, row: CaseRow) -> Callable[[Any], Any]:
        """For a batch export of a study never measured: ``measure(case)``, run on the export's
        worker, measures the analysed radiograph automatically (as ``ra-desktop measure`` does:
        joints found, not taken from markers), stores the result as opening the study would, and
        returns its report data. The prior is looked up here, on the GUI thread."""
        from ra_desktop.report.radiogrammetry import RadiogrammetryData  # pulls fpdf: only for a report

        prior = self._prior(row)

        def measure(case):
            from ra_desktop.measure.hand import measure_hand

            hand = measure_hand(case.radiograph)
            self.book.save_hand(row.id, hand)
            return RadiogrammetryData(hand, METHOD_VERSION, {},
                                      self.progression_lines(row, hand, for_report=True, prior=prior))

        return measure


def install(window) -> MeasureController:
    """Add the Radiogrammetry tab and its controller to the main window."""
    panel = MeasurePanel()
    scroll = QScrollArea(widgetResizable=True)
    scroll.setWidget(panel)
    window.side_tabs.addTab(scroll, "Radiogrammetry")
    ctl = MeasureController(panel, window.viewer, MeasurementBook(window.store), window.reader,
                            window.session.audit, window.show_status, window.worklist.model.rows,
                            markers=lambda: window.score_sheet.hand_markers(), parent=window)
    window.installEventFilter(ctl)

    def on_image(row_id: int, radiograph, _gt) -> None:
        row = window.store.get(row_id)
        if row_id == window.current_row_id and row is not None:
            ctl.image_shown(row, radiograph)

    window.jobs.open_image.connect(on_image)
    window.worklist.case_selected.connect(lambda row_id: ctl.row is not None and ctl.row.id != row_id and ctl.clear())
    window.side_tabs.currentChanged.connect(lambda _i: ctl.tab_shown(window.side_tabs.currentWidget() is scroll))
    ctl.scroll = scroll
    return ctl
