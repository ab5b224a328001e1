"""ViewerWidget: the radiograph viewer the main window embeds.

Display is a stack of scene items over one untouched source array: the greyscale item (window,
level and inversion applied when its pixmap is built), the heat-map layers, the unseen-region
hatch, educator ground truth and measurements. Zoom, rotation and flips live in the view
transform only.
"""
from __future__ import annotations

import numpy as np
from PySide6 import QtCore, QtGui, QtWidgets

from ra_desktop.render.window import display_ahead, opening_window
from ra_desktop.ui import qt_image
from ra_desktop.ui.viewer import _display, _toolbar, controls, view_tools
from ra_desktop.ui.viewer import preview as _preview
from ra_desktop.ui.viewer.annotations import AnnotationLayer, add_tool_button
from ra_desktop.ui.viewer.items import GroundTruthItem, MeasurementItem, OverlayLayer, UnseenHatchItem
from ra_desktop.ui.viewer.markers import MarkerLayer
from ra_desktop.ui.viewer.view import ImageView, Tool

_DEFAULT_CMAP = {"gradcam": "jet", "shap": "rdbu"}
_DEFAULT_VISIBLE = {"gradcam": True, "shap": False}  # two maps at once hide each other
_DEFAULT_OPACITY = 0.35  # bone detail stays readable under the map
_DRAG_INTERVAL_MS = 15  # coalesce W/L drag renders to ~60 per second at most


class ViewerWidget(QtWidgets.QWidget):
    pixel_info = QtCore.Signal(str)
    window_changed = QtCore.Signal(float, float)

    def __init__(self, parent: QtWidgets.QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("viewer")
        self.setAttribute(QtCore.Qt.WidgetAttribute.WA_StyledBackground)
        self.setStyleSheet(_toolbar.STYLE)
        self.scene = QtWidgets.QGraphicsScene(self)
        self.view = ImageView(self.scene, self)
        self.image_item = QtWidgets.QGraphicsPixmapItem()
        self.image_item.setZValue(0)
        self.scene.addItem(self.image_item)
        self.controls = controls.LayerControls(self)
        self.controls.setFixedWidth(240)
        self.toolbar, self.actions = _toolbar.build_toolbar(self)
        add_tool_button(self)  # Annotate (A, T, G, B, E): viewer/annotations.py
        self.readout = QtWidgets.QLabel(" ")
        self.readout.setObjectName("readout")
        self.readout.setTextFormat(QtCore.Qt.TextFormat.PlainText)
        self.badges = _toolbar.ViewportBadges(self.view.viewport())
        self.deidentify_exports: bool | None = None  # None: follow the window's de-identify setting
        self.last_context_menu: QtWidgets.QMenu | None = None

        body = QtWidgets.QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        body.setSpacing(0)
        body.addWidget(self.view, 1)
        body.addWidget(self.controls)
        lay = QtWidgets.QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.toolbar)
        lay.addLayout(body, 1)
        lay.addWidget(self.readout)

        self._radiograph = None
        self.preview_shape: tuple[int, int] | None = None  # (rows, cols) while a preview shows
        self._lut: _display.WindowLut | None = None
        self._display: np.ndarray | None = None
        self._center, self._width = 0.0, 1.0
        self._voi_lut = None  # the file's VOI LUT while it is shown; any window change leaves it
        self._user_invert = False
        self._layers: dict[str, OverlayLayer] = {}
        self._layer_state = {n: {"visible": _DEFAULT_VISIBLE[n], "opacity": _DEFAULT_OPACITY,
                                 "cmap": _DEFAULT_CMAP[n]} for n in controls.LAYERS}
        self._seen_item: UnseenHatchItem | None = None
        self._gt_item: GroundTruthItem | None = None
        self._measurements: list[MeasurementItem] = []
        self.markers = MarkerLayer(self.scene, self.view)
        self.annotations = AnnotationLayer(self.scene, self.view)  # the controller stores them
        self._active_measure: MeasurementItem | None = None
        self._drag_start = (0.0, 1.0)
        self._last_cursor: tuple[float, float] | None = None
        self._render_timer = QtCore.QTimer(self, singleShot=True, interval=_DRAG_INTERVAL_MS)
        self._render_timer.timeout.connect(self._render_grey)

        self.view.cursor_moved.connect(self._on_cursor)
        self.view.cursor_left.connect(lambda: (self.pixel_info.emit(""), self.readout.setText(" ")))
        self.view.window_drag.connect(self._on_window_drag)
        self.view.measure_point.connect(self._on_measure)
        self.view.mark_point.connect(self.markers.on_mark)
        self.view.view_changed.connect(self._update_badges)
        self.view.context_requested.connect(lambda pos: view_tools.show_context_menu(self, pos))
        self.controls.visible_changed.connect(self.set_layer_visible)
        self.controls.opacity_changed.connect(self.set_layer_opacity)
        self.controls.colormap_changed.connect(self.set_layer_colormap)
        self.controls.seen_toggled.connect(lambda on: self._seen_item and self._seen_item.setVisible(on))
        self.controls.ground_truth_toggled.connect(lambda on: self._gt_item and self._gt_item.setVisible(on))
        for name in controls.LAYERS:
            self._sync_controls(name)
        _toolbar.install_shortcuts(self)
        self._update_badges()

    # ---- image -----------------------------------------------------------------------------
    def set_radiograph(self, radiograph) -> None:
        """Show a new image; layers, hatch, ground truth and measurements of the last one go. The
        view the reader set on this image's preview (zoom, pan, rotation, flips) stays."""
        keep = _preview.hand_over(self, radiograph.pixels.shape)
        self.clear()
        self._radiograph = radiograph
        self.annotations.set_image(radiograph.pixels, radiograph.pixel_spacing_mm)
        self._lut = _display.WindowLut(radiograph.pixels)
        h, w = radiograph.pixels.shape
        self.view.set_image_rect(QtCore.QRectF(0, 0, w, h))
        self._user_invert = False
        self.actions["invert"].setChecked(False)
        if keep is False:
            self.view.reset_orientation()
        self.apply_preset("dicom")
        if keep:
            self.view.set_view_state(*keep)
        else:
            self.view.fit()

    def show_preview(self, preview) -> None:
        """A JPEG 2000 study's reduced level, a picture only until :meth:`set_radiograph` (preview.py)."""
        _preview.show(self, preview)

    def drop_preview(self) -> None:
        if self.preview_shape is not None:
            self.clear()

    def clear(self) -> None:
        self._render_timer.stop()
        for name in list(self._layers):
            self.set_layer(name, None)
        self.set_seen_mask(None)
        self.set_ground_truth(None)
        self.clear_measurements()
        self.markers.set_markers({})
        self.annotations.reset()
        self._radiograph = self._lut = self._display = self.preview_shape = None
        self.image_item.setPixmap(qt_image.to_pixmap(np.zeros((1, 1), np.uint8)))
        self.image_item.setTransform(QtGui.QTransform())  # a preview's scale-up goes
        self.view.tools_enabled = True
        self.image_item.setVisible(False)
        self.view.set_image_rect(QtCore.QRectF())
        self.readout.setText(" ")
        self._update_badges()

    @property
    def radiograph(self):
        return self._radiograph

    def displayed_image(self) -> np.ndarray | None:
        """The last rendered H×W uint8 greyscale (after window and inversion), for tests/export."""
        return self._display

    # ---- window / level --------------------------------------------------------------------
    def window(self) -> tuple[float, float]:
        return self._center, self._width

    def set_window(self, center: float, width: float) -> None:
        self._set_window(center, width)
        self._render_grey()

    def _set_window(self, center: float, width: float, voi_lut=None) -> None:
        self._center, self._width = float(center), max(float(width), 1.0)
        self._voi_lut = voi_lut
        self.window_changed.emit(self._center, self._width)

    def voi_lut_shown(self) -> bool:
        """Whether the file's VOI LUT is shown (the "From file" preset of a file that has one)."""
        return self._voi_lut is not None

    def _render_grey(self) -> None:
        self._render_timer.stop()
        if self._lut is None:
            return
        r = self._radiograph
        invert = r.display_inverted != self._user_invert
        # A study's first display was rendered on the inference lane (render.window.render_ahead).
        self._display = display_ahead(r.pixels, self._center, self._width, invert, r.voi_function, self._voi_lut)
        if self._display is None:
            self._display = self._lut.render(self._center, self._width, invert, r.voi_function, self._voi_lut)
        self.image_item.setPixmap(qt_image.to_pixmap(self._display))
        self.image_item.setVisible(True)
        self.view.loupe.refresh()
        self._update_badges()

    def apply_preset(self, name: str) -> None:
        if self._radiograph is None:
            return
        r = self._radiograph
        if name == "dicom":  # the file's VOI LUT or window, as a study opens
            c, w, lut = opening_window(r)
        else:
            c, w, lut = *_display.preset_window(name, r.pixels, inverted=r.inverted), None
        self._preset_combo.setCurrentIndex(_display.PRESETS.index(name))
        self._set_window(c, w, lut)
        self._render_grey()

    def _data_span(self) -> float:
        return max(self._lut.vmax - self._lut.vmin, 1.0) if self._lut else 1.0

    def step_window(self, level_steps: int, width_factor: float) -> None:
        """Keyboard W/L: level by 1 % of the data range per step, width by a factor."""
        if self._lut is None:
            return
        self.set_window(self._center + level_steps * 0.01 * self._data_span(), self._width * width_factor)

    def _on_window_drag(self, dx: int, dy: int, started: bool) -> None:
        if self._lut is None:
            return
        if started:
            self._drag_start = (self._center, self._width)
            return
        # ~1000 px of travel sweeps the whole data range, as in common PACS viewers.
        per_px = self._data_span() / 1000.0
        c0, w0 = self._drag_start
        self._set_window(c0 + dy * per_px, w0 + dx * per_px)
        if not self._render_timer.isActive():
            self._render_timer.start()

    def toggle_invert(self) -> None:
        self.set_invert(not self._user_invert)

    def set_invert(self, on: bool) -> None:
        self._user_invert = bool(on)
        self.actions["invert"].setChecked(self._user_invert)
        self._render_grey()

    def is_inverted(self) -> bool:
        """Whether the reader toggled inversion (MONOCHROME1 is inverted regardless)."""
        return self._user_invert

    # ---- view transform ------------------------------------------------------------------
    def fit(self) -> None:
        self.view.fit()

    def one_to_one(self) -> None:
        self.view.one_to_one()

    def zoom_factor(self) -> float:
        return self.view.zoom

    def rotate(self, degrees: int) -> None:
        self.view.rotate_by(degrees)

    def toggle_flip_h(self) -> None:
        self.view.set_flip(horizontal=not self.view.flip_h)

    def toggle_flip_v(self) -> None:
        self.view.set_flip(vertical=not self.view.flip_v)

    def reset_view(self) -> None:
        self.view.reset_orientation()
        if self._radiograph is not None:
            self._user_invert = False
            self.actions["invert"].setChecked(False)
            self.apply_preset("dicom")

    def orientation_text(self) -> str:
        r = self._radiograph
        return _display.orientation_text(r.laterality if r else None, self.view.flip_h, self.view.flip_v,
                                         self.view.rotation)[0]

    def _update_badges(self) -> None:
        has_image = self._radiograph is not None
        self.badges.set_visible(has_image)
        self.actions["flip_h"].setChecked(self.view.flip_h)
        self.actions["flip_v"].setChecked(self.view.flip_v)
        if not has_image:
            return
        # Zoomed out, smooth scaling avoids aliasing of noise and trabeculae; at ≥1:1 the reader
        # sees true pixels (nearest neighbour), as in diagnostic viewers.
        mode = QtCore.Qt.TransformationMode
        self.image_item.setTransformationMode(mode.SmoothTransformation if self.view.zoom < 1 else
                                              mode.FastTransformation)
        for corner, text in view_tools.corner_texts(self._radiograph).items():
            self.badges.set_corner(text, corner)
        text, mirrored = _display.orientation_text(self._radiograph.laterality, self.view.flip_h,
                                                   self.view.flip_v, self.view.rotation)
        tip = ("Display is mirrored: the patient's side is as labelled, the picture is flipped."
               if mirrored else "Patient side (from the file)")
        self.badges.set_orientation(text, mirrored, tip)
        inv = "   INVERTED" if self._user_invert else ""
        wl = "VOI LUT" if self._voi_lut is not None else f"W {self._width:.0f}  L {self._center:.0f}"
        self.badges.set_corner(f"{wl}   zoom {self.view.zoom * 100:.0f}%{inv}")

    # ---- corner text, copy and export of the view (view_tools) ------------------------------
    def toggle_overlays(self) -> None:
        self.set_overlays_shown(not self.badges.text_shown)

    def set_overlays_shown(self, on: bool) -> None:
        """The corner text (patient, study, window, image); the laterality badge always shows."""
        self.badges.set_text_shown(on)
        self.actions["overlays"].setChecked(bool(on))

    def copy_view(self, overlays: bool | None = None, annotations: bool = True):
        if self._radiograph is None:
            return None
        return view_tools.copy_view(self, overlays=overlays, annotations=annotations)

    def export_view(self, path, overlays: bool = True, annotations: bool = True):
        return view_tools.export_view(self, path, overlays=overlays, annotations=annotations)

    def export_view_dialog(self):
        return view_tools.export_view_dialog(self)

    # ---- tools -----------------------------------------------------------------------------
    def use_window_tool(self) -> None:
        self.view.set_tool(Tool.WINDOW)
        self.actions["window"].setChecked(True)

    def use_pan_tool(self) -> None:
        self.view.set_tool(Tool.PAN)
        self.actions["pan"].setChecked(True)

    def use_measure_tool(self) -> None:
        self.view.set_tool(Tool.MEASURE)
        self.actions["measure"].setChecked(True)

    def use_mark_tool(self) -> None:
        self.view.set_tool(Tool.MARK)
        self.actions["mark"].setChecked(True)

    def use_annotation_tool(self, kind: str) -> None:
        """Arrow, text, angle, rectangle or ellipse ROI (viewer/annotations.py)."""
        self.annotations.set_kind(kind)
        self.view.set_tool(Tool.ANNOTATE)
        self.actions["annotate"].setChecked(True)

    def delete_selected(self) -> None:
        """Delete key: the selected annotation, else the measurements."""
        if not self.annotations.delete_selected():
            self.clear_measurements()

    def toggle_magnifier(self) -> None:
        self.set_magnifier(not self.view.loupe.enabled_by_user)

    def set_magnifier(self, on: bool) -> None:
        self.view.loupe.set_enabled(on)
        self.actions["loupe"].setChecked(on)

    def toggle_layer_panel(self) -> None:
        self.controls.setVisible(not self.controls.isVisible())
        self.actions["layers"].setChecked(self.controls.isVisible())

    def _on_measure(self, point: QtCore.QPointF, phase: str) -> None:
        spacing = self._radiograph.pixel_spacing_mm if self._radiograph else None
        if phase == "start":
            self._active_measure = MeasurementItem(point, spacing)
            self.scene.addItem(self._active_measure)
            return
        if self._active_measure is None:
            return
        self._active_measure.update_end(point)
        if phase == "end":
            if self._active_measure.line().length() < 2:  # a click, not a measurement
                self.scene.removeItem(self._active_measure)
            else:
                self._measurements.append(self._active_measure)
            self._active_measure = None

    def measurements(self) -> list[str]:
        return [m.text() for m in self._measurements]

    def clear_measurements(self) -> None:
        for m in self._measurements:
            self.scene.removeItem(m)
        self._measurements.clear()

    # ---- pixel readout ---------------------------------------------------------------------
    def pixel_text(self, x: float, y: float) -> str:
        """Readout at image point (x, y): position, raw modality value and layer values."""
        if self._radiograph is None:
            return ""
        layers = {controls.TITLES[n]: (layer.values, layer.signed) for n, layer in self._layers.items()}
        return _display.readout_text(self._radiograph.pixels, x, y, layers)

    def _on_cursor(self, x: float, y: float) -> None:
        self._last_cursor = (x, y)
        text = self.pixel_text(x, y)
        self.readout.setText(text or " ")
        self.pixel_info.emit(text)

    # ---- layers ----------------------------------------------------------------------------
    def _check_shape(self, array: np.ndarray, what: str) -> None:
        if self._radiograph is None:
            raise RuntimeError(f"set a radiograph before its {what}")
        if array.shape != self._radiograph.pixels.shape:
            # A map of another size would not align pixel for pixel: refuse rather than mislead.
            raise ValueError(f"{what} shape {array.shape} does not match the image {self._radiograph.pixels.shape}")

    def set_layer(self, name: str, values: np.ndarray | None, signed: bool = False) -> None:
        self._check_name(name)
        old = self._layers.pop(name, None)
        if old is not None:
            self.scene.removeItem(old.item)
        if values is None:
            self.controls.boxes[name].set_available(False)
            return
        self._check_shape(values, f"{controls.TITLES[name]} map")
        state = self._layer_state[name]
        layer = OverlayLayer(name, values, signed, state["cmap"], z=10 + controls.LAYERS.index(name))
        layer.item.setOpacity(state["opacity"])
        layer.item.setVisible(state["visible"])
        self.scene.addItem(layer.item)
        self._layers[name] = layer
        self.controls.boxes[name].set_available(True, layer.vmin, layer.vmax)
        self._sync_controls(name)

    def layer_item(self, name: str) -> QtWidgets.QGraphicsPixmapItem | None:
        layer = self._layers.get(name)
        return layer.item if layer else None

    def set_layer_visible(self, name: str, visible: bool) -> None:
        self._check_name(name)
        self._layer_state[name]["visible"] = bool(visible)
        if name in self._layers:
            self._layers[name].item.setVisible(bool(visible))
        self._sync_controls(name)

    def set_layer_opacity(self, name: str, opacity: float) -> None:
        self._check_name(name)
        opacity = float(np.clip(opacity, 0.0, 1.0))
        self._layer_state[name]["opacity"] = opacity
        if name in self._layers:
            self._layers[name].item.setOpacity(opacity)
        self._sync_controls(name)

    def set_layer_colormap(self, name: str, cmap: str) -> None:
        self._check_name(name)
        if cmap not in controls.COLORMAPS[name]:
            raise ValueError(f"{name} colour map must be one of {controls.COLORMAPS[name]}, not {cmap!r}")
        self._layer_state[name]["cmap"] = cmap
        layer = self._layers.get(name)
        if layer is not None and layer.cmap != cmap:
            layer.cmap = cmap
            layer.render()
        self._sync_controls(name)

    def layer_state(self, name: str) -> dict:
        return dict(self._layer_state[name])

    def _check_name(self, name: str) -> None:
        if name not in controls.LAYERS:
            raise ValueError(f"unknown layer {name!r}; choose one of {', '.join(controls.LAYERS)}")

    def _sync_controls(self, name: str) -> None:
        s = self._layer_state[name]
        self.controls.sync(name, visible=s["visible"], opacity=s["opacity"], cmap=s["cmap"])

    def set_seen_mask(self, mask: np.ndarray | None) -> None:
        """Hatch the pixels the model never saw (``mask``: H×W bool of those it saw, a box)."""
        if mask is None:
            self.set_seen_box(None)
            return
        self._check_shape(mask, "seen mask")
        mask = np.asarray(mask, dtype=bool)
        cols, rows = np.flatnonzero(mask.any(axis=0)), np.flatnonzero(mask.any(axis=1))
        box = (0, 0, 0, 0) if cols.size == 0 else (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        if int(mask.sum()) != (box[2] - box[0]) * (box[3] - box[1]):
            raise ValueError("the seen mask is not a box (the preprocessing only crops and pads)")
        self.set_seen_box(box)

    def set_seen_box(self, box: tuple[int, int, int, int] | None) -> None:
        """Hatch the image outside ``box`` = (x0, y0, x1, y1), ends exclusive, the part the model
        saw (:meth:`~ra_desktop.values.geometry.Geometry.seen_box`); None removes the hatch."""
        if self._seen_item is not None:
            self.scene.removeItem(self._seen_item)
            self._seen_item = None
        if box is None or self._radiograph is None:
            self.controls.sync_check(self.controls.seen_check, enabled=False, checked=False)
            return
        self._seen_item = UnseenHatchItem(self._radiograph.pixels.shape[:2], box)
        self._seen_item.setZValue(20)
        self.scene.addItem(self._seen_item)
        self.controls.sync_check(self.controls.seen_check, enabled=True, checked=True)

    def set_ground_truth(self, gt: dict | None) -> None:
        if self._gt_item is not None:
            self.scene.removeItem(self._gt_item)
            self._gt_item = None
        if gt is None:
            self.controls.sync_check(self.controls.gt_check, enabled=False, checked=False)
            return
        if self._radiograph is None:
            raise RuntimeError("set a radiograph before its ground truth")
        self._gt_item = GroundTruthItem(gt, self._radiograph.pixels.shape)
        self.scene.addItem(self._gt_item)
        self.controls.sync_check(self.controls.gt_check, enabled=True, checked=True)

    def ground_truth_item(self) -> GroundTruthItem | None:
        return self._gt_item

    def seen_item(self) -> UnseenHatchItem | None:
        return self._seen_item
