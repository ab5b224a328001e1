"""The live marker explorer: a phantom hand whose markers a teacher sets joint by joint.

Left: the hand (seed, side), the presets, the joints and the selected joint's marker sliders.
Middle: the hand with its lesions beside its healthy twin (same anatomy, acquisition and noise),
zoom, pan and window/level linked. Right: the demo model's readout (P(RA), Grad-CAM, how each
marker moves its score), always captioned as a synthetic-phantom model's behaviour.

Rendering runs on the explorer's own thread, latest-wins: a preview while a slider moves, the full
size once it has rested ``settle_ms``. The model runs only on the model's lane (the main window's
inference lane, ``submit_task``), never on the GUI thread; the readout follows each full image.
Presentation mode (F5): full screen, large type, keys step through :data:`SEQUENCE`, Esc leaves.
"""
from __future__ import annotations

from collections import OrderedDict

from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QComboBox, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QListWidget, QPushButton,
    QSlider, QSpinBox, QSplitter, QWidget,
)

from ra_desktop.teaching.explorer import (
    DENSITIES, EXPLORER_JOINTS, FULL_SIZE, MARKER_TITLES, MARKERS, PREVIEW_SIZE, SEQUENCE, HandSpec, RenderedPair, Scene,
    markers_at, nearest_joint, preset_scene, render_pair,
)
from ra_desktop.errors import Cancelled
from ra_desktop.teaching.lane import LatestWins, RenderLane
from ra_desktop.teaching.readout import CAPTION, as_radiograph, bar_labels, model_readout
from ra_desktop.ui.explorer_parts import P_STYLE, PRESENTATION_STYLE, MapLayers, MarkerBars, PresentationKeys, column
from ra_desktop.ui.plain import plain_children
from ra_desktop.ui.viewer._toolbar import scope_shortcuts_to_viewer
from ra_desktop.ui.viewer.controls import CAPTION as LAYER_CAPTION
from ra_desktop.ui.viewer.view import ZoomMode
from ra_desktop.ui.viewer_host import make_viewer

READOUT_CACHE = 8  # each holds a full-size Grad-CAM (3 MB at 1000 px)
STEPS = 30  # slider steps per 3 levels: tenths of a severity


class ExplorerWindow(QWidget):
    """The teaching workspace. ``model_lane``: anything with ``submit_task(fn)`` running ``fn(model)``
    off the GUI thread (the inference lane, or :class:`~ra_desktop.teaching.lane.ModelLane`); None:
    images only, and ``no_model_reason`` says why there is no readout."""

    rendered = Signal(object, bool)  # RenderedPair, full size (emitted on the render thread)
    readout_ready = Signal(object, object, str)  # RenderedPair, Readout or None, reason
    render_failed = Signal(str)  # why the hand could not be drawn (the last good one stays)

    def __init__(self, model_lane=None, *, no_model_reason: str = "", preview_size: int = PREVIEW_SIZE,
                 full_size: int = FULL_SIZE, settle_ms: int = 300, parent=None) -> None:
        super().__init__(parent, Qt.WindowType.Window)
        self.setWindowTitle("Marker explorer — synthetic phantom hands (teaching)")
        self.preview_size, self.full_size = int(preview_size), int(full_size)
        self.scene = Scene()
        self.shown: RenderedPair | None = None  # on screen now
        self.readout = None
        self._readout_cache: OrderedDict = OrderedDict()  # (scene, size) -> Readout: re-shown hands cost nothing
        self.presenting = False
        self.sequence_index = 0
        self._model_lane = model_lane
        self._no_model = no_model_reason or "no model is loaded"
        self._render = RenderLane()
        self._readouts = LatestWins(model_lane.submit_task) if model_lane is not None else None
        self._settle = QTimer(self, singleShot=True, interval=int(settle_ms))
        self._settle.timeout.connect(lambda: self.request(full=True))
        self._syncing = False
        self.rendered.connect(self._on_rendered)
        self.readout_ready.connect(self._on_readout)
        self.render_failed.connect(lambda reason: self.status.setText(f"The hand could not be drawn: {reason}"))
        self._build()
        self.select_joint(EXPLORER_JOINTS[1])  # MCP2: where RA starts
        self.request(full=True)
        self.resize(1500, 900)

    # ---- layout ----------------------------------------------------------------------------------
    def _build(self) -> None:
        self.seed = QSpinBox(minimum=0, maximum=99999, value=self.scene.hand.seed)
        self.side = QComboBox()
        self.side.addItem("Right hand", "R")
        self.side.addItem("Left hand", "L")
        self.joint_spaces = QCheckBox("Draw joint spaces")
        self.joint_spaces.setToolTip("Radiographic joint spaces at the finger joints: narrowing shows as a thinner "
                                     "gap. The demo model was trained on hands without them.")
        self.wrist = QCheckBox("Shaped wrist")
        self.wrist.setToolTip("Carpal bones, distal radius and styloids drawn with their shapes (phantom anatomy 2). "
                              "The demo model was trained on the plain wrist: its readout may differ.")
        self.density = QComboBox()
        for label, value in DENSITIES.items():
            self.density.addItem(f"Bone density: {label}", value)
        self.density.setToolTip("Mineral density of every bone. 'Low' is below anything the demo model was "
                                "trained on: its readout may then say the hand is out of distribution.")
        self.size_box = QComboBox()
        for size in sorted({self.full_size, 1000, 1500, 2000}):
            self.size_box.addItem(f"{size} px", size)
        self.size_box.setCurrentIndex(self.size_box.findData(self.full_size))
        self.size_box.setToolTip("Long side of the full-size image (the preview while a slider moves is smaller)")
        self.seed.valueChanged.connect(lambda _v: self._hand_changed())
        self.side.currentIndexChanged.connect(lambda _v: self._hand_changed())
        self.joint_spaces.toggled.connect(lambda _v: self._hand_changed())
        self.wrist.toggled.connect(lambda _v: self._hand_changed())
        self.density.currentIndexChanged.connect(lambda _v: self._hand_changed())
        self.size_box.currentIndexChanged.connect(lambda _v: self._size_changed())
        hand = QGroupBox("Hand")
        hl = QGridLayout(hand)
        hl.addWidget(QLabel("Seed"), 0, 0)
        hl.addWidget(self.seed, 0, 1)
        hl.addWidget(self.side, 0, 2)
        hl.addWidget(self.joint_spaces, 1, 0, 1, 2)
        hl.addWidget(self.wrist, 2, 0, 1, 1)
        hl.addWidget(self.density, 2, 1, 1, 2)
        hl.addWidget(self.size_box, 1, 2)
        presets = QGroupBox("Presets")
        pl = QGridLayout(presets)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, name in enumerate(SEQUENCE):
            b = QPushButton(name[:1].upper() + name[1:])
            b.clicked.connect(lambda _c=False, n=name: self.apply_preset(n))
            self.preset_buttons[name] = b
            pl.addWidget(b, i // 2, i % 2)
        self.joints = QListWidget()
        self.joints.addItems(list(EXPLORER_JOINTS))
        self.joints.currentTextChanged.connect(lambda j: j and self.select_joint(j))
        self.sliders: dict[str, QSlider] = {}
        self.slider_labels: dict[str, QLabel] = {}
        self.marker_box = QGroupBox("Markers at MCP2")
        ml = QGridLayout(self.marker_box)
        for i, m in enumerate(MARKERS):
            s = QSlider(Qt.Orientation.Horizontal)
            s.setRange(0, 1 if m == "ankylosis" else STEPS)  # ankylosis: on or off
            s.setPageStep(1 if m == "ankylosis" else 10)
            s.valueChanged.connect(lambda v, m=m: self._slider_moved(m, v))
            s.sliderReleased.connect(lambda: self._settle.start(0))
            value = QLabel("0", minimumWidth=40)
            ml.addWidget(QLabel(MARKER_TITLES[m], wordWrap=True), i, 0)  # one row each: fits 768 px
            ml.addWidget(s, i, 1)
            ml.addWidget(value, i, 2)
            self.sliders[m], self.slider_labels[m] = s, value
        self.controls = column(hand, presets, QLabel("Joint"), (self.joints, 1), self.marker_box)
        self.controls.setFixedWidth(320)

        self.lesion_view, self.twin_view = make_viewer(), make_viewer()
        self.views = views = QSplitter(Qt.Orientation.Horizontal)
        for v, title in ((self.lesion_view, "With the markers"),
                         (self.twin_view, "Healthy twin: same hand, exposure and noise")):
            scope_shortcuts_to_viewer(v)
            v.controls.hide()  # the explorer's own Grad-CAM toggle; no SHAP here
            v.markers.editable = False
            views.addWidget(column(QLabel(title, objectName="muted"), (v, 1)))
        views.setStretchFactor(0, 1)
        views.setStretchFactor(1, 1)
        for v in (self.lesion_view, self.twin_view):
            v.view.viewport().installEventFilter(self)  # a double click on the hand picks a joint
        for src, dst in ((self.lesion_view, self.twin_view), (self.twin_view, self.lesion_view)):
            src.view.view_changed.connect(lambda s=src, d=dst: self._sync_view(s, d))
            src.window_changed.connect(lambda c, w, d=dst: self._sync_window(d, c, w))
        self.title = QLabel("", objectName="title")
        self.title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title.hide()
        self.status = QLabel("Rendering…", objectName="muted")
        middle = column(self.title, (views, 1), self.status)

        self.model_label = QLabel("", wordWrap=True, objectName="muted")
        self.p_label = QLabel("P(RA) —")
        self.p_label.setStyleSheet(P_STYLE % 22)
        self.maps = MapLayers(self.lesion_view)
        self.cam_check, self.shap_check, self.cam_opacity = (self.maps.checks["gradcam"], self.maps.checks["shap"],
                                                             self.maps.opacity)
        self.bars = MarkerBars()
        self.bars.setMaximumHeight(360)
        self.caption = QLabel(f"{CAPTION[:1].upper()}{CAPTION[1:]}. Bars: change in the RA log-odds when "
                              f"that marker is removed from this hand. Maps: {LAYER_CAPTION[:1].lower()}"
                              f"{LAYER_CAPTION[1:]}", wordWrap=True, objectName="muted")
        self.present_button = QPushButton("Presentation mode (F5)")
        self.present_button.clicked.connect(self.enter_presentation)
        opacity = QHBoxLayout()
        opacity.addWidget(QLabel("Opacity"))
        opacity.addWidget(self.cam_opacity, 1)
        right = column(QLabel("What the demo model makes of it"), self.model_label, self.p_label, self.cam_check,
                       self.shap_check, opacity, (self.bars, 1), self.caption, 1, self.present_button)
        right.setFixedWidth(340)
        self.readout_panel = right

        lay = QHBoxLayout(self)
        lay.addWidget(self.controls)
        lay.addWidget(middle, 1)
        lay.addWidget(right)
        plain_children(self)
        QShortcut(QKeySequence(Qt.Key.Key_F5), self, self.enter_presentation)
        self._keys = PresentationKeys(self)
        if self._readouts is None:
            self._no_readout(self._no_model)

    # ---- hand, joints and sliders ----------------------------------------------------------------
    def _hand_changed(self) -> None:
        self.scene = self.scene.with_hand(HandSpec(self.seed.value(), self.side.currentData(),
                                                   self.joint_spaces.isChecked(), 2 if self.wrist.isChecked() else 1,
                                                   self.density.currentData()))
        self.request(full=True)

    def _size_changed(self) -> None:
        self.full_size = int(self.size_box.currentData())
        self.request(full=True)

    def select_joint(self, joint: str) -> None:
        """Show ``joint``'s sliders (only the markers the phantom draws there) and mark it on the hand."""
        self.joint = joint
        if self.joints.currentItem() is None or self.joints.currentItem().text() != joint:
            self.joints.setCurrentRow(EXPLORER_JOINTS.index(joint))
        self.marker_box.setTitle(f"Markers at {joint} (severity 0-3)")
        here = markers_at(joint)
        for m, s in self.sliders.items():
            s.blockSignals(True)
            level = self.scene.level(joint, m)
            s.setValue(int(round(level / 3.0)) if m == "ankylosis" else int(round(level * STEPS / 3.0)))
            s.blockSignals(False)
            s.setEnabled(m in here)
            self.slider_labels[m].setText(self._level_text(m, level) if m in here else "—")
        self._mark_joint()

    @staticmethod
    def _level_text(marker: str, level: float) -> str:
        return ("on" if level else "off") if marker == "ankylosis" else f"{level:.1f}"

    def set_level(self, marker: str, level: float) -> None:
        """Set ``marker`` at the selected joint as a slider would (tests, presets of one joint)."""
        s = self.sliders[marker]
        s.setValue(int(round(level / 3.0)) if marker == "ankylosis" else int(round(level * STEPS / 3.0)))

    def _slider_moved(self, marker: str, value: int) -> None:
        level = 3.0 * value if marker == "ankylosis" else value * 3.0 / STEPS
        self.scene = self.scene.with_level(self.joint, marker, level)
        self.slider_labels[marker].setText(self._level_text(marker, level))
        self.request(full=False)
        self._settle.start()  # the full size once the slider rests

    def apply_preset(self, name: str) -> None:
        self.scene = preset_scene(name, self.scene.hand)
        self.select_joint(self.joint)
        self.request(full=True)

    # ---- rendering (explorer thread) and readout (model lane) -------------------------------------
    def request(self, full: bool) -> None:
        """Render the current scene (latest wins); the full size also brings a new readout."""
        scene, size = self.scene, self.full_size if full else self.preview_size
        if full:
            self._settle.stop()
            if self.shown is not None and self.shown.scene == scene and self.shown.size == size:
                self._render.latest.cancel()  # already on screen: any older request is stale now
                self.status.setText(self._full_status(self.shown))
                return
        self.status.setText("Rendering…" if full else "Preview…")

        def work(token) -> None:
            token.check()
            try:
                pair = render_pair(scene, size)
            except Exception as exc:  # noqa: BLE001 - said on screen; the lane and the window go on
                self.render_failed.emit(f"{type(exc).__name__}: {exc}")
                return
            self.rendered.emit(pair, full)

        self._render.request(work)

    def _on_rendered(self, pair: RenderedPair, full: bool) -> None:
        if pair.scene != self.scene:
            return  # a newer scene is on its way
        self._show(pair)
        if not full:
            self.status.setText("Preview — full size when the slider rests")
            return
        self.status.setText(self._full_status(pair))
        if self._readouts is None:
            return
        cached = self._readout_cache.get((pair.scene, pair.size))
        if cached is not None:
            self._on_readout(pair, cached, "")
            return
        self.model_label.setText("The model is reading the hand…")
        self._readouts.request(lambda token, model: self._read(token, model, pair))

    @staticmethod
    def _full_status(pair: RenderedPair) -> str:
        hand = pair.scene.hand
        return f"{pair.size} px · {pair.ground_truth['label']} · synthetic phantom (seed {hand.seed}, {hand.side})"

    def _read(self, token, model, pair: RenderedPair) -> None:
        """On the model lane: P(RA) and Grad-CAM first, then the per-marker bars (one render each)."""
        if model is None:
            self.readout_ready.emit(pair, None, self._no_model)
            return
        try:
            self._read_with(token, model, pair)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001 - said in the panel instead of "reading…" for ever
            self.readout_ready.emit(pair, None, f"the model could not read this hand ({type(exc).__name__}: {exc})")

    def _read_with(self, token, model, pair: RenderedPair) -> None:
        # P(RA) and Grad-CAM first (one pass); SHAP and the per-marker bars follow in the final readout
        self.readout_ready.emit(pair, model_readout(model, pair, markers=False, cancel=token), "partial")
        token.check()
        self.readout_ready.emit(pair, model_readout(model, pair, markers=bool(pair.scene.present()), shap=True,
                                                    cancel=token), "")

    def _show(self, pair: RenderedPair) -> None:
        first = self.shown is None
        state = None if first or self.lesion_view.view.zoom_mode is ZoomMode.FIT else self.lesion_view.view.view_state()
        window = None if first else self.lesion_view.window()
        self._syncing = True
        try:
            sp, side = pair.pixel_spacing_mm, pair.scene.hand.side
            self.lesion_view.set_radiograph(as_radiograph(pair.image, sp, "explorer", side))
            self.twin_view.set_radiograph(as_radiograph(pair.twin, sp, "explorer twin", side))
            for v in (self.lesion_view, self.twin_view):
                if window is not None:
                    v.set_window(*window)
                if state is not None:
                    v.view.set_view_state(*state)
        finally:
            self._syncing = False
        if window is None:
            self.twin_view.set_window(*self.lesion_view.window())
        self.shown = pair
        self._mark_joint()
        if self.readout is not None and self.readout[0] is pair:
            self._put_cam()

    def _mark_joint(self) -> None:
        if self.shown is None:
            return
        c = None if self.presenting else self.shown.ground_truth["joints"].get(self.joint, {}).get("center")
        for v in (self.lesion_view, self.twin_view):
            v.markers.set_markers({self.joint: (c[0], c[1])} if c else {}, {self.joint: self.joint})

    def _on_readout(self, pair: RenderedPair, readout, reason: str) -> None:
        if readout is not None and reason != "partial":  # valid for its hand even if no longer shown
            self._readout_cache[(pair.scene, pair.size)] = readout
            while len(self._readout_cache) > READOUT_CACHE:
                self._readout_cache.popitem(last=False)
        if self.shown is None or pair.scene != self.scene:
            return  # stale: the hand has changed since
        if readout is None:
            self._no_readout(reason)
            return
        self.readout = (pair, readout)
        self.model_label.setText(f"{readout.model_name} · trained on synthetic phantoms"
                                 + (" · OOD check not available" if readout.ood_distance is None else ""))
        if not readout.verdict:
            self.p_label.setText("No verdict")
            self.bars.clear(readout.reason)
        else:
            self.p_label.setText(f"P(RA) {readout.probability:.2f}")
            if reason == "partial" and pair.scene.present():
                self.bars.clear("Measuring each marker…")
            elif not pair.scene.present():
                self.bars.clear("No marker set: nothing to measure.")
            else:
                self.bars.set_bars(bar_labels(readout), readout.total_change)
        if self.shown is pair:
            self._put_cam()

    def _no_readout(self, reason: str) -> None:
        self.readout = None
        self.model_label.setText(f"No model readout: {reason}. The images work without it.")
        self.p_label.setText("P(RA) —")
        self.bars.clear(f"No readout: {reason}.")

    def _put_cam(self) -> None:
        self.maps.put(self.readout[1] if self.readout else None, self.shown.image.shape)

    def refresh_readout(self, _info=None) -> None:
        """A (new) model is ready: read the hand on screen again."""
        self._no_model = "no model is loaded"
        self._readout_cache.clear()  # another model's readouts
        if self.shown is not None and self.shown.size == self.full_size:
            self._on_rendered(self.shown, True)

    # ---- linked views ----------------------------------------------------------------------------
    def _sync_view(self, src, dst) -> None:
        if self._syncing or dst.radiograph is None:
            return
        self._syncing = True
        try:
            if src.view.zoom_mode is ZoomMode.FIT:
                dst.view.fit()  # both stay fitted through resizes (presentation mode, the splitter)
            else:
                dst.view.set_view_state(*src.view.view_state())
        finally:
            self._syncing = False

    def _sync_window(self, dst, center: float, width: float) -> None:
        if self._syncing or dst.radiograph is None:
            return
        self._syncing = True
        try:
            dst.set_window(center, width)
        finally:
            self._syncing = False

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        if event.type() == QEvent.Type.MouseButtonDblClick and self.shown is not None:
            for v in (self.lesion_view, self.twin_view):
                if obj is v.view.viewport():
                    p = v.view.mapToScene(event.position().toPoint())
                    joint = self.nearest_joint(p.x(), p.y())
                    if joint is not None:
                        self.select_joint(joint)
                        return True
        return super().eventFilter(obj, event)

    def nearest_joint(self, x: float, y: float) -> str | None:
        """The explorer joint at image point (x, y) of the shown hand (None: none near)."""
        return nearest_joint(self.shown.ground_truth, x, y)

    # ---- presentation mode -----------------------------------------------------------------------
    def enter_presentation(self) -> None:
        """Full screen, large type, the hand and the readout only; keys step through SEQUENCE."""
        if self.presenting:
            return
        self.presenting = True
        self._normal_geometry = self.geometry()
        self.controls.hide()
        self.present_button.hide()
        for v in (self.lesion_view, self.twin_view):
            v.toolbar.hide()
        self.readout_panel.setFixedWidth(520)
        self.bars.setMaximumHeight(620)
        self.title.show()
        self.setStyleSheet(PRESENTATION_STYLE)
        self.title.setStyleSheet("font-size: 30pt; font-weight: bold;")
        self.p_label.setStyleSheet(P_STYLE % 40)
        QApplication.instance().installEventFilter(self._keys)
        self.showFullScreen()
        QTimer.singleShot(0, self._equal_views)
        self.go_to(0)

    def leave_presentation(self) -> None:
        if not self.presenting:
            return
        self.presenting = False
        QApplication.instance().removeEventFilter(self._keys)
        self._mark_joint()
        self.setStyleSheet("")
        self.p_label.setStyleSheet(P_STYLE % 22)
        self.title.hide()
        self.controls.show()
        self.present_button.show()
        for v in (self.lesion_view, self.twin_view):
            v.toolbar.show()
        self.readout_panel.setFixedWidth(340)
        self.bars.setMaximumHeight(360)
        self.showNormal()
        self.setGeometry(self._normal_geometry)
        QTimer.singleShot(0, self._equal_views)

    def _equal_views(self) -> None:
        half = max(self.views.width() // 2, 1)
        self.views.setSizes([half, half])

    def go_to(self, index: int) -> None:
        """Show hand ``index`` of the prepared sequence (clamped), on the current hand."""
        self.sequence_index = max(0, min(int(index), len(SEQUENCE) - 1))
        name = SEQUENCE[self.sequence_index]
        self.title.setText(f"{self.sequence_index + 1} / {len(SEQUENCE)} · {name[:1].upper()}{name[1:]} · "
                           "synthetic phantom")
        self.apply_preset(name)

    def step(self, delta: int) -> None:
        self.go_to(self.sequence_index + delta)

    def closeEvent(self, event) -> None:  # noqa: N802
        self.leave_presentation()
        self._settle.stop()
        if self._readouts is not None:
            self._readouts.cancel()
        self._render.shutdown(wait=True)
        super().closeEvent(event)


def open_explorer(window) -> ExplorerWindow:
    """Open the marker explorer from the main window: its model through the window's inference lane
    (``window.jobs``), so the model runs on that lane alone; shown and returned."""
    jobs = getattr(window, "jobs", None)
    lane = getattr(jobs, "thread", None)
    reason = "" if jobs is None or jobs.has_model else "no model is loaded (see the main window)"
    explorer = ExplorerWindow(lane, no_model_reason=reason, parent=window)
    explorer.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)  # its render lane ends with it
    if jobs is not None:
        jobs.model_ready.connect(explorer.refresh_readout)
    window._explorer = explorer  # one at a time; the window keeps it alive
    explorer.show()
    return explorer

